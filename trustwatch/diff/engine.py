"""The two-level diff: align lines, then diff words inside each changed block.

1. Lines are compared with whitespace folded; blank lines are ignored. Alignment is a
   patience diff (lines unique in both texts anchor the match, longest increasing run,
   recurse between anchors) with diff-match-patch over line-codes for stretches that
   have no unique lines. Patience is near-linear on documents like manuals and statutes,
   where almost every paragraph is unique, which is what keeps 1.8 MB fast.
2. A deleted line identical to an inserted line in another block is a *move*: one moved
   hunk at its new place, not a delete plus an insert.
3. Each remaining changed block is diffed word by word: tokens (words, whitespace,
   punctuation) are mapped to single code points so diff-match-patch aligns whole words,
   then ``diff_cleanupSemantic`` merges the fragments into readable edits.

One wall-clock budget (``time_limit``) covers the whole document; blocks that find it
spent are shown as whole-line replacements and the diff says so (``coarse``, ``note``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import compress, pairwise

from diff_match_patch import diff_match_patch

from .labels import LineLabels
from .model import Diff, Hunk, Span

# words (with inner hyphens/apostrophes: "I-247", "data-sharing", "don't"), whitespace,
# single punctuation marks; every character falls in exactly one, so tokens re-join exactly
TOKEN_RE = re.compile(r"\w+(?:[-'’]\w+)*|\s+|[^\w\s]")
WORD_RE = re.compile(r"\w+(?:[-'’]\w+)*")

# a line must be at least this substantial to count as moved rather than deleted+inserted
MOVE_MIN_WORDS = 3
MOVE_MIN_CHARS = 20
# blocks beyond these are shown as whole-line replacements (dmp cost and readability)
MAX_BLOCK_TOKENS = 50_000
MAX_BLOCK_EDITS = 5_000
BLOCK_SHARE = 0.25
# per-line weight added to its length when choosing which crossing lines stay in place
_LINE_WEIGHT = 40

_EQUAL, _INSERT, _DELETE = 0, 1, -1

# private-use planes first: code points that no text holds and dmp scores as neither
# word nor space, so its semantic shifting cannot split a token
_CODE_RANGES = ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD), (0x100, 0xD7FF))


_FIRST_CHARS = [chr(0xE000 + n) for n in range(0xF8FF - 0xE000 + 1)]


def _nth_char(n: int) -> str:
    if n < len(_FIRST_CHARS):
        return _FIRST_CHARS[n]
    for lo, hi in _CODE_RANGES:
        size = hi - lo + 1
        if n < size:
            return chr(lo + n)
        n -= size
    raise OverflowError("too many distinct tokens to encode")


class _Codec:
    """Maps each distinct item (a line or a word) to one code point, like dmp's linesToChars."""

    __slots__ = ("codes",)

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def encode(self, items: Iterable[str]) -> str:
        codes = self.codes
        out = []
        for item in items:
            c = codes.get(item)
            if c is None:
                c = _nth_char(len(codes))
                codes[item] = c
            out.append(c)
        return "".join(out)


class _Budget:
    """The document's wall-clock budget and what had to be approximated to keep it."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.deadline = time.time() + limit  # dmp counts its deadline in time.time()
        self.approx_lines = False
        self.coarse_blocks = 0
        self.too_large = 0
        self.blocks = 0

    def left(self) -> float:
        return self.deadline - time.time()


_ODD_SPACE_RE = re.compile(r"[^\S ]")  # whitespace other than a plain space


def _fold(line: str) -> str:
    if "  " in line or _ODD_SPACE_RE.search(line):
        return " ".join(line.split())
    return line


def _prepare(text: str) -> tuple[list[str], list[int], int]:
    """Stripped non-blank lines, their 1-based line numbers, and the total line count.

    Lines are only stripped here; folding inner whitespace of every line would cost more
    than the whole alignment, so only lines in changed blocks are folded (see
    ``_refine_folded``).
    """
    raw = text.split("\n")
    stripped = [line.strip() for line in raw]
    lines = list(filter(None, stripped))
    numbers = list(compress(range(1, len(raw) + 1), stripped))
    return lines, numbers, (len(raw) if text else 0)


# ---------------------------------------------------------------- line alignment


def _unique_anchors(
    a: Sequence[str], alo: int, ahi: int, b: Sequence[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Patience: lines unique in both ranges, longest run in the same order."""
    a_range = a[alo:ahi]
    b_range = b[blo:bhi]
    count_a = Counter(a_range)
    count_b = Counter(b_range)
    where_a = {k: i for i, k in enumerate(a_range, alo)}  # unique lines: their only index
    seq = [
        (where_a[k], j)
        for j, k in enumerate(b_range, blo)
        if count_b[k] == 1 and count_a.get(k) == 1
    ]
    if not seq:
        return []
    if all(x[0] < y[0] for x, y in pairwise(seq)):
        return seq  # nothing crossed: the usual case, no search needed
    return _heaviest_increasing(seq, [len(a[i]) + _LINE_WEIGHT for i, _ in seq], alo, ahi - alo)


