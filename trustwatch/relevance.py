"""Which changes matter: term groups matched against inserted and deleted text.

The rules are data: ``TERM_GROUPS`` below (from SOURCES.md) plus ``[terms]`` from the
config. How a listed term becomes a pattern:

* whole words only (``ERO`` is not in ``zero``, ``ICE`` not in ``ICEBERG``);
* words between spaces or hyphens match across any whitespace, line breaks included,
  or a hyphen (``data-sharing`` = ``data sharing``);
* an all-capitals word (``ICE``, ``LEADS``, ``TRUST``, ``ILCS``, ``I-247``) must appear in
  capitals; other words match in any case. So ``TRUST Act`` matches ``TRUST Act`` and
  ``IL TRUST ACT CHANGES`` but not ``Trust Act``, ``Illinois Trust Code`` or ``trust fund``;
  ``ICE`` matches ``ICE`` but not ``ice cream`` or ``Ice storm``;
* the last word, when it is not in capitals, may take a plural ``s``/``es``
  (``tattoos``, ``electronic databases``, ``immigration detainers``);
* a form number like ``I-247`` also matches its lettered variants (``I-247A``);
* ``ALIASES`` lists other spellings matched as the listed term (``addenda``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trustwatch.diff import Diff, LabelIndex, Span

TERM_GROUPS: dict[str, tuple[str, ...]] = {
    "trust_act": (
        "TRUST Act",
        "5 ILCS 805",
        "Way Forward Act",
        "VOICES Act",
        "immigration detainer",
        "civil immigration warrant",
        "federal criminal warrant",
        "citizenship or immigration status",
        "direct access",
        "electronic database",
        "data-sharing",  # also "data sharing", across a line break too
    ),
    "immigration_agencies": (
        "ICE",
        "Immigration and Customs Enforcement",
        "ERO",
        "Enforcement and Removal Operations",
        "HSI",
        "Homeland Security Investigations",
        "CBP",
        "DHS",
        "Department of Homeland Security",
        "Immigration Violator File",
        "I-247",
        "I-200",
        "I-205",
    ),
    "leads": (
        "LEADS",
        "Law Enforcement Agencies Data System",
        "gang member file",
        "street gang",
        "distinctive emblems",
        "tattoo",
        "LEADS Agreement",
        "addendum",
        "secondary dissemination",
        "country of birth",
        "place of birth",
        "alien",
    ),
}

# other spellings matched as the listed term (irregular plurals, common variants)
ALIASES: dict[str, tuple[str, ...]] = {
    "addendum": ("addenda",),
}

EXCERPT_CHARS = 200
_HYPHENS = r"\-" + "\u2010\u2011\u2012\u2013"
_SEPARATOR = rf"(?:\s*[{_HYPHENS}]\s*|\s+)"
_FORM_RE = re.compile(r"^[A-Z]-\d+$")


def _is_caps(word: str) -> bool:
    """An acronym-like word: has capitals and no lower-case letters (ICE, TRUST, I-247)."""
    return any(c.isupper() for c in word) and not any(c.islower() for c in word)


def term_pattern(term: str) -> str:
    """The regular expression (no flags needed) for one listed term. The leading word
    boundary is checked by ``Relevance.find`` itself: a look-behind in front would stop
    ``re`` from jumping to the term's first literal and make the search ~10× slower."""
    if _FORM_RE.match(term):
        return rf"{re.escape(term)}[A-Z]?(?!\w)"
    words = [w for w in re.split(rf"[\s{_HYPHENS}]+", term.strip()) if w]
    if not words:
        raise ValueError("empty term")
    parts = []
    for n, word in enumerate(words):
        body = re.escape(word)
        caps = _is_caps(word) or word.isdigit()
        if n == len(words) - 1 and not caps and word[-1:].isalpha():
            body += "(?:e?s)?"
        parts.append(body if caps else f"(?i:{body})")
    return _SEPARATOR.join(parts) + r"(?!\w)"


@dataclass(frozen=True)
class _Term:
    group: str
    term: str
    needle: tuple[str, bool]  # a literal the text must hold, and whether case matters
    regex: re.Pattern[str]


def _needle(term: str) -> tuple[str, bool]:
    first = re.split(rf"[\s{_HYPHENS}]+", term.strip())[0]
    if _FORM_RE.match(term):
        return term, True
    if _is_caps(first) or first.isdigit():
        return first, True
    return first.lower(), False


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


