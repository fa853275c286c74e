"""The newsroom's records: sources, runs, documents, versions, checks, changes, alerts.

Versions, checks, changes and blobs are append-only facts. Document rows carry a little
derived state (current URL, last validators, missing-run count) so a crawl can ask cheap
questions; it can always be rebuilt from the facts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend; always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Run(Base):
    """One crawl of one source."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")  # running ok failed interrupted
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    problems: Mapped[list[Any]] = mapped_column(default=list)  # one plain line each


class Blob(Base):
    """Captured bytes (and extracted texts), content-addressed by sha256, zlib-compressed."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    compression: Mapped[str] = mapped_column(String(8))  # "zlib" | "none"
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source_id", "url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    url: Mapped[str] = mapped_column(String(2048))  # canonical URL it is known by now
    role: Mapped[str] = mapped_column(String(16))  # listing | document
    title: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(128), default="")
    listing_url: Mapped[str] = mapped_column(String(2048), default="")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | removed
    missing_runs: Mapped[int] = mapped_column(Integer, default=0)
    # validators and bytes of the last good capture, for conditional requests
    etag: Mapped[str] = mapped_column(String(512), default="")
    last_modified: Mapped[str] = mapped_column(String(64), default="")
    last_raw_sha256: Mapped[str] = mapped_column(String(64), default="")
    last_content_type: Mapped[str] = mapped_column(String(128), default="")


class DocumentUrl(Base):
    """Every URL a document has been seen at (ISP re-issues files under new GUIDs)."""

    __tablename__ = "document_urls"
    __table_args__ = (UniqueConstraint("source_id", "url"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    url: Mapped[str] = mapped_column(String(2048))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    first_seen: Mapped[datetime]


class Version(Base):
    """A capture whose normalised text differs from the document's previous version."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("document_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    fetched_at: Mapped[datetime]
    url: Mapped[str] = mapped_column(String(2048))
    final_url: Mapped[str] = mapped_column(String(2048))
    redirects: Mapped[list[Any]] = mapped_column(default=list)
    http_status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content_type: Mapped[str] = mapped_column(String(128))
    raw_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    text_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    title: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="")  # html pdf xml listing text
    pages: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    no_text_layer: Mapped[bool] = mapped_column(Boolean, default=False)


class Check(Base):
    """A fetch that produced no new version: not modified, same text, failed, gone."""

    __tablename__ = "checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    checked_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))  # not_modified unchanged failed gone missing
    http_status: Mapped[int] = mapped_column(Integer, default=0)
    raw_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), nullable=True)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    final_url: Mapped[str] = mapped_column(String(2048), default="")
    error: Mapped[str] = mapped_column(Text, default="")


class Change(Base):
    __tablename__ = "changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    detected_at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # new | changed | removed
    version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    prev_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id"))
    relevant: Mapped[bool] = mapped_column(Boolean, default=False)
    baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    matches: Mapped[list[Any]] = mapped_column(default=list)
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    inserted_words: Mapped[int] = mapped_column(Integer, default=0)
    deleted_words: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[str] = mapped_column(Text, default="")
    review: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reviewed_at: Mapped[datetime | None]


class Alert(Base):
    """Outbox row: written in the same transaction as its Change; delivered later."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id"), unique=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    kind: Mapped[str] = mapped_column(String(16))  # change | baseline | health | recovered
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending sent failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(128), default="")
    slack_ts: Mapped[str] = mapped_column(String(32), default="")
    thread_ts: Mapped[str] = mapped_column(String(32), default="")
    # alerts with one key share one Slack thread: a document, or all documents of one bill
    thread_key: Mapped[str] = mapped_column(String(160), default="", index=True)
    sent_at: Mapped[datetime | None]
    # delivery bookkeeping (migration 0002): a worker's lease, the key Slack's copy carries
    # in its metadata, and the moment a post began (so a crash is checked, not re-posted)
    claimed_by: Mapped[str] = mapped_column(String(64), default="", server_default="")
    claimed_until: Mapped[datetime | None]
    delivery_key: Mapped[str] = mapped_column(String(64), default="", server_default="")
    post_started_at: Mapped[datetime | None]
    channel_id: Mapped[str] = mapped_column(String(32), default="", server_default="")


Index("ix_alerts_status", Alert.status, Alert.id)


def thread_key(doc: Document | None) -> str:
    """Which Slack thread a document's alerts share: all documents of one bill (status XML
    and HTML, text versions) tell one story; any other document is its own thread."""
    if doc is None:
        return ""
    bill = (doc.meta or {}).get("bill")
    return f"bill:{doc.source_id}:{bill}" if bill else f"document:{doc.id}"
Index("ix_alerts_document_status", Alert.document_id, Alert.status, Alert.id)


class Problem(Base):
    """A health problem of a source (site down, changed shape, lost text, gone quiet):
    opened once with a "health" alert, closed once with a "recovered" alert."""

    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    key: Mapped[str] = mapped_column(String(2100))  # kind + what it is about, e.g. listing URL
    kind: Mapped[str] = mapped_column(String(32))  # fetch_failures listing_empty text_drop stale
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    detail: Mapped[str] = mapped_column(Text, default="")  # one plain line for people
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what clearing compares to
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    recovered_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))


Index("ix_problems_open", Problem.source_id, Problem.closed_at)
