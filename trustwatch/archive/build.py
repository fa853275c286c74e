"""The static diff archive: index pages, one permanent page per change, one history page per
document, and the captured bytes, written incrementally under OUTDIR.

Everything scraped is data to the templates (Jinja2 autoescape) and every page carries a
Content-Security-Policy that allows no script at all. Captured bytes are written under
``raw/`` with an extension a browser will not render as a page (``.txt`` for HTML/XML), and
links are relative so the archive works from ``file://`` and from ``trustwatch serve``.

Incremental: ``.manifest.json`` keeps, per page, a fingerprint of what the page was built
from and the sha256 of what was written. A page is rendered only when its inputs changed
and written only when its bytes changed; raw files are written once (their name is their
hash).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from trustwatch.diff import Diff, from_json, span_lines
from trustwatch.relevance import term_pattern
from trustwatch.storage import Change, Document, DocumentUrl, Source, Storage, Version

FORMAT = 1  # bump when page layout logic changes, so every page is re-rendered
MANIFEST = ".manifest.json"
REVIEW_MARKS = ("reviewed", "newsworthy", "noise")
KINDS = ("new", "changed", "removed")
PREVIEW_LINES = 400  # a new or removed document: lines shown inline (the full text is linked)
STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"
CSP = "default-src 'none'; style-src 'self'; img-src 'self'"  # also literal in base.html.j2


@dataclass
class BuildReport:
    outdir: Path
    written: list[str] = field(default_factory=list)  # pages (re)written, relative paths
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    raw_written: int = 0

    def line(self) -> str:
        return (f"archive: {len(self.written)} pages written, {self.unchanged} unchanged, "
                f"{self.raw_written} captured files added -> {self.outdir / 'index.html'}")


# -- the diff as display data -------------------------------------------------------------

@dataclass(frozen=True)
class Piece:
    op: str  # equal | insert | delete
    segs: tuple[tuple[str, bool], ...]  # (text, is a matched term)


@dataclass(frozen=True)
class Line:
    cls: str  # ins | del | mod | eq
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class HunkView:
    label: str
    where: str
    moved: bool
    lines: tuple[Line, ...]


class Highlighter:
    """Marks the change's matched terms, with the same patterns relevance used."""

    def __init__(self, terms: Iterable[str]) -> None:
        pats = []
        for term in sorted(set(terms), key=len, reverse=True):
            try:
                pats.append(f"(?:{term_pattern(term)})")
            except ValueError:
                continue
        self.regex = re.compile(r"(?<!\w)(?:" + "|".join(pats) + ")") if pats else None

    def segments(self, text: str) -> tuple[tuple[str, bool], ...]:
        if self.regex is None or not text:
            return ((text, False),)
        out: list[tuple[str, bool]] = []
        pos = 0
        for m in self.regex.finditer(text):
            if m.end() == m.start():
                continue
            if m.start() > pos:
                out.append((text[pos:m.start()], False))
            out.append((m.group(0), True))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], False))
        return tuple(out) or ((text, False),)


def _line_class(pieces: Sequence[tuple[str, str]]) -> str:
    ops = {op for op, text in pieces if op == "equal" or text.strip()}
    if ops <= {"insert"}:
        return "ins"
    if ops <= {"delete"}:
        return "del"
    if ops <= {"equal"}:
        return "eq"
    return "mod"


def hunk_views(d: Diff, hl: Highlighter) -> list[HunkView]:
    out = []
    for h in d.hunks:
        if h.moved:
            where = f"moved from old line {h.moved_from_line} to new line {h.new_line}"
        else:
            where = f"old line {h.old_line}, new line {h.new_line}"
        lines = []
        for raw in span_lines(h.spans):
            pieces = tuple(Piece(op, hl.segments(text)) for op, text in raw)
            lines.append(Line("moved" if h.moved else _line_class(raw), pieces))
        out.append(HunkView(h.label, where, h.moved, tuple(lines)))
    return out


def text_lines(text: str, hl: Highlighter, limit: int = PREVIEW_LINES) -> tuple[list[Line], int]:
    """A whole document's text as display lines (for new and removed documents)."""
    all_lines = text.split("\n")
    shown = [Line("eq", (Piece("equal", hl.segments(t)),)) for t in all_lines[:limit]]
    return shown, max(0, len(all_lines) - limit)


