"""Pure diff functions: two-level (line, then word) diff with section/page labels.

``diff_texts(old, new)`` is the one entry point the pipeline, CLI and alerts call; the
result is stored as ``to_json(diff)`` and read back with ``from_json``.
"""

from .engine import diff_texts
from .labels import LabelIndex, LineLabels, label_at, line_label, running_labels
from .model import Diff, Hunk, Span, from_json, to_json
from .render import render_terminal, span_lines

__all__ = [
    "Diff",
    "Hunk",
    "LabelIndex",
    "LineLabels",
    "Span",
    "diff_texts",
    "from_json",
    "label_at",
    "line_label",
    "render_terminal",
    "span_lines",
    "running_labels",
    "to_json",
]
