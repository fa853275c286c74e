"""What a spider hands to the pipeline: one fetched document (or a failed fetch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DocumentItem:
    """One response (or failure) for one document URL.

    ``url`` is the canonical URL the document is known by (query args sorted, fragment
    dropped); ``final_url`` is where redirects ended. ``role`` is ``"listing"`` for a start
    page (itself a document) and ``"document"`` for a followed link. ``body`` is the exact
    captured bytes (empty on 304 / failures). ``not_modified`` is true when the server
    answered 304 to our conditional request.
    """

    url: str
    source: str
    role: str
    fetched_at: datetime
    final_url: str = ""
    status: int = 0
    content_type: str = ""
    body: bytes = b""
    headers: dict[str, list[str]] = field(default_factory=dict)
    redirects: tuple[str, ...] = ()
    title: str = ""
    listing_url: str = ""
    not_modified: bool = False
    links: tuple[str, ...] | None = None  # listings: canonical URLs of the documents they link
    error: str = ""  # "timeout", "dns", "too_large", "connection", … when no usable response
    meta: dict[str, str] = field(default_factory=dict)  # source-specific facts (bill number…)
