"""Versioned, content-addressed storage (SQLAlchemy 2 + Alembic)."""

from trustwatch.storage.models import (
    Alert,
    Blob,
    Change,
    Check,
    Document,
    DocumentUrl,
    Run,
    Source,
    Version,
)
from trustwatch.storage.repository import Storage, StorageError, sha256, utcnow

__all__ = [
    "Alert", "Blob", "Change", "Check", "Document", "DocumentUrl", "Run", "Source", "Storage",
    "StorageError", "Version", "sha256", "utcnow",
]
