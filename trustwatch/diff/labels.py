"""Where a line is: the statute section or PDF page in effect, as an editor would cite it.

The extractor writes ``[page N]`` before each PDF page; ILCS pages carry a citation line
``(5 ILCS 805/15)`` followed by ``Sec. 15. Title.``. Both citation and heading give
``Sec. 15`` so a hunk that starts at the citation line is already in the new section.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

PAGE_RE = re.compile(r"^\s*\[page (\d+)\]\s*$")
# "Sec. 15. Prohibition…", "Sec. 10-5.1. Title", "Sec. 25." (number ends at ". " or line end)
SECTION_RE = re.compile(r"^\s*Sec\.\s*(\d[0-9A-Za-z.\-]*?)\.(?:\s|$)")
# "(5 ILCS 805/15)" or "(5 ILCS 805/15) (from Ch. 38, par. 1005)" at the start of a line
CITATION_RE = re.compile(r"^\s*\(\d+\s+ILCS\s+\d+/([0-9A-Za-z.\-]+)\)")


def line_label(line: str) -> str | None:
    """The label a line starts, or ``None`` when it is an ordinary line."""
    head = line.lstrip()[:1]
    if head == "[":
        m = PAGE_RE.match(line)
        if m:
            return f"p. {m.group(1)}"
    elif head == "S":
        m = SECTION_RE.match(line)
        if m:
            return f"Sec. {m.group(1)}"
    elif head == "(":
        m = CITATION_RE.match(line)
        if m:
            return f"Sec. {m.group(1)}"
    return None


_LABEL_STARTS = ("[page", "Sec.", "(")


def running_labels(lines: Sequence[str]) -> list[str]:
    """For each line, the nearest label at or before it (``""`` before the first)."""
    index = LineLabels(lines)
    return [index.at(n) for n in range(len(lines))]


class LineLabels:
    """Labels by line index in a list of lines: one scan for label lines, then bisect."""

    def __init__(self, lines: Sequence[str], default: str = "") -> None:
        self.default = default
        self.lines: list[int] = []
        self.labels: list[str] = []
        candidates = [n for n, line in enumerate(lines) if line.lstrip().startswith(_LABEL_STARTS)]
        for n in candidates:
            label = line_label(lines[n])
            if label is not None:
                self.lines.append(n)
                self.labels.append(label)

    def at(self, index: int) -> str:
        """The nearest label at or before line ``index`` (its own line included)."""
        n = bisect_right(self.lines, index)
        return self.labels[n - 1] if n else self.default


class LabelIndex:
    """Labels by character offset in one text, for many look-ups (one pass, then bisect)."""

    def __init__(self, text: str, default: str = "") -> None:
        self.default = default
        self.starts: list[int] = []
        self.labels: list[str] = []
        pos = 0
        for line in text.split("\n"):
            label = line_label(line)
            if label is not None:
                self.starts.append(pos)
                self.labels.append(label)
            pos += len(line) + 1

    def at(self, pos: int) -> str:
        """The nearest label at or before ``pos`` (a heading's own line included)."""
        n = bisect_right(self.starts, pos)
        return self.labels[n - 1] if n else self.default


def label_at(text: str, pos: int, default: str = "") -> str:
    """The nearest label in ``text`` at or before character ``pos`` (its own line included)."""
    return LabelIndex(text, default).at(pos)
