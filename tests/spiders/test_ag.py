from __future__ import annotations

import scrapy

from tests.spiders.saved import CONFIG, fixture_bytes, response
from trustwatch.items import DocumentItem
from trustwatch.spiders.ag import AgSpider

BASE = "https://illinoisattorneygeneral.gov"
PAGE = "Safer-Communities/Resources-for-Law-Enforcement/Law-Enforcement-And-Immigration/"


def test_defaults_are_the_real_site() -> None:
    spider = AgSpider(source=CONFIG.source("ag"))
    urls = [r.url for r in spider.start_requests()]
    assert f"{BASE}/{PAGE}" in urls and f"{BASE}/news-room/" in urls


def test_immigration_page_links_page_attachments() -> None:
    spider = AgSpider(source=CONFIG.source("ag"))
    for version, expected in ((1, 4), (2, 5)):
        body = fixture_bytes("ag", version, PAGE + "index.html")
        out = list(spider.parse_listing(response(f"{BASE}/{PAGE}", body)))
        items = [o for o in out if isinstance(o, DocumentItem)]
        reqs = [o.url for o in out if isinstance(o, scrapy.Request)]
        assert len(items) == 1 and items[0].role == "listing"
        assert all("/Page-Attachments/" in u for u in reqs)
        assert len(reqs) == expected
    assert any("Compliance%20Report%202025.pdf" in u for u in reqs)


def test_news_room_is_a_document_even_without_follow_links() -> None:
    spider = AgSpider(source=CONFIG.source("ag"))
    body = fixture_bytes("ag", 1, "news-room/index.html")
    out = list(spider.parse_listing(response(f"{BASE}/news-room/", body)))
    assert any(isinstance(o, DocumentItem) and o.role == "listing" for o in out)
