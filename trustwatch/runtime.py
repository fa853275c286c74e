"""Per-process handles a crawl shares between middleware and pipeline (one Storage per DB)."""

from __future__ import annotations

from scrapy.crawler import Crawler

from trustwatch.config import Config, load_config
from trustwatch.storage import Storage

_STORAGES: dict[str, Storage] = {}


def config_for(crawler: Crawler) -> Config:
    config: Config | None = crawler.settings.get("TRUSTWATCH_CONFIG_OBJ")
    return config if config is not None else load_config()


def storage_for(crawler: Crawler) -> Storage:
    url = config_for(crawler).database
    if url not in _STORAGES:
        _STORAGES[url] = Storage.open(url)
    return _STORAGES[url]
