from __future__ import annotations

import logging

import pytest
import scrapy

from tests.spiders.saved import CONFIG, fixture_bytes, response
from trustwatch.items import DocumentItem
from trustwatch.spiders.isp import IspSpider

LEADS = "https://isp.illinois.gov/LawEnforcement/LEADS"


def parse(version: int, path: str = "LawEnforcement/LEADS") -> tuple[list[DocumentItem],
                                                                     list[scrapy.Request]]:
    spider = IspSpider(source=CONFIG.source("isp"))
    out = list(spider.parse_listing(response(LEADS, fixture_bytes("isp", version, path))))
    return ([o for o in out if isinstance(o, DocumentItem)],
            [o for o in out if isinstance(o, scrapy.Request)])


def test_defaults_are_the_real_site() -> None:
    spider = IspSpider(source=CONFIG.source("isp"))
    urls = [r.url for r in spider.start_requests()]
    assert urls[0] == LEADS and all(u.startswith("https://isp.illinois.gov/") for u in urls)
    assert spider.allowed_domains == ["isp.illinois.gov"]


def test_leads_page_is_a_document_and_a_listing_of_getfile_links() -> None:
    items, requests = parse(1)
    assert len(items) == 1 and items[0].role == "listing" and items[0].url == LEADS
    assert items[0].title.startswith("LEADS")
    assert len(requests) == 5
    assert all("/LawEnforcement/GetFile/" in r.url for r in requests)
    assert all(r.meta["role"] == "document" and r.meta["listing_url"] == LEADS
               for r in requests)
    assert items[0].links is not None and len(items[0].links) == 5


def test_new_agreement_link_appears_in_v2() -> None:
    _, v1 = parse(1)
    _, v2 = parse(2)
    new = {r.url.split("?")[0] for r in v2} - {r.url.split("?")[0] for r in v1}
    agreement = ("https://isp.illinois.gov/LawEnforcement/GetFile/"
                 "f2a6c8e4-7b19-4d3a-8e50-c1d9b4a7e623")
    assert new == {agreement}


def test_reordered_query_strings_are_the_same_document_urls() -> None:
    v2, _ = parse(2)
    v3, _ = parse(3)
    assert v2[0].links is not None and v3[0].links is not None
    same = set(v2[0].links) & set(v3[0].links)
    assert len(same) == 4  # all but the security policy, which moved to a new GUID


def test_listing_that_suddenly_yields_nothing_warns(caplog: pytest.LogCaptureFixture) -> None:
    spider = IspSpider(source=CONFIG.source("isp"))
    redesigned = (b"<html><body><main><h1>LEADS</h1><p>Documents are now in our new portal."
                  b"</p><a href='/portal'>Portal</a></main></body></html>")
    with caplog.at_level(logging.WARNING):
        out = list(spider.parse_listing(response(LEADS, redesigned)))
    assert len(out) == 1 and isinstance(out[0], DocumentItem) and out[0].links == ()
    assert "yielded no document links" in caplog.text


def test_press_release_listing_follows_press_release_files() -> None:
    spider = IspSpider(source=CONFIG.source("isp"))
    url = "https://isp.illinois.gov/Media/PressReleases"
    out = list(spider.parse_listing(response(url, fixture_bytes("isp", 2, "Media/PressReleases"))))
    reqs = [o.url for o in out if isinstance(o, scrapy.Request)]
    assert "https://isp.illinois.gov/Media/PressReleaseFile/2234" in reqs
    assert all("/Media/PressReleaseFile/" in u for u in reqs)


def test_offsite_links_are_not_followed() -> None:
    spider = IspSpider(source=CONFIG.source("isp"))
    body = (b"<html><body><a href='https://evil.example/LawEnforcement/GetFile/x'>x</a>"
            b"<a href='/LawEnforcement/GetFile/abc'>ok</a></body></html>")
    out = list(spider.parse_listing(response(LEADS, body)))
    assert [o.url for o in out if isinstance(o, scrapy.Request)] == [
        "https://isp.illinois.gov/LawEnforcement/GetFile/abc"]


def test_document_response_becomes_an_item_with_exact_bytes() -> None:
    spider = IspSpider(source=CONFIG.source("isp"))
    body = fixture_bytes("isp", 1, "LawEnforcement/GetFile/a3c1f0e2-5b7d-4e0a-9c61-2f8d4b7e9a10")
    url = "https://isp.illinois.gov/LawEnforcement/GetFile/a3c1f0e2-5b7d-4e0a-9c61-2f8d4b7e9a10"
    resp = response(url, body, meta={"role": "document", "listing_url": LEADS})
    (item,) = list(spider.parse_document(resp))
    assert isinstance(item, DocumentItem)
    assert item.body == body and item.role == "document" and item.listing_url == LEADS