def _heaviest_increasing(
    seq: Sequence[tuple[int, int]], weights: Sequence[int], base: int, size: int
) -> list[tuple[int, int]]:
    """The increasing run (in i) of greatest total weight, with a prefix-max Fenwick tree.

    Weighting by line length keeps long paragraphs in place and reports the shorter side of
    a crossing as moved (plain patience would pick arbitrarily among equal-count runs).
    """
    tree: list[tuple[int, int]] = [(0, -1)] * (size + 1)
    best = [0] * len(seq)
    back = [-1] * len(seq)
    for n, (i, _j) in enumerate(seq):
        q = i - base
        top, top_at = 0, -1
        while q > 0:
            if tree[q][0] > top:
                top, top_at = tree[q]
            q -= q & -q
        total = top + weights[n]
        best[n] = total
        back[n] = top_at
        p = i - base + 1
        while p <= size:
            if tree[p][0] < total:
                tree[p] = (total, n)
            p += p & -p
    n = max(range(len(seq)), key=best.__getitem__)
    out = []
    while n >= 0:
        out.append(seq[n])
        n = back[n]
    out.reverse()
    return out


def _dmp_line_pairs(
    a: Sequence[str],
    alo: int,
    ahi: int,
    b: Sequence[str],
    blo: int,
    bhi: int,
    dmp: diff_match_patch,
    budget: _Budget,
) -> list[tuple[int, int]]:
    """Equal lines of a stretch without unique lines, by dmp over line codes."""
    if set(a[alo:ahi]).isdisjoint(b[blo:bhi]):
        return []  # nothing in common (a rewrite, or whitespace changed on every line)
    if budget.left() <= 0:
        budget.approx_lines = True
        return []
    codec = _Codec()
    try:
        ca = codec.encode(a[alo:ahi])
        cb = codec.encode(b[blo:bhi])
    except OverflowError:
        budget.approx_lines = True
        return []
    diffs = dmp.diff_main(ca, cb, False, budget.deadline)
    if budget.left() <= 0:
        budget.approx_lines = True  # dmp may have stopped early with a coarser answer
    pairs: list[tuple[int, int]] = []
    i, j = alo, blo
    for op, chunk in diffs:
        n = len(chunk)
        if op == _EQUAL:
            pairs.extend(zip(range(i, i + n), range(j, j + n), strict=True))
            i += n
            j += n
        elif op == _DELETE:
            i += n
        else:
            j += n
    return pairs


