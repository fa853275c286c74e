"""One polite ad hoc fetch for `trustwatch check` (robots.txt, User-Agent, size cap).
Crawls use Scrapy; this is for a single URL an editor wants to look at now."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import certifi


class FetchError(Exception):
    """One plain line: why the URL could not be fetched."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


def _opener() -> urllib.request.OpenerDirector:
    import ssl

    # ftp.ilga.gov omits an intermediate certificate: verify against certifi's bundle, never off
    ctx = ssl.create_default_context(cafile=certifi.where())
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))


def _get(url: str, user_agent: str, timeout: float, max_bytes: int) -> Fetched:
    req = urllib.request.Request(url, headers={"User-Agent": user_agent})
    try:
        with _opener().open(req, timeout=timeout) as resp:
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FetchError(f"larger than {max_bytes} bytes")
            return Fetched(resp.geturl(), resp.status, resp.headers.get("Content-Type", ""), body)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise FetchError(f"cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise FetchError(f"timed out after {timeout:g}s") from None


def fetch_once(url: str, *, user_agent: str, timeout: float = 30, max_bytes: int = 10**8
               ) -> Fetched:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("not an http(s) URL")
    from protego import Protego

    robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    try:
        robots = _get(robots_url, user_agent, timeout, 1_000_000)
        rules = Protego.parse(robots.body.decode("utf-8", "replace"))
        if not rules.can_fetch(url, user_agent):
            raise FetchError("robots.txt forbids fetching this URL")
    except FetchError as exc:
        if "robots.txt forbids" in str(exc):
            raise
    return _get(url, user_agent, timeout, max_bytes)
