"""The diff's data: spans, hunks and the whole diff, plus their JSON form (stored per Change)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPS = ("equal", "insert", "delete")
JSON_VERSION = 1


@dataclass(frozen=True)
class Span:
    """A run of text that is unchanged (``equal``), new (``insert``) or gone (``delete``)."""

    op: str
    text: str


@dataclass(frozen=True)
class Hunk:
    """One changed block of lines, diffed word by word.

    ``spans`` hold the whole changed lines: ``equal`` + ``insert`` spans give the new block
    text, ``equal`` + ``delete`` spans the old one. ``old_line``/``new_line`` are 1-based
    line numbers of the block's first line; for a pure insertion ``old_line`` is the old
    line it was inserted before (and likewise ``new_line`` for a pure deletion).
    """

    label: str
    spans: tuple[Span, ...]
    inserted: str
    deleted: str
    old_line: int
    new_line: int
    moved: bool = False
    moved_from_line: int = 0

    @property
    def new_text(self) -> str:
        return "".join(s.text for s in self.spans if s.op != "delete")

    @property
    def old_text(self) -> str:
        return "".join(s.text for s in self.spans if s.op != "insert")


@dataclass(frozen=True)
class Diff:
    """All hunks of one document change and the counts alerts and tests use."""

    hunks: tuple[Hunk, ...]
    inserted_words: int
    deleted_words: int
    coarse: bool = False
    note: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.hunks)


def to_json(d: Diff) -> dict[str, Any]:
    """A plain JSON-able dict; spans are ``[op, text]`` pairs to keep stored diffs small."""
    return {
        "version": JSON_VERSION,
        "inserted_words": d.inserted_words,
        "deleted_words": d.deleted_words,
        "coarse": d.coarse,
        "note": d.note,
        "hunks": [
            {
                "label": h.label,
                "old_line": h.old_line,
                "new_line": h.new_line,
                "moved": h.moved,
                "moved_from_line": h.moved_from_line,
                "inserted": h.inserted,
                "deleted": h.deleted,
                "spans": [[s.op, s.text] for s in h.spans],
            }
            for h in d.hunks
        ],
    }


def from_json(obj: dict[str, Any]) -> Diff:
    """Inverse of :func:`to_json`; raises ``ValueError`` on a malformed object."""
    try:
        version = obj.get("version", JSON_VERSION)
        if version != JSON_VERSION:
            raise ValueError(f"unsupported diff JSON version {version!r}")
        hunks = []
        for h in obj["hunks"]:
            spans = []
            for op, text in h["spans"]:
                if op not in OPS or not isinstance(text, str):
                    raise ValueError(f"bad span {op!r}")
                spans.append(Span(op, text))
            hunks.append(
                Hunk(
                    label=str(h["label"]),
                    spans=tuple(spans),
                    inserted=str(h["inserted"]),
                    deleted=str(h["deleted"]),
                    old_line=int(h["old_line"]),
                    new_line=int(h["new_line"]),
                    moved=bool(h.get("moved", False)),
                    moved_from_line=int(h.get("moved_from_line", 0)),
                )
            )
        return Diff(
            hunks=tuple(hunks),
            inserted_words=int(obj["inserted_words"]),
            deleted_words=int(obj["deleted_words"]),
            coarse=bool(obj.get("coarse", False)),
            note=str(obj.get("note", "")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed diff JSON: {exc!r}") from exc
