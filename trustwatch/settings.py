"""Scrapy settings. `trustwatch crawl` fills the per-run values from watchlist.toml
(see crawl.scrapy_settings); `scrapy crawl isp` from the repo root uses these defaults."""

from trustwatch.config import DEFAULT_USER_AGENT

BOT_NAME = "trustwatch"
SPIDER_MODULES = ["trustwatch.spiders"]
NEWSPIDER_MODULE = "trustwatch.spiders"

USER_AGENT = DEFAULT_USER_AGENT
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = 1.0
CONCURRENT_REQUESTS = 8
# the pipeline is synchronous: more parallel item slots only cost asyncio tasks (Scrapy
# starts CONCURRENT_ITEMS workers for every response; 100 by default)
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 104_857_600
DOWNLOAD_WARNSIZE = 0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
COOKIES_ENABLED = False
# verify TLS like a browser (Scrapy does not by default); roots: certifi + [crawl] ca_bundle
DOWNLOAD_VERIFY_CERTIFICATES = True
TELNETCONSOLE_ENABLED = False
EXTENSIONS = {"scrapy.extensions.remote_control.RemoteControl": None}
HTTPCACHE_ENABLED = False
# every status reaches the spider: a 404 is evidence of removal, a 5xx a failed check
HTTPERROR_ALLOW_ALL = True
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
LOG_LEVEL = "WARNING"
LOG_INSTALL_ROOT_HANDLER = False

DOWNLOADER_MIDDLEWARES = {
    "trustwatch.middlewares.ConditionalRequestMiddleware": 560,
}
ITEM_PIPELINES = {
    "trustwatch.pipelines.StoragePipeline": 300,
}
