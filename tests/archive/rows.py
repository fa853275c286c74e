"""Changes written straight through the real StoragePipeline (no network, no reactor): a
quick, deterministic database for archive, export and CLI tests, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from trustwatch.config import parse_config
from trustwatch.items import DocumentItem
from trustwatch.pipelines import StoragePipeline
from trustwatch.storage import Storage

LISTING = "https://isp.illinois.gov/LawEnforcement/LEADS"
POLICY = "https://isp.illinois.gov/LawEnforcement/GetFile/aaaa-1111"
PRESS = "https://isp.illinois.gov/Media/PressReleaseFile/2210"
START = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)

PAYLOAD_SCRIPT = "<script>window.__pwned=1</script>"
PAYLOAD_IMG = '<img src=x onerror="window.__pwned=1">'


def page(title: str, body: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}"
            "</main><footer>© 2025 Illinois State Police</footer></body></html>").encode()


def listing() -> bytes:
    return page("LEADS", "<p>LEADS documents and forms</p>")


class Crawl:
    """One run of the pipeline for the source ``isp``; captures are one minute apart."""

    def __init__(self, storage: Storage, when: datetime) -> None:
        config = parse_config({"trustwatch": {"database": "sqlite://"}, "sources": {"isp": {}}})
        self.pipeline = StoragePipeline(config, storage)
        self.spider = SimpleNamespace(slug="isp", name="isp")
        self.pipeline.open_spider(self.spider)  # type: ignore[arg-type]
        self.when = when

    def feed(self, url: str, body: bytes, *, role: str = "document",
             links: tuple[str, ...] | None = None, ctype: str = "text/html; charset=utf-8",
             headers: dict[str, list[str]] | None = None) -> None:
        self.when += timedelta(minutes=1)
        self.pipeline.process_item(DocumentItem(
            url=url, source="isp", role=role, fetched_at=self.when, final_url=url, status=200,
            content_type=ctype, body=body, links=links,
            headers=headers or {"Content-Type": [ctype], "ETag": ['"v1"'],
                                "Last-Modified": ["Mon, 03 Mar 2025 00:00:00 GMT"]},
            listing_url="" if role == "listing" else LISTING))

    def close(self) -> Any:
        self.pipeline.close_spider(self.spider)  # type: ignore[arg-type]
        return self.pipeline.state


def run(storage: Storage, docs: dict[str, bytes], n: int, **feed: Any) -> Any:
    """Crawl number ``n`` (1 = baseline) of the listing and ``docs``."""
    c = Crawl(storage, START + timedelta(days=n))
    c.feed(LISTING, listing(), role="listing", links=tuple(docs))
    for url, body in docs.items():
        c.feed(url, body, **feed)
    return c.close()


POLICY_V1 = page("LEADS Security Policy",
                 "<p>Sec. 1. Agencies may share records under a LEADS Agreement.</p>"
                 "<p>Secondary dissemination must be logged.</p>")
POLICY_V2 = page("LEADS Security Policy",
                 "<p>Sec. 1. Agencies may share records under a LEADS Agreement.</p>"
                 "<p>Secondary dissemination must be logged.</p>"
                 "<p>Enforcement and Removal Operations (ERO) of ICE signed a LEADS Agreement.</p>")
PRESS_V1 = page("Press release", "<p>Troopers held a safety day in Springfield.</p>")
PRESS_V2 = page("Press release &lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;",
                "<p>Troopers held a safety day in Springfield.</p>"
                "<p>ICE notice: &lt;script&gt;window.__pwned=1&lt;/script&gt; and "
                "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt; end.</p>"
                "<script>window.__pwned=1</script>")


def populate(storage: Storage) -> None:
    """Baseline, then the policy gains an ERO paragraph; the press release gains payloads."""
    run(storage, {POLICY: POLICY_V1, PRESS: PRESS_V1}, 1)
    run(storage, {POLICY: POLICY_V2, PRESS: PRESS_V1}, 2)


def add_payload_change(storage: Storage) -> None:
    run(storage, {POLICY: POLICY_V2, PRESS: PRESS_V2}, 3)


def watchlist(tmp: Path, db_url: str) -> Path:
    path = tmp / "watchlist.toml"
    path.write_text(f'[trustwatch]\ndatabase = "{db_url}"\narchive_dir = "{tmp / "archive"}"\n'
                    'timezone = "America/Chicago"\n\n[sources.isp]\n', encoding="utf-8")
    return path
