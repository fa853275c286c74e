"""Storage: open a database (SQLite by default, PostgreSQL via URL), migrate it, and answer
the questions crawls, the CLI and the archive ask. Writes happen inside ``session()``."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from trustwatch.storage.models import (
    Alert,
    Blob,
    Change,
    Document,
    DocumentUrl,
    Run,
    Source,
    Version,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(UTC)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Validators:
    """What the last good capture of a URL said, for a conditional request."""

    etag: str
    last_modified: str
    raw_sha256: str
    content_type: str


class StorageError(Exception):
    """The database cannot be opened or migrated; str() is one plain line."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (archive, status) never block a crawl
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def head_revision() -> str:
    """The newest migration, read from the files (importing Alembic costs ~0.5 s a command)."""
    import re

    revs: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        rev = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
        down = re.search(r"^down_revision\s*=\s*(?:['\"]([^'\"]+)['\"]|None)", text, re.MULTILINE)
        if rev:
            revs[rev.group(1)] = down.group(1) if down else None
    heads = set(revs) - {d for d in revs.values() if d}
    if len(heads) != 1:
        raise StorageError(f"migrations have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def _current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there)."""
    if _current_revision(engine) == head_revision():
        return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Storage:
    """One database. Blobs (raw captures, extracted texts) live in it, compressed and
    content-addressed, so one transaction stores bytes and facts together."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True, **engine_kwargs: Any) -> Storage:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = make_engine(url, **engine_kwargs)
            if migrate_schema:
                migrate(engine)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(f"cannot open database {_redact(url)}: {first}") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._sessions.begin() as s:
            yield s

    # -- blobs ------------------------------------------------------------------------------
    @staticmethod
    def put_blob(s: Session, data: bytes) -> str:
        digest = sha256(data)
        if s.get(Blob, digest) is None:
            packed, method = _pack(data)
            s.add(Blob(sha256=digest, size=len(data), compression=method, data=packed,
                       created_at=utcnow()))
            s.flush()
        return digest

    def blob(self, digest: str) -> bytes:
        with self.session() as s:
            return self.read_blob(s, digest)

    @staticmethod
    def read_blob(s: Session, digest: str) -> bytes:
        b = s.get(Blob, digest)
        if b is None:
            raise KeyError(digest)
        data = zlib.decompress(b.data) if b.compression == "zlib" else bytes(b.data)
        if sha256(data) != digest:  # evidence must be what we captured
            raise StorageError(f"blob {digest} does not match its hash")
        return data

    def text(self, version: Version) -> str:
        return self.blob(version.text_sha256).decode("utf-8")

    # -- sources and runs -------------------------------------------------------------------
    @staticmethod
    def source_row(s: Session, slug: str, kind: str) -> Source:
        src = s.scalar(select(Source).where(Source.slug == slug))
        if src is None:
            src = Source(slug=slug, kind=kind, created_at=utcnow())
            s.add(src)
            s.flush()
        return src

    def is_baseline(self, slug: str) -> bool:
        """True until a source has one finished run that stored documents."""
        with self.session() as s:
            n = s.scalar(
                select(func.count(Run.id)).join(Source).where(
                    Source.slug == slug, Run.status.in_(("ok", "failed")),
                    Run.finished_at.is_not(None)))
            docs = s.scalar(select(func.count(Document.id)).join(Source).where(
                Source.slug == slug))
        return not n or not docs

    # -- documents --------------------------------------------------------------------------
    @staticmethod
    def find_document(s: Session, source_id: int, url: str) -> Document | None:
        # every URL a document had (ISP's old GUIDs) is in document_urls; its current URL
        # is on the row itself
        doc = s.scalar(select(Document).join(DocumentUrl, DocumentUrl.document_id == Document.id)
                       .where(DocumentUrl.source_id == source_id, DocumentUrl.url == url))
        if doc is None:
            doc = s.scalar(select(Document).where(Document.source_id == source_id,
                                                  Document.url == url))
        return doc

    def document_ids(self, slug: str) -> dict[str, int]:
        """Every known URL of a source (aliases included) -> its document id."""
        with self.session() as s:
            rows = s.execute(select(DocumentUrl.url, DocumentUrl.document_id)
                             .join(Source, DocumentUrl.source_id == Source.id)
                             .where(Source.slug == slug))
            return {url: doc_id for url, doc_id in rows}

    def validator_map(self, slug: str) -> dict[str, Validators]:
        """Every known URL of a source (aliases included) -> its document's validators."""
        with self.session() as s:
            rows = s.execute(
                select(DocumentUrl.url, Document.etag, Document.last_modified,
                       Document.last_raw_sha256, Document.last_content_type)
                .join(Document, DocumentUrl.document_id == Document.id)
                .join(Source, Document.source_id == Source.id)
                .where(Source.slug == slug, Document.state == "active",
                       Document.last_raw_sha256 != ""))
            return {url: Validators(etag, lm, sha, ctype)
                    for url, etag, lm, sha, ctype in rows}

    def documents(self, slug: str | None = None) -> list[Document]:
        with self.session() as s:
            q = select(Document).order_by(Document.id)
            if slug:
                q = q.join(Source).where(Source.slug == slug)
            return list(s.scalars(q))

    @staticmethod
    def latest_version(s: Session, document_id: int) -> Version | None:
        return s.scalar(select(Version).where(Version.document_id == document_id)
                        .order_by(Version.seq.desc()).limit(1))

    def versions(self, document_id: int) -> list[Version]:
        with self.session() as s:
            return list(s.scalars(select(Version).where(Version.document_id == document_id)
                                  .order_by(Version.seq)))

    # -- changes ----------------------------------------------------------------------------
    def changes(self, *, source: str | None = None, since: datetime | None = None,
                relevant_only: bool = True) -> list[tuple[Change, Document, Source]]:
        with self.session() as s:
            q = (select(Change, Document, Source).join(Document, Change.document_id == Document.id)
                 .join(Source, Document.source_id == Source.id).order_by(Change.id))
            if source:
                q = q.where(Source.slug == source)
            if since:
                q = q.where(Change.detected_at >= since)
            if relevant_only:
                q = q.where(Change.relevant.is_(True))
            return [tuple(row) for row in s.execute(q)]  # type: ignore[misc]

    def change(self, change_id: int) -> tuple[Change, Document, Source] | None:
        with self.session() as s:
            row = s.execute(select(Change, Document, Source)
                            .join(Document, Change.document_id == Document.id)
                            .join(Source, Document.source_id == Source.id)
                            .where(Change.id == change_id)).first()
            return tuple(row) if row else None  # type: ignore[return-value]

    def version(self, version_id: int) -> Version | None:
        with self.session() as s:
            return s.get(Version, version_id)

    def runs(self, slug: str | None = None, limit: int = 50) -> list[tuple[Run, Source]]:
        with self.session() as s:
            q = select(Run, Source).join(Source).order_by(Run.id.desc()).limit(limit)
            if slug:
                q = q.where(Source.slug == slug)
            return [tuple(r) for r in s.execute(q)]  # type: ignore[misc]

    def sources(self) -> list[Source]:
        with self.session() as s:
            return list(s.scalars(select(Source).order_by(Source.slug)))

    def alerts(self, status: str | None = None) -> list[Alert]:
        with self.session() as s:
            q = select(Alert).order_by(Alert.id)
            if status:
                q = q.where(Alert.status == status)
            return list(s.scalars(q))


def _pack(data: bytes) -> tuple[bytes, str]:
    """zlib when it pays; PDFs' streams are compressed already, so a large file whose first
    64 KiB barely shrink is stored as it is (no second copy of a 50 MB file in memory)."""
    if len(data) > 1 << 16:
        sample = data[: 1 << 16]
        if len(zlib.compress(sample, 1)) > 0.9 * len(sample):
            return data, "none"
    packed = zlib.compress(data, 6)
    return (packed, "zlib") if len(packed) < len(data) else (data, "none")


def _redact(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        if ":" in cred:
            cred = cred.split(":", 1)[0] + ":***"
        return f"{scheme}://{cred}@{host}"
    return url