# -- small helpers ------------------------------------------------------------------------

def raw_extension(content_type: str, kind: str, body_head: bytes = b"") -> str:
    """An extension browsers will not render as a page: PDFs stay PDFs, all else is text."""
    media = content_type.split(";", 1)[0].strip().lower()
    if kind == "pdf" or media == "application/pdf" or body_head.startswith(b"%PDF-"):
        return ".pdf"
    return ".txt"


def header_value(headers: dict[str, Any] | None, name: str) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            if isinstance(value, list):
                return ", ".join(str(v) for v in dict.fromkeys(value))
            return str(value)
    return ""


def slugify(value: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", value.lower()).strip("-") or "x"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fingerprint(*parts: Any) -> str:
    return _sha(json.dumps(parts, sort_keys=True, default=str).encode("utf-8"))


def _templates_hash() -> str:
    h = hashlib.sha256(str(FORMAT).encode())
    for folder in (TEMPLATES_DIR, STATIC_DIR):
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("trustwatch.archive", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


# -- loading ------------------------------------------------------------------------------

@dataclass
class Entry:
    """One change with what its listing row and its page need."""

    change: Change
    doc: Document
    source: Source
    version: Version | None
    prev: Version | None

    @property
    def title(self) -> str:
        """The title as captured in this change, so later retitles leave the page alone."""
        for v in (self.version, self.prev):
            if v is not None and v.title:
                return v.title
        return document_title(self.doc)

    @property
    def terms(self) -> list[str]:
        return list(dict.fromkeys(m.get("term", "") for m in self.change.matches or []))


@dataclass
class Loaded:
    entries: list[Entry]  # newest first
    docs: dict[int, Document]
    sources: dict[int, Source]
    versions: dict[int, list[Version]]  # per document, oldest first
    urls: dict[int, list[str]]  # every URL a document was seen at


def load(storage: Storage) -> Loaded:
    with storage.session() as s:
        sources = {src.id: src for src in s.scalars(select(Source))}
        docs = {d.id: d for d in s.scalars(select(Document))}
        versions: dict[int, list[Version]] = defaultdict(list)
        by_id: dict[int, Version] = {}
        for v in s.scalars(select(Version).order_by(Version.document_id, Version.seq)):
            versions[v.document_id].append(v)
            by_id[v.id] = v
        urls: dict[int, list[str]] = defaultdict(list)
        for du in s.scalars(select(DocumentUrl).order_by(DocumentUrl.id)):
            urls[du.document_id].append(du.url)
        entries = []
        for ch in s.scalars(select(Change).order_by(Change.detected_at.desc(),
                                                    Change.id.desc())):
            doc = docs[ch.document_id]
            entries.append(Entry(ch, doc, sources[doc.source_id],
                                 by_id.get(ch.version_id) if ch.version_id else None,
                                 by_id.get(ch.prev_version_id) if ch.prev_version_id else None))
    return Loaded(entries, docs, sources, dict(versions), dict(urls))


# -- the build ----------------------------------------------------------------------------

class Builder:
    def __init__(self, storage: Storage, outdir: Path, *, tz: str = "UTC",
                 archive_url: str = "") -> None:
        self.storage = storage
        self.outdir = Path(outdir)
        self.tz = ZoneInfo(tz)
        self.archive_url = archive_url
        self.env = _environment()
        self.env.filters["local"] = self.local_time
        self.env.filters["utc"] = utc_iso
        self.env.globals["TZ"] = tz
        self.report = BuildReport(self.outdir)
        self.tpl_hash = _templates_hash()
        self.old: dict[str, dict[str, str]] = {}
        self.new: dict[str, dict[str, str]] = {}

    def local_time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")

    # manifest-aware writing ------------------------------------------------------------
    def page(self, rel: str, inputs: Any, render: Any) -> None:
        """Render ``rel`` unless its inputs are unchanged; write it only if its bytes differ."""
        fp = _fingerprint(self.tpl_hash, inputs)
        old = self.old.get(rel)
        target = self.outdir / rel
        if old and old.get("inputs") == fp and target.is_file():
            self.new[rel] = old
            self.report.unchanged += 1
            return
        data = render().encode("utf-8")
        digest = _sha(data)
        if old and old.get("sha256") == digest and target.is_file() and \
                _sha(target.read_bytes()) == digest:
            self.report.unchanged += 1
        else:
            _write_atomic(target, data)
            self.report.written.append(rel)
        self.new[rel] = {"inputs": fp, "sha256": digest}

    def captured(self, rel: str, digest: str) -> None:
        """A captured-bytes file, named by its hash: written once."""
        target = self.outdir / rel
        if target.is_file() and target.stat().st_size > 0:
            return
        data = self.storage.blob(digest)
        _write_atomic(target, data)
        self.report.raw_written += 1

    def static(self) -> None:
        for p in sorted(STATIC_DIR.iterdir()):
            rel = f"static/{p.name}"
            data = p.read_bytes()
            self.page(rel, _sha(data), lambda data=data: data.decode("utf-8"))

    # the pages --------------------------------------------------------------------------
    def build(self) -> BuildReport:
        self.outdir.mkdir(parents=True, exist_ok=True)
        manifest_path = self.outdir / MANIFEST
        if manifest_path.is_file():
            try:
                saved = json.loads(manifest_path.read_text(encoding="utf-8"))
                if saved.get("format") == FORMAT:
                    self.old = dict(saved.get("pages", {}))
            except (ValueError, OSError):
                self.old = {}
        data = load(self.storage)
        self.static()
        for vs in data.versions.values():
            for v in vs:
                self.captured(raw_path(v), v.raw_sha256)
                self.captured(text_path(v), v.text_sha256)
        for e in data.entries:
            self.change_page(e)
        for doc in data.docs.values():
            self.document_page(doc, data)
        self.index_pages(data)
        for rel in sorted(set(self.old) - set(self.new)):  # pages nothing produces any more
            (self.outdir / rel).unlink(missing_ok=True)
            self.report.removed.append(rel)
        _write_atomic(manifest_path, json.dumps(
            {"format": FORMAT, "pages": self.new}, indent=0, sort_keys=True).encode("utf-8"))
        return self.report

    def change_page(self, e: Entry) -> None:
        ch = e.change
        inputs = ("change", _row(ch), e.doc.id, e.doc.url, e.title, e.source.slug,
                  _row(e.version) if e.version else None, _row(e.prev) if e.prev else None,
                  self.archive_url, str(self.tz))
        self.page(f"changes/{ch.id}.html", inputs, lambda: self.render_change(e))

    def render_change(self, e: Entry) -> str:
        ch = e.change
        hl = Highlighter(e.terms)
        hunks: list[HunkView] = []
        preview: list[Line] = []
        more = 0
        note = ""
        coarse = False
        labels: list[str] = []
        if ch.diff:
            d = from_json(ch.diff)
            hunks = hunk_views(d, hl)
            note, coarse = d.note, d.coarse
            labels = list(dict.fromkeys(h.label for h in d.hunks if h.label))
        elif ch.kind in ("new", "removed"):
            v = e.version if ch.kind == "new" else e.prev
            if v is not None:
                preview, more = text_lines(self.storage.blob(v.text_sha256).decode("utf-8"), hl)
        labels = labels or list(dict.fromkeys(m.get("label", "") for m in ch.matches
                                              if m.get("label")))
        permalink = (self.archive_url.rstrip("/") + f"/changes/{ch.id}.html"
                     if self.archive_url else "")
        return self.env.get_template("change.html.j2").render(
            root="../", e=e, ch=ch, hunks=hunks, preview=preview, more=more, note=note,
            coarse=coarse, labels=labels, permalink=permalink,
            sides=[("Before", e.prev), ("After", e.version)],
            raw_path=raw_path, text_path=text_path, header=header_value,
            title=e.title)

    def document_page(self, doc: Document, data: Loaded) -> None:
        versions = data.versions.get(doc.id, [])
        entries = sorted((e for e in data.entries if e.doc.id == doc.id),
                         key=lambda e: e.change.id)
        src = data.sources[doc.source_id]
        urls = data.urls.get(doc.id, [doc.url])
        title = document_title(doc, list(reversed(versions)))
        introduced = {e.change.version_id: e.change for e in entries if e.change.version_id}
        # last_seen, missing_runs and validators move on every crawl: left out on purpose
        inputs = ("document", doc.id, doc.url, doc.title, doc.role, doc.state,
                  doc.first_seen, doc.listing_url, src.slug, urls,
                  [_row(v) for v in versions], [_row(e.change) for e in entries], str(self.tz))
        self.page(f"documents/{doc.id}.html", inputs, lambda: self.env.get_template(
            "document.html.j2").render(
                root="../", doc=doc, source=src, title=title, urls=urls,
                versions=list(reversed(versions)), entries=list(reversed(entries)),
                introduced=introduced, raw_path=raw_path, text_path=text_path))

    def index_pages(self, data: Loaded) -> None:
        entries = data.entries
        real = [e for e in entries if not e.change.baseline]
        slugs = sorted({s.slug for s in data.sources.values()})
        sources = [(slug, f"source/{slugify(slug)}.html",
                    sum(1 for e in real if e.source.slug == slug)) for slug in slugs]
        kinds = [(k, f"kind/{k}.html", sum(1 for e in real if e.change.kind == k))
                 for k in KINDS]
        marks = [(m, f"review/{m}.html", sum(1 for e in entries if e.change.review == m))
                 for m in REVIEW_MARKS]
        nav = {"sources": sources, "kinds": kinds, "marks": marks,
               "relevant": sum(1 for e in real if e.change.relevant), "all": len(entries)}
        after = "Changes after the baseline crawl, relevant or not."
        pages: list[tuple[str, str, str, list[Entry]]] = [
            ("index.html", "Relevant changes",
             ("Changes that added or removed a watched term, reworded a sentence naming one, "
              "or touched a watched bill's status or a watched statute; newest first. The "
              "first crawl of each source is its baseline and is listed under All changes."),
             [e for e in real if e.change.relevant]),
            ("all.html", "All changes",
             ("Every detected change, including changes without matched terms and the "
              "first-crawl baseline."), entries),
        ]
        for slug, rel, _n in sources:
            pages.append((rel, f"Source: {slug}", after,
                          [e for e in real if e.source.slug == slug]))
        for kind, rel, _n in kinds:
            pages.append((rel, f"Kind: {kind}", after,
                          [e for e in real if e.change.kind == kind]))
        for mark, rel, _n in marks:
            pages.append((rel, f"Review: {mark}",
                          f"Changes an editor marked with `trustwatch mark ID {mark}`.",
                          [e for e in entries if e.change.review == mark]))
        for rel, heading, intro, rows in pages:
            root = "../" * rel.count("/")
            inputs = ("index", rel, heading, intro, nav, str(self.tz),
                      [(_row(e.change, diff=False), e.doc.title, e.doc.url, e.source.slug,
                        e.title) for e in rows])
            self.page(rel, inputs, lambda rel=rel, heading=heading, intro=intro, rows=rows,
                      root=root: self.env.get_template("index.html.j2").render(
                          root=root, current=rel, heading=heading, intro=intro, rows=rows,
                          nav=nav, title=heading))


def _row(obj: Any, *, diff: bool = True) -> dict[str, Any]:
    """A row's columns, as fingerprint input."""
    out = {}
    for col in obj.__table__.columns:
        if not diff and col.key == "diff":
            continue
        out[col.key] = getattr(obj, col.key)
    return out


DOC_ROLES = {"status_xml": "bill status (XML)", "status_html": "bill status", "text": "bill text",
             "section": "statute section"}


def document_title(doc: Document, versions: Sequence[Version] = ()) -> str:
    """The document's title, else a version's, else what its source says it is, else its URL."""
    if doc.title:
        return doc.title
    for v in versions:
        if v.title:
            return v.title
    meta = doc.meta or {}
    what = meta.get("bill") or meta.get("statute") or ""
    role = DOC_ROLES.get(str(meta.get("doc", "")), "")
    if what and role:
        return f"{what} {role}"
    return doc.url


def utc_iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_path(v: Version) -> str:
    return f"raw/{v.raw_sha256}{raw_extension(v.content_type, v.kind)}"


def text_path(v: Version) -> str:
    return f"text/{v.text_sha256}.txt"


def build_archive(storage: Storage, outdir: str | Path, *, tz: str = "UTC",
                  archive_url: str = "") -> BuildReport:
    """Write (or bring up to date) the static archive in ``outdir``."""
    return Builder(storage, Path(outdir), tz=tz, archive_url=archive_url).build()
