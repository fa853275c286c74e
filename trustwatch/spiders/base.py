"""Shared spider: listing pages are documents too; links matching `follow` are documents.

Spiders only parse: responses -> DocumentItem / Request. Storing, diffing and alerting live
in the pipeline; conditional request headers in ConditionalRequestMiddleware.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from trustwatch.config import Config, SourceConfig, load_config
from trustwatch.items import DocumentItem

logger = logging.getLogger(__name__)


def canonical(url: str) -> str:
    """The identity of a URL: query args sorted, fragment dropped (w3lib)."""
    return canonicalize_url(url, keep_fragments=False)


def headers_dict(response: Response) -> dict[str, list[str]]:
    return {
        k.decode("latin-1"): [v.decode("latin-1") for v in vs]
        for k, vs in response.headers.items()
    }


def failure_reason(failure: Failure) -> str:
    """One plain line for a download failure (Twisted's and Scrapy's exception names)."""
    from scrapy.exceptions import IgnoreRequest

    exc = failure.value
    name = type(exc).__name__
    text = str(exc).strip()
    if "Timeout" in name or "TimedOut" in name:
        return "timeout"
    if "DNS" in name or "Resolve" in name:
        return "dns lookup failed"
    if "ConnectionRefused" in name:
        return "connection refused"
    if "Cancelled" in name or "maxsize" in text.lower() or "max size" in text.lower():
        return "too large"
    if "certificate" in text.lower() or "SSL" in name or "TLS" in name:
        return f"TLS certificate not trusted ({text[:160]})"
    if failure.check(IgnoreRequest):
        return "forbidden by robots.txt" if "robots" in text.lower() else (text or "ignored")
    return f"{name}: {text}"[:300]


class SourceSpider(scrapy.Spider):
    """Start pages are listings; links matching the source's `follow` regexes are documents."""

    kind = "generic"

    def __init__(self, source: SourceConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if source is None:  # `scrapy crawl isp`: config from the usual places
            source = load_config().source(kwargs.get("slug", self.name))
        self.source = source
        self.slug = source.slug
        self.allowed_domains = [h for h in source.hosts if h]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SourceSpider:
        config: Config | None = crawler.settings.get("TRUSTWATCH_CONFIG_OBJ")
        if "source" not in kwargs and config is not None:
            kwargs["source"] = config.source(kwargs.pop("slug", cls.name))
        spider: SourceSpider = super().from_crawler(crawler, *args, **kwargs)
        return spider

    # -- requests ---------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.start_requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield self.listing_request(url)

    def listing_request(self, url: str, **meta: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_listing, errback=self.failed,
                              meta={"role": "listing", **meta}, dont_filter=True)

    def document_request(self, url: str, listing_url: str, callback: Any = None,
                         **meta: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback or self.parse_document, errback=self.failed,
                              meta={"role": "document", "listing_url": listing_url, **meta})

    # -- parsing ----------------------------------------------------------------------------
    def link_extractor(self) -> LinkExtractor:
        # hosts are filtered in document_links: allow_domains would compare host:port
        return LinkExtractor(allow=[p.pattern for p in self.source.follow], deny_extensions=[],
                             unique=True)

    def document_links(self, response: Response) -> list[str]:
        if not isinstance(response, TextResponse) or not self.source.follow:
            return []
        own = canonical(response.url)
        links = []
        for link in self.link_extractor().extract_links(response):
            parts = urlsplit(link.url)
            if (parts.scheme in ("http", "https") and parts.hostname in self.allowed_domains
                    and canonical(link.url) != own):
                links.append(link.url)
        return links

    def parse_listing(self, response: Response) -> Iterable[DocumentItem | scrapy.Request]:
        links = self.document_links(response)
        if response.status < 400 and not links and self.source.follow:
            logger.warning("%s: listing %s yielded no document links", self.slug, response.url)
        yield self.item(response, links=links)
        if response.status < 400:
            for url in links:
                yield self.document_request(url, listing_url=response.url)

    def parse_document(self, response: Response) -> Iterable[DocumentItem | scrapy.Request]:
        yield self.item(response)

    def item(self, response: Response, *, links: list[str] | None = None,
             **meta: str) -> DocumentItem:
        req_meta = response.meta
        not_modified = bool(req_meta.get("not_modified"))
        redirects = tuple(req_meta.get("redirect_urls", ()))
        requested = redirects[0] if redirects else response.url
        title = ""  # the extractor reads titles; this one is for pages it cannot read
        if (isinstance(response, HtmlResponse) and response.status < 400
                and not not_modified):
            title = (response.css("title::text").get() or "").strip()
        item_meta = {**req_meta.get("doc_meta", {}), **meta}
        return DocumentItem(
            url=canonical(requested),
            source=self.slug,
            role=req_meta.get("role", "document"),
            fetched_at=datetime.now(UTC),
            final_url=response.url,
            status=304 if not_modified else response.status,
            content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
            body=b"" if not_modified else response.body,
            headers=headers_dict(response),
            redirects=redirects,
            title=" ".join(title.split())[:500],
            listing_url=req_meta.get("listing_url", ""),
            not_modified=not_modified,
            links=None if links is None else tuple(dict.fromkeys(canonical(u) for u in links)),
            meta=item_meta,
        )

    def failed(self, failure: Failure) -> Iterable[DocumentItem]:
        request = failure.request  # type: ignore[attr-defined]
        reason = failure_reason(failure)
        logger.warning("%s: %s failed: %s", self.slug, request.url, reason)
        yield DocumentItem(
            url=canonical(request.url),
            source=self.slug,
            role=request.meta.get("role", "document"),
            fetched_at=datetime.now(UTC),
            final_url=request.url,
            listing_url=request.meta.get("listing_url", ""),
            error=reason,
            meta=dict(request.meta.get("doc_meta", {})),
        )
