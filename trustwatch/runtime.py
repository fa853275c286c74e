"""Per-process handles a crawl shares between middleware and pipeline (one Storage per DB)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustwatch.config import Config, load_config
from trustwatch.storage import Storage

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_STORAGES: dict[str, Storage] = {}


def config_for(crawler: Crawler) -> Config:
    config: Config | None = crawler.settings.get("TRUSTWATCH_CONFIG_OBJ")
    return config if config is not None else load_config()


def open_storage(url: str) -> Storage:
    """One opened (and migration-checked) Storage per database in this process."""
    if url not in _STORAGES:
        _STORAGES[url] = Storage.open(url)
    return _STORAGES[url]


def storage_for(crawler: Crawler) -> Storage:
    return open_storage(config_for(crawler).database)
