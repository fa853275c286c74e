"""One writer per source: a crawl holds its source's lock until the process ends.

SQLite: an fcntl lock on a file next to the database (``trustwatch.db.isp.lock``).
PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection held open.
Both vanish with the process, so a killed crawl never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url


class SourceBusy(Exception):
    """Another process is crawling this source; str() is one plain line."""

    def __init__(self, slug: str, holder: str = "") -> None:
        self.slug = slug
        self.holder = holder
        by = f" ({holder})" if holder else ""
        super().__init__(f"{slug} is already being crawled by another process{by}; "
                         "not starting a second crawl")


def lock_path(database_url: str, slug: str) -> Path:
    """Where the file lock of a source lives: next to the SQLite file, else in the temp dir."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        return db.with_name(f"{db.name}.{slug}.lock")
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"trustwatch-{digest}.{slug}.lock"


class _FileLock:
    def __init__(self, path: Path, slug: str) -> None:
        self.path = path
        self.slug = slug
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            raise SourceBusy(self.slug, holder) from None
        os.ftruncate(fd, 0)
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        os.pwrite(fd, f"pid {os.getpid()}, since {since}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class _AdvisoryLock:
    def __init__(self, database_url: str, slug: str) -> None:
        self.url = database_url
        self.slug = slug
        self.conn: Any = None
        self.engine: Any = None
        self.key = 0

    def acquire(self) -> None:
        from sqlalchemy import text
        from sqlalchemy.pool import NullPool

        from trustwatch.storage.repository import make_engine

        self.engine = make_engine(self.url, poolclass=NullPool)
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        schema = conn.execute(text("select current_schema()")).scalar() or ""
        # advisory locks are per database; the schema keeps two watchlists in one DB apart
        digest = hashlib.sha256(f"trustwatch:{schema}:{self.slug}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        if not conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": self.key}).scalar():
            holder = conn.execute(text(
                "select pid from pg_locks where locktype = 'advisory' and granted and "
                "objsubid = 1 and classid::bigint = :hi and objid::bigint = :lo limit 1"),
                {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF}).scalar()
            conn.close()
            self.engine.dispose()
            raise SourceBusy(self.slug, f"PostgreSQL backend pid {holder}" if holder else "")
        self.conn = conn

    def release(self) -> None:
        from sqlalchemy import text

        if self.conn is not None:
            try:
                self.conn.execute(text("select pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                self.conn.close()
                self.engine.dispose()
                self.conn = None


def acquire(database_url: str, slug: str) -> _FileLock | _AdvisoryLock:
    """Take the source's lock now or raise SourceBusy; call .release() when done."""
    backend = make_url(database_url).get_backend_name()
    lock: _FileLock | _AdvisoryLock
    if backend == "postgresql":
        lock = _AdvisoryLock(database_url, slug)
    else:
        lock = _FileLock(lock_path(database_url, slug), slug)
    lock.acquire()
    return lock


@contextmanager
def source_lock(database_url: str, slug: str) -> Iterator[None]:
    """Hold the source's lock for the block; SourceBusy when another process has it."""
    lock = acquire(database_url, slug)
    try:
        yield
    finally:
        lock.release()
