"""Conditional requests: send the server's own validators from the last capture, and turn a
304 back into the stored bytes so listings can still be parsed for links."""

from __future__ import annotations

import logging

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes

from trustwatch.runtime import storage_for
from trustwatch.spiders.base import canonical
from trustwatch.storage import Storage
from trustwatch.storage.repository import Validators

logger = logging.getLogger(__name__)


class ConditionalRequestMiddleware:
    def __init__(self, storage: Storage, crawler: Crawler | None = None) -> None:
        self.storage = storage
        self.crawler = crawler
        self._known: dict[str, dict[str, Validators]] = {}  # slug -> url -> last capture

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        if not crawler.settings.getbool("TRUSTWATCH_CONDITIONAL", True):
            raise NotConfigured("conditional requests switched off")
        return cls(storage_for(crawler), crawler)

    def _validators(self, slug: str, url: str) -> Validators | None:
        if slug not in self._known:  # one query per crawl, not two per request
            self._known[slug] = self.storage.validator_map(slug)
        return self._known[slug].get(url)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        role = request.meta.get("role")
        if role not in ("listing", "document", "index") or "tw_validators" in request.meta:
            return None
        spider = spider or (self.crawler.spider if self.crawler else None)
        slug = getattr(spider, "slug", getattr(spider, "name", ""))
        found = self._validators(slug, canonical(request.url))
        request.meta["tw_validators"] = found
        if not found:
            return None
        # the server's own values, never our clock: a file replaced with an older date
        # still differs from what we send
        if found.etag:
            request.headers[b"If-None-Match"] = found.etag.encode("latin-1")
        if found.last_modified:
            request.headers[b"If-Modified-Since"] = found.last_modified.encode("latin-1")
        return None

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        found: Validators | None = request.meta.get("tw_validators")
        if response.status != 304 or not found:
            return response
        request.meta["not_modified"] = True
        headers = Headers(response.headers)
        if found.content_type:
            headers[b"Content-Type"] = found.content_type.encode("latin-1")
        body = b""
        # only pages whose links are parsed need their stored bytes back
        if request.meta.get("role") in ("listing", "index") or request.meta.get("needs_body"):
            try:
                body = self.storage.blob(found.raw_sha256)
            except KeyError:
                logger.warning("304 for %s but its stored bytes are missing; fetching again",
                               request.url)
                retry = request.replace(dont_filter=True)
                retry.headers.pop(b"If-None-Match", None)
                retry.headers.pop(b"If-Modified-Since", None)
                retry.meta["tw_validators"] = None
                retry.meta.pop("not_modified", None)
                return retry
        cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        return cls(url=response.url, status=200, headers=headers, body=body, request=request)
