"""Conditional requests: send the server's own validators from the last capture, and turn a
304 back into the stored bytes so listings can still be parsed for links."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes

from trustwatch.runtime import storage_for
from trustwatch.spiders.base import canonical
from trustwatch.storage import Storage

logger = logging.getLogger(__name__)


class ConditionalRequestMiddleware:
    def __init__(self, storage: Storage, crawler: Crawler | None = None) -> None:
        self.storage = storage
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        if not crawler.settings.getbool("TRUSTWATCH_CONDITIONAL", True):
            raise NotConfigured("conditional requests switched off")
        return cls(storage_for(crawler), crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        role = request.meta.get("role")
        if role not in ("listing", "document", "index") or "tw_validators" in request.meta:
            return
        spider = spider or (self.crawler.spider if self.crawler else None)
        slug = getattr(spider, "slug", getattr(spider, "name", ""))
        found = self.storage.validators(slug, canonical(request.url))
        request.meta["tw_validators"] = found
        if not found:
            return
        etag, last_modified, _sha, _ctype = found
        # the server's own values, never our clock: a file replaced with an older date
        # still differs from what we send
        if etag:
            request.headers[b"If-None-Match"] = etag.encode("latin-1")
        if last_modified:
            request.headers[b"If-Modified-Since"] = last_modified.encode("latin-1")
        return

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        found: Any = request.meta.get("tw_validators")
        if response.status != 304 or not found:
            return response
        _etag, _lm, digest, ctype = found
        try:
            body = self.storage.blob(digest)
        except KeyError:
            logger.warning("304 for %s but its stored bytes are missing; fetching again",
                           request.url)
            retry = request.replace(dont_filter=True)
            retry.headers.pop(b"If-None-Match", None)
            retry.headers.pop(b"If-Modified-Since", None)
            retry.meta["tw_validators"] = None
            return retry
        request.meta["not_modified"] = True
        headers = Headers(response.headers)
        if ctype:
            headers[b"Content-Type"] = ctype.encode("latin-1")
        cls = responsetypes.from_args(headers=headers, url=response.url, body=body)
        return cls(url=response.url, status=200, headers=headers, body=body, request=request)