@dataclass(frozen=True)
class Match:
    """One term found in a change (or a new document) and where."""

    group: str
    term: str  # the canonical term as listed
    side: str  # "inserted" | "deleted" | "text"
    label: str  # "p. 3", "Sec. 15" or ""
    excerpt: str  # plain text around the match, at most ~200 characters


def _excerpt(text: str, start: int, end: int, width: int = EXCERPT_CHARS) -> str:
    room = max(0, width - (end - start)) // 2
    lo = max(0, start - room)
    hi = min(len(text), end + room)
    # widen to whole words
    if lo > 0:
        space = text.rfind(" ", lo - 20, lo)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.find(" ", hi, hi + 20)
        hi = space if space != -1 else hi
    snippet = " ".join(text[lo:hi].split())
    return ("… " if lo > 0 else "") + snippet + (" …" if hi < len(text) else "")


class Relevance:
    """The compiled term groups. Built once per run; ``find`` is the one matcher."""

    def __init__(self, extra: Mapping[str, Sequence[str]] | None = None) -> None:
        groups: dict[str, list[str]] = {g: list(ts) for g, ts in TERM_GROUPS.items()}
        for group, terms in (extra or {}).items():
            if isinstance(terms, str):
                raise TypeError(f"terms for group {group!r} must be a list, not a string")
            bucket = groups.setdefault(group, [])
            for term in terms:
                if not isinstance(term, str) or not term.strip():
                    raise ValueError(f"empty or non-text term in group {group!r}")
                if term not in bucket:
                    bucket.append(term)
        self.groups: dict[str, tuple[str, ...]] = {g: tuple(ts) for g, ts in groups.items()}
        entries = [(g, t) for g, ts in self.groups.items() for t in ts]
        # one regex per term, tried only when its first word occurs at all: Python's re has
        # no multi-pattern search, and a 36-way alternation costs ~0.6 s per 2 MB text
        self._terms = [
            _Term(group, term, _needle(spelling), re.compile(term_pattern(spelling)))
            for group, term in entries
            for spelling in (term, *ALIASES.get(term, ()))
        ]

    def find(self, text: str) -> list[tuple[str, str, int, int]]:
        """(group, term, start, end) for every match, left to right, never overlapping;
        where matches overlap the longest wins ("LEADS Agreement" over "LEADS")."""
        lowered = text.lower()
        found: list[tuple[int, int, int]] = []
        for n, t in enumerate(self._terms):
            needle, sensitive = t.needle
            if needle not in (text if sensitive else lowered):
                continue
            for m in t.regex.finditer(text):
                start = m.start()
                if start and _is_word_char(text[start - 1]):
                    continue
                found.append((start, -m.end(), n))
        found.sort()
        out = []
        last_end = 0
        for start, neg_end, n in found:
            if start >= last_end:
                t = self._terms[n]
                out.append((t.group, t.term, start, -neg_end))
                last_end = -neg_end
        return out

    def for_text(self, text: str) -> list[Match]:
        """A new document's whole text: one match per term and label."""
        seen: set[tuple[str, str]] = set()
        out = []
        labels = LabelIndex(text)
        for group, term, start, end in self.find(text):
            label = labels.at(start)
            if (term, label) in seen:
                continue
            seen.add((term, label))
            out.append(Match(group, term, "text", label, _excerpt(text, start, end)))
        return out

    def for_diff(self, d: Diff) -> list[Match]:
        """Terms in words that were actually inserted or deleted.

        Each hunk's new text is searched and a match counts as ``inserted`` when it
        overlaps inserted words, so a phrase completed by the edit counts ("Enforcement
        and Removal Operations" when only "Removal" was added); likewise the old text
        against deleted words. When the same term is hit on both sides of a hunk, semantic
        cleanup may have folded an unchanged mention into both the deletion and the
        insertion, so only the side whose text holds more mentions of it counts (neither
        when equal). Moved paragraphs do not count.
        """
        seen: set[tuple[str, str, str]] = set()
        out: list[Match] = []
        for hunk in d.hunks:
            if hunk.moved:
                continue
            sides = {}
            for side, keep in (("inserted", "insert"), ("deleted", "delete")):
                text, ranges = _side_text(hunk.spans, keep)
                hits = [
                    (g, t, s, e)
                    for g, t, s, e in self.find(text)
                    if any(s < r_end and r_start < e for r_start, r_end in ranges)
                ]
                sides[side] = (text, hits)
            new_text, ins_hits = sides["inserted"]
            old_text, del_hits = sides["deleted"]
            # a term hit on both sides: only the side that gained mentions counts
            both = {t for _, t, _, _ in ins_hits} & {t for _, t, _, _ in del_hits}
            skip: dict[str, set[str]] = {"inserted": set(), "deleted": set()}
            for term in both:
                n_new = sum(1 for _, t, _, _ in self.find(new_text) if t == term)
                n_old = sum(1 for _, t, _, _ in self.find(old_text) if t == term)
                if n_new <= n_old:
                    skip["inserted"].add(term)
                if n_old <= n_new:
                    skip["deleted"].add(term)
            for side, (text, hits) in sides.items():
                labels = LabelIndex(text, hunk.label)
                for group, term, start, end in hits:
                    if term in skip[side]:
                        continue
                    label = labels.at(start)
                    if (side, term, label) in seen:
                        continue
                    seen.add((side, term, label))
                    out.append(Match(group, term, side, label, _excerpt(text, start, end)))
        return out


    def for_context(self, d: Diff) -> list[Match]:
        """Terms in the same sentence as an edit, when the edit itself names none.

        Rewording around a term is news ("may not give federal immigration agents direct
        access to any electronic database ... whether by written agreement or otherwise"):
        the terms stay, the duty around them changes. Side ``context``.
        """
        seen: set[tuple[str, str]] = set()
        out: list[Match] = []
        for hunk in d.hunks:
            if hunk.moved:
                continue
            for keep in ("insert", "delete"):
                text, ranges = _side_text(hunk.spans, keep)
                points = _edit_points(hunk.spans, keep)
                edited = [(a, b) for a, b in _sentences(text)
                          if any(a < r_end and r_start < b for r_start, r_end in ranges)
                          or any(a <= p <= b for p in points)]
                if not edited:
                    continue
                labels = LabelIndex(text, hunk.label)
                for group, term, start, end in self.find(text):
                    if not any(a <= start and end <= b for a, b in edited):
                        continue
                    label = labels.at(start)
                    if (term, label) in seen:
                        continue
                    seen.add((term, label))
                    out.append(Match(group, term, "context", label,
                                     _excerpt(text, start, end)))
        return out


