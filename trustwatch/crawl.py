"""Run Scrapy crawls for configured sources in this process (one reactor: once per process;
the scheduler and the demo start a child process per crawl)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trustwatch.config import Config, SourceConfig
from trustwatch.storage import Run, Source, Storage

if TYPE_CHECKING:
    from scrapy.settings import Settings

# one line each: source kind -> spider class path (a registry you can read)
SPIDERS: dict[str, str] = {
    "isp": "trustwatch.spiders.isp.IspSpider",
    "ag": "trustwatch.spiders.ag.AgSpider",
    "ilga": "trustwatch.spiders.ilga.IlgaSpider",
    "generic": "trustwatch.spiders.generic.GenericSpider",
}


@dataclass(frozen=True)
class RunResult:
    slug: str
    status: str
    counts: dict[str, Any]
    problems: list[str]


def scrapy_settings(config: Config) -> Settings:
    """trustwatch.settings plus this watchlist's crawl values (whatever the working folder:
    another Scrapy project's scrapy.cfg must not change how we crawl)."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("trustwatch.settings", priority="project")
    c = config.crawl
    settings.setdict({
        "TRUSTWATCH_CONFIG_OBJ": config,
        "USER_AGENT": config.user_agent,
        "DOWNLOAD_DELAY": c.delay,
        "AUTOTHROTTLE_ENABLED": c.delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(c.delay, 0.1),
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrency_per_host,
        "DOWNLOAD_TIMEOUT": c.timeout,
        "DOWNLOAD_MAXSIZE": c.max_bytes,
    }, priority="cmdline")
    return settings


def spider_class(kind: str) -> Any:
    from importlib import import_module

    module, _, name = SPIDERS[kind].rpartition(".")
    return getattr(import_module(module), name)


def spider_kwargs(storage: Storage, source: SourceConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"source": source}
    if source.kind == "ilga":
        discovered = sorted({d.meta["bill"] for d in storage.documents(source.slug)
                             if d.meta.get("discovered") and d.meta.get("bill")})
        kwargs["extra_bills"] = discovered
        kwargs["previous_index"] = previous_bill_index(storage, source)
    return kwargs


def previous_bill_index(storage: Storage, source: SourceConfig) -> dict[str, int] | None:
    """File name -> size from the last stored bill status folder listing (None: never seen)."""
    from trustwatch.extract.ilga import parse_iis_listing

    suffix = f"/Legislation/{source.general_assembly}/BillStatus/XML/".lower()
    for doc in storage.documents(source.slug):
        if doc.role == "index" and doc.url.lower().endswith(suffix) and doc.last_raw_sha256:
            entries = parse_iis_listing(storage.blob(doc.last_raw_sha256), doc.url)
            return {e.name.lower(): e.size or 0 for e in entries if not e.is_dir}
    return None


def run_crawls(config: Config, slugs: Sequence[str], *,
               on_item: Callable[[str, Any], None] | None = None) -> list[RunResult]:
    """Crawl the sources (concurrently, one reactor) and return each run's result."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from trustwatch.runtime import open_storage
    from trustwatch.tls import use_bundle

    use_bundle(config.crawl.ca_bundle)  # before the reactor makes any TLS context
    storage = open_storage(config.database)  # the same one middleware and pipeline use
    failures: dict[str, str] = {}
    process = CrawlerProcess(scrapy_settings(config))
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    for slug in slugs:
        source = config.source(slug)
        crawler = process.create_crawler(spider_class(source.kind))
        if on_item is not None:
            crawler.signals.connect(
                lambda item, response=None, spider=None, _slug=slug: on_item(_slug, item),
                signal=signals.item_scraped)
        d = process.crawl(crawler, **spider_kwargs(storage, source))
        d.addErrback(_crawl_failed, slug, failures)
    process.start()
    results = []
    for slug in slugs:
        latest = storage.runs(slug, limit=1)
        if latest:
            run, _src = latest[0]
            results.append(RunResult(slug, run.status, dict(run.counts), list(run.problems)))
        else:
            results.append(RunResult(slug, "failed", {}, [failures.get(
                slug, "the crawl did not start")]))
    return results


def _crawl_failed(failure: Any, slug: str, failures: dict[str, str]) -> None:
    logging.getLogger(__name__).error("%s: crawl failed: %s", slug, failure.getTraceback())
    failures[slug] = f"the crawl failed: {failure.getErrorMessage()}"



def last_runs(storage: Storage) -> dict[str, tuple[Run, Source]]:
    out: dict[str, tuple[Run, Source]] = {}
    for run, src in storage.runs(limit=500):
        out.setdefault(src.slug, (run, src))
    return out