def _match_lines(
    a: Sequence[str], b: Sequence[str], dmp: diff_match_patch, budget: _Budget
) -> list[tuple[int, int]]:
    """All pairs (i, j) of equal lines, increasing in both."""
    pairs: list[tuple[int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        while alo < ahi and blo < bhi and a[alo] == b[blo]:
            pairs.append((alo, blo))
            alo += 1
            blo += 1
        while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
            ahi -= 1
            bhi -= 1
            pairs.append((ahi, bhi))
        if alo == ahi or blo == bhi:
            continue
        if ahi - alo == 1 and bhi - blo == 1:
            continue  # one line each, and they differ
        anchors = _unique_anchors(a, alo, ahi, b, blo, bhi)
        if not anchors:
            pairs.extend(_dmp_line_pairs(a, alo, ahi, b, blo, bhi, dmp, budget))
            continue
        i0, j0 = alo, blo
        for i, j in anchors:
            if i > i0 and j > j0:
                stack.append((i0, i, j0, j))
            pairs.append((i, j))
            i0, j0 = i + 1, j + 1
        if ahi > i0 and bhi > j0:
            stack.append((i0, ahi, j0, bhi))
    pairs.sort()
    return pairs


def _changed_blocks(
    pairs: Sequence[tuple[int, int]], na: int, nb: int
) -> list[tuple[int, int, int, int]]:
    blocks = []
    i0 = j0 = 0
    for i, j in [*pairs, (na, nb)]:
        if i > i0 or j > j0:
            blocks.append((i0, i, j0, j))
        i0, j0 = i + 1, j + 1
    return blocks


def _refine_folded(
    a: list[str],
    b: list[str],
    pairs: list[tuple[int, int]],
    dmp: diff_match_patch,
    budget: _Budget,
) -> list[tuple[int, int]]:
    """Fold whitespace in the lines of changed blocks (in place) and re-align each block
    on the folded lines, so lines differing only in whitespace pair up as equal."""
    extra: list[tuple[int, int]] = []
    for i1, i2, j1, j2 in _changed_blocks(pairs, len(a), len(b)):
        for i in range(i1, i2):
            a[i] = _fold(a[i])
        for j in range(j1, j2):
            b[j] = _fold(b[j])
        if i1 == i2 or j1 == j2 or not set(a[i1:i2]).intersection(b[j1:j2]):
            continue
        sub = _match_lines(a[i1:i2], b[j1:j2], dmp, budget)
        extra.extend((i + i1, j + j1) for i, j in sub)
    if not extra:
        return pairs
    return sorted([*pairs, *extra])


# ---------------------------------------------------------------- moves


def _movable(line: str) -> bool:
    return len(line) >= MOVE_MIN_CHARS or line.count(" ") + 1 >= MOVE_MIN_WORDS


def _find_moves(
    a: Sequence[str], b: Sequence[str], blocks: Sequence[tuple[int, int, int, int]]
) -> list[tuple[int, int]]:
    """Pairs (i, j): deleted line i reappears as inserted line j in another block."""
    inserted: dict[str, list[tuple[int, int]]] = {}
    for bi, (_i1, _i2, j1, j2) in enumerate(blocks):
        for j in range(j1, j2):
            if _movable(b[j]):
                inserted.setdefault(b[j], []).append((j, bi))
    if not inserted:
        return []
    moves = []
    for bi, (i1, i2, _j1, _j2) in enumerate(blocks):
        for i in range(i1, i2):
            candidates = inserted.get(a[i])
            if not candidates:
                continue
            for n, (j, bj) in enumerate(candidates):
                if bj != bi:  # same block: the word diff shows it in place
                    moves.append((i, j))
                    del candidates[n]
                    break
    moves.sort()
    return moves


def _runs(moves: Sequence[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Consecutive moved lines (adjacent in both texts) form one moved paragraph group."""
    runs: list[list[tuple[int, int]]] = []
    for i, j in moves:
        if runs and runs[-1][-1] == (i - 1, j - 1):
            runs[-1].append((i, j))
        else:
            runs.append([(i, j)])
    return runs


# ---------------------------------------------------------------- word level


def _edge_cut(old: str, new: str, dmp: diff_match_patch) -> tuple[int, int]:
    """Lengths of the common prefix and suffix, cut back to whitespace (token boundaries).

    A one-word edit in a long paragraph then tokenises and diffs a few words, not all.
    """
    p = dmp.diff_commonPrefix(old, new)
    if p == len(old) == len(new):
        return p, 0
    cut = max(old.rfind(" ", 0, p), old.rfind("\n", 0, p))
    prefix = max(0, cut)  # the prefix ends just before a whitespace char
    rest_old, rest_new = old[prefix:], new[prefix:]
    s = dmp.diff_commonSuffix(rest_old, rest_new)
    start = len(rest_old) - s
    space = min(
        (k for k in (rest_old.find(" ", start), rest_old.find("\n", start)) if k != -1),
        default=-1,
    )
    suffix = len(rest_old) - space if space >= 0 else 0  # the suffix starts at a whitespace char
    return prefix, suffix


class _Piece:
    """Part of a block between line breaks that both sides share: becomes one hunk."""

    __slots__ = ("changed", "new_off", "old_off", "spans")

    def __init__(self, old_off: int, new_off: int) -> None:
        self.spans: list[Span] = []
        self.old_off = old_off  # lines of the block's old text before this piece
        self.new_off = new_off
        self.changed = False


class _Pieces:
    """Collects spans, cutting a new piece at every line break aligned on both sides, so
    consecutive edited lines become separate hunks with their own line and label."""

    def __init__(self) -> None:
        self.old_nl = 0
        self.new_nl = 0
        self.pieces = [_Piece(0, 0)]

    def add(self, kind: str, text: str, old_nl: int = -1) -> None:
        if not text:
            return
        new_nl = text.count("\n") if kind != "delete" else 0
        if old_nl < 0:
            old_nl = text.count("\n") if kind != "insert" else 0
        self.old_nl += old_nl
        self.new_nl += new_nl
        piece = self.pieces[-1]
        if kind != "equal" and not text.isspace():
            piece.changed = True
        if piece.spans and piece.spans[-1].op == kind:
            piece.spans[-1] = Span(kind, piece.spans[-1].text + text)
        else:
            piece.spans.append(Span(kind, text))

    def cut(self, old_nl: int = 1, new_nl: int = 1) -> None:
        """An aligned line break (not kept in any span) ends the current piece."""
        self.old_nl += old_nl
        self.new_nl += new_nl
        self.pieces.append(_Piece(self.old_nl, self.new_nl))

    def add_same(self, text: str) -> None:
        """Text identical on both sides: every line break in it is aligned."""
        lines = text.split("\n")
        for n, line in enumerate(lines):
            if n:
                self.cut()
            self.add("equal", line)

    def add_equal_run(self, old_tokens: list[str], new_tokens: list[str]) -> None:
        text = "".join(new_tokens)
        if "\n" not in text:
            self.add("equal", text, "".join(old_tokens).count("\n"))
            return
        run_old: list[str] = []
        run_new: list[str] = []
        for t_old, t_new in zip(old_tokens, new_tokens, strict=True):
            if "\n" in t_new and "\n" in t_old:
                self.add("equal", "".join(run_new), "".join(run_old).count("\n"))
                run_old.clear()
                run_new.clear()
                self.cut(t_old.count("\n"), t_new.count("\n"))
            else:
                run_old.append(t_old)
                run_new.append(t_new)
        self.add("equal", "".join(run_new), "".join(run_old).count("\n"))


def _word_spans(
    old_text: str, new_text: str, dmp: diff_match_patch, budget: _Budget
) -> list[_Piece] | None:
    """Word-level pieces of one block (only those with a change), ``None`` when only
    whitespace differs, or ``[]`` when the block must be shown as a whole-line
    replacement (deadline, or too large)."""
    prefix, suffix = _edge_cut(old_text, new_text, dmp)
    head = new_text[:prefix]
    tail = new_text[len(new_text) - suffix :] if suffix else ""
    ta = TOKEN_RE.findall(old_text[prefix : len(old_text) - suffix])
    tb = TOKEN_RE.findall(new_text[prefix : len(new_text) - suffix])
    if len(ta) > MAX_BLOCK_TOKENS or len(tb) > MAX_BLOCK_TOKENS:
        budget.too_large += 1
        return []
    codec = _Codec()
    # all whitespace is one token, so re-wrapped lines compare equal
    ca = codec.encode([" " if t.isspace() else t for t in ta])
    cb = codec.encode([" " if t.isspace() else t for t in tb])
    if not ca or not cb:
        diffs = [(_INSERT, cb)] if cb else [(_DELETE, ca)]
    elif set(ca).isdisjoint(cb):  # nothing shared, e.g. one word replaced by another
        diffs = [(_DELETE, ca), (_INSERT, cb)]
    else:
        # one block may use a quarter of what is left, so a single huge rewrite cannot
        # starve every later block of its word diff
        left = budget.left()
        deadline = time.time() + max(left * BLOCK_SHARE, min(left, 0.05))
        diffs = dmp.diff_main(ca, cb, False, deadline)
        if time.time() >= deadline:
            budget.coarse_blocks += 1  # dmp stopped at the deadline with a rough answer
            return []
        if len(diffs) > MAX_BLOCK_EDITS:
            budget.too_large += 1  # word salad (a rewrite): whole lines read better
            return []
    if len(diffs) > 2:
        dmp.diff_cleanupSemantic(diffs)
    out = _Pieces()
    out.add_same(head)
    i = j = 0
    for op, chunk in diffs:
        n = len(chunk)
        if op == _EQUAL:
            out.add_equal_run(ta[i : i + n], tb[j : j + n])  # keeps the new whitespace
            i += n
            j += n
        elif op == _DELETE:
            out.add("delete", "".join(ta[i : i + n]))
            i += n
        else:
            out.add("insert", "".join(tb[j : j + n]))
            j += n
    out.add_same(tail)
    changed = [p for p in out.pieces if p.changed]
    return changed or None


def _joined(spans: Iterable[Span], op: str) -> str:
    return " ".join(" ".join(s.text.split()) for s in spans if s.op == op and not s.text.isspace())


def _word_count(text: str) -> int:
    return len(WORD_RE.findall(text))


# ---------------------------------------------------------------- entry point


def diff_texts(old: str, new: str, *, time_limit: float = 2.0) -> Diff:
    """Diff two normalised texts (one block per line). Pure: no I/O, same input same output
    unless ``time_limit`` (seconds, whole document) runs out, which ``coarse`` reports."""
    budget = _Budget(time_limit)
    dmp = diff_match_patch()
    dmp.Diff_Timeout = max(time_limit, 1e-3)  # > 0 also enables dmp's half-match speedup
    a, a_no, a_total = _prepare(old)
    b, b_no, b_total = _prepare(new)
    if a == b:
        return Diff(hunks=(), inserted_words=0, deleted_words=0)

    pairs = _match_lines(a, b, dmp, budget)
    pairs = _refine_folded(a, b, pairs, dmp, budget)
    blocks = _changed_blocks(pairs, len(a), len(b))
    moves = _find_moves(a, b, blocks)
    moved_old = {i for i, _ in moves}
    moved_new = {j for _, j in moves}
    b_labels = LineLabels(b)
    a_labels: list[LineLabels] = []  # only pure deletions need the old text's labels

    def old_label(i: int) -> str:
        if not a_labels:
            a_labels.append(LineLabels(a))
        return a_labels[0].at(i)

    def old_no(i: int) -> int:
        return a_no[i] if i < len(a) else a_total + 1

    def new_no(j: int) -> int:
        return b_no[j] if j < len(b) else b_total + 1

    hunks: list[Hunk] = []
    for run in _runs(moves):
        i, j = run[0]
        text = "\n".join(b[jj] for _, jj in run)
        hunks.append(
            Hunk(
                label=b_labels.at(j),
                spans=(Span("equal", text),),
                inserted="",
                deleted="",
                old_line=a_no[i],
                new_line=b_no[j],
                moved=True,
                moved_from_line=a_no[i],
            )
        )

    inserted_words = deleted_words = 0
    for i1, i2, j1, j2 in blocks:
        olds = [i for i in range(i1, i2) if i not in moved_old]
        news = [j for j in range(j1, j2) if j not in moved_new]
        if not olds and not news:
            continue
        old_text = "\n".join(a[i] for i in olds)
        new_text = "\n".join(b[j] for j in news)
        whole = _Piece(0, 0)
        whole.spans = [Span("delete", old_text), Span("insert", new_text)]
        pieces: list[_Piece] | None
        if not olds:
            whole.spans = [Span("insert", new_text)]
            pieces = [whole]
        elif not news:
            whole.spans = [Span("delete", old_text)]
            pieces = [whole]
        else:
            budget.blocks += 1
            if budget.left() <= 0:
                budget.coarse_blocks += 1
                pieces = [whole]
            else:
                pieces = _word_spans(old_text, new_text, dmp, budget)
                if pieces is None:
                    continue  # whitespace-only
                if not pieces:
                    pieces = [whole]
        for piece in pieces:
            spans = piece.spans
            ins = _joined(spans, "insert")
            dele = _joined(spans, "delete")
            inserted_words += _word_count(ins)
            deleted_words += _word_count(dele)
            o = olds[piece.old_off] if piece.old_off < len(olds) else i2
            n = news[piece.new_off] if piece.new_off < len(news) else j2
            shows_new = any(sp.op != "delete" and not sp.text.isspace() for sp in spans)
            hunks.append(
                Hunk(
                    label=b_labels.at(n) if shows_new else old_label(o),
                    spans=tuple(spans),
                    inserted=ins,
                    deleted=dele,
                    old_line=old_no(o),
                    new_line=new_no(n),
                )
            )

    hunks.sort(key=lambda h: (h.new_line, h.old_line, h.moved))
    coarse = budget.approx_lines or budget.coarse_blocks > 0 or budget.too_large > 0
    notes = []
    if budget.approx_lines or budget.coarse_blocks:
        parts = []
        if budget.approx_lines:
            parts.append("line alignment was approximated")
        if budget.coarse_blocks:
            parts.append(
                f"{budget.coarse_blocks} of {budget.blocks} edited blocks are shown as"
                " whole-line replacements instead of word by word"
            )
        notes.append(f"Time limit of {time_limit:g} s reached: " + "; ".join(parts) + ".")
    if budget.too_large:
        notes.append(
            f"{budget.too_large} edited block{'s are' if budget.too_large != 1 else ' is'} too"
            " large or too rewritten to diff word by word and shown as whole-line replacements."
        )
    note = " ".join(notes)
    return Diff(
        hunks=tuple(hunks),
        inserted_words=inserted_words,
        deleted_words=deleted_words,
        coarse=coarse,
        note=note,
    )