_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+|\n")


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence (or line) of ``text``."""
    out = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def _edit_points(spans: Sequence[Span], keep: str) -> list[int]:
    """Positions in one side's text where the other side's words were cut out."""
    pos = 0
    points = []
    drop = "delete" if keep == "insert" else "insert"
    for span in spans:
        if span.op == drop:
            if span.text.strip():
                points.append(pos)
            continue
        pos += len(span.text)
    return points


def _side_text(spans: Sequence[Span], keep: str) -> tuple[str, list[tuple[int, int]]]:
    """The block text on one side and the character ranges that ``keep`` spans cover."""
    parts = []
    ranges = []
    pos = 0
    drop = "delete" if keep == "insert" else "insert"
    for span in spans:
        op, text = span.op, span.text
        if op == drop:
            continue
        if op == keep and text.strip():
            ranges.append((pos, pos + len(text)))
        parts.append(text)
        pos += len(text)
    return "".join(parts), ranges


_VERBS = {"inserted": "added", "deleted": "removed", "text": "mentions",
          "context": "edited near"}


def summarise(matches: Sequence[Match], limit: int = 8) -> str:
    """One line for alerts and listings: "added 'ERO' (p. 3); removed 'LEADS' (Sec. 15)"."""
    order: list[tuple[str, str]] = []
    labels: dict[tuple[str, str], list[str]] = {}
    for m in matches:
        key = (m.side, m.term)
        if key not in labels:
            order.append(key)
            labels[key] = []
        if m.label and m.label not in labels[key]:
            labels[key].append(m.label)
    parts = []
    for side, term in order[:limit]:
        where = labels[(side, term)]
        shown = ", ".join(where[:3]) + (", …" if len(where) > 3 else "")
        parts.append(f"{_VERBS.get(side, side)} '{term}'" + (f" ({shown})" if shown else ""))
    if len(order) > limit:
        parts.append(f"and {len(order) - limit} more")
    return "; ".join(parts)
