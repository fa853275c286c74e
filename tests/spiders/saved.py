"""Saved responses for spider tests: fixture files wrapped in Scrapy responses (no network,
no reactor), at the real sites' URLs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse

from trustwatch.config import parse_config
from trustwatch.fixtures.server import FIXTURES_DIR, SiteConfig, SiteTree, render_listing

CONFIG = parse_config({})  # the built-in watchlist: the real sites


def fixture_bytes(site: str, version: int, relpath: str) -> bytes:
    tree = SiteTree(FIXTURES_DIR, SiteConfig.load(FIXTURES_DIR, site))
    entry = tree.lookup(version, relpath)
    assert entry is not None, f"{site} v{version} has no {relpath}"
    return entry.source.read_bytes().replace(b"{{token}}", b"TOKEN")


def response(url: str, body: bytes, *, meta: dict[str, object] | None = None,
             status: int = 200, kind: type[TextResponse] = HtmlResponse) -> Response:
    request = Request(url, meta=meta or {"role": "listing"})
    return kind(url=url, body=body, status=status, request=request, encoding="utf-8",
                headers={"Content-Type": "text/html; charset=utf-8"})


def ilga_listing(version: int, folder: str) -> Response:
    tree = SiteTree(FIXTURES_DIR, SiteConfig.load(FIXTURES_DIR, "ilga"))
    body = render_listing(tree, version, folder, "ftp.ilga.gov")
    url = "https://ftp.ilga.gov" + quote("/" + folder.strip("/") + "/")
    return response(url, body, meta={"role": "index", "index": {}})


def xml_response(url: str, body: bytes, meta: dict[str, object]) -> Response:
    return response(url, body, meta=meta, kind=XmlResponse)


FIXTURES: Path = FIXTURES_DIR
