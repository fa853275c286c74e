"""A diff as terminal text: coloured on a terminal, plain ``[-old-]{+new+}`` markers when piped."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .model import Diff, Hunk, Span

GREEN = "\x1b[32m"
RED = "\x1b[31m"
RED_STRUCK = "\x1b[31;9m"  # red + strikethrough (terminals without it still show red)
CYAN = "\x1b[36m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"

# scraped text must not drive the terminal: C0/C1 controls (ESC…) and bidi overrides
_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _safe(text: str) -> str:
    return _UNSAFE_RE.sub("\ufffd", text)


def _trim(text: str, context: int, *, keep_head: bool, keep_tail: bool) -> str:
    """Shorten unchanged text to ``context`` words at the side(s) next to a change."""
    words = text.split(" ")
    if context <= 0 or len(words) <= 2 * context + 1:
        return text
    if keep_head and keep_tail:
        return " ".join(words[:context]) + " … " + " ".join(words[-context:])
    if keep_head:
        return " ".join(words[:context]) + " …"
    if keep_tail:
        return "… " + " ".join(words[-context:])
    return text


def span_lines(spans: Sequence[Span]) -> list[list[tuple[str, str]]]:
    """Spans cut into display lines of (op, text) pieces."""
    lines: list[list[tuple[str, str]]] = [[]]
    for span in spans:
        for n, part in enumerate(span.text.split("\n")):
            if n:
                lines.append([])
            if part:
                lines[-1].append((span.op, part))
    return [line for line in lines if line]


def _render_line(pieces: list[tuple[str, str]], color: bool, context: int) -> str:
    ops = {op for op, text in pieces if op == "equal" or text.strip()}
    if ops <= {"insert"}:
        prefix, bare = "+ ", "insert"
    elif ops <= {"delete"}:
        prefix, bare = "- ", "delete"
    elif ops <= {"equal"}:
        prefix, bare = "  ", "equal"
    else:
        prefix, bare = "~ ", ""
    out = []
    last = len(pieces) - 1
    for n, (op, text) in enumerate(pieces):
        text = _safe(text)
        if op == "equal":
            text = _trim(text, context, keep_head=n > 0, keep_tail=n < last)
            out.append(text)
        elif color:
            out.append((GREEN if op == "insert" else RED_STRUCK) + text + RESET)
        elif op == bare:
            out.append(text)  # a line that is all insertion/deletion: the +/- prefix says it
        else:
            out.append(("{+" + text + "+}") if op == "insert" else ("[-" + text + "-]"))
    if color and prefix in ("+ ", "- "):
        prefix = (GREEN if prefix == "+ " else RED) + prefix[0] + RESET + " "
    return prefix + "".join(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _header(h: Hunk, color: bool) -> str:
    where = f"{_safe(h.label)} · " if h.label else ""
    if h.moved:
        text = f"@@ {where}moved from old line {h.moved_from_line} to new line {h.new_line} @@"
    else:
        text = f"@@ {where}old line {h.old_line}, new line {h.new_line} @@"
    return f"{CYAN}{text}{RESET}" if color else text


def render_terminal(d: Diff, *, color: bool, context: int = 25) -> str:
    """The whole diff for a terminal; ``context`` caps unchanged words shown beside an edit."""
    out = []
    n = len(d.hunks)
    summary = (
        f"{_plural(n, 'change')}: "
        f"+{_plural(d.inserted_words, 'word')}, -{_plural(d.deleted_words, 'word')}"
    )
    out.append(f"{BOLD}{summary}{RESET}" if color else summary)
    if d.note:
        out.append(f"Note: {d.note}")
    if not d.hunks:
        out.append("No changes (whitespace differences are ignored).")
    for h in d.hunks:
        out.append("")
        out.append(_header(h, color))
        if h.moved:
            for line in span_lines(h.spans):
                text = _safe("".join(t for _, t in line))
                out.append((f"{DIM}> {text}{RESET}") if color else f"> {text}")
            continue
        if not any(sp.op == "equal" and sp.text.strip() for sp in h.spans):
            # nothing shared (a whole-line replacement): all old lines, then all new lines
            old = tuple(sp for sp in h.spans if sp.op == "delete")
            new = tuple(sp for sp in h.spans if sp.op == "insert")
            for line in span_lines(old) + span_lines(new):
                out.append(_render_line(line, color, context))
            continue
        for line in span_lines(h.spans):
            out.append(_render_line(line, color, context))
    return "\n".join(out) + "\n"
