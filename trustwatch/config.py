"""watchlist.toml -> frozen dataclasses, validated, with errors that name file, key and problem.

Built-in defaults are the real sites (SOURCES.md); a watchlist only overrides them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_USER_AGENT = "trustwatch/0.1 (+https://github.com/trustwatch/trustwatch; newsroom monitor)"

# One entry per source kind: its built-in settings (the real sites). Adding a source kind =
# one spider module + one line here + one fixture dir.
BUILTIN_SOURCES: dict[str, dict[str, Any]] = {
    "isp": {
        "name": "Illinois State Police",
        "start_urls": [
            "https://isp.illinois.gov/LawEnforcement/LEADS",
            "https://isp.illinois.gov/Media/PressReleases",
            "https://isp.illinois.gov/Foia",
        ],
        "follow": [r"/LawEnforcement/GetFile/", r"/Media/PressReleaseFile/", r"\.pdf$"],
        "every": "6h",
    },
    "ag": {
        "name": "Illinois Attorney General",
        "start_urls": [
            ("https://illinoisattorneygeneral.gov/Safer-Communities/Resources-for-Law-Enforcement/"
             "Law-Enforcement-And-Immigration/"),
            ("https://illinoisattorneygeneral.gov/Safer-Communities/Resources-for-Law-Enforcement/"
             "Law-Enforcement-Guidance/"),
            "https://illinoisattorneygeneral.gov/Rights-of-the-People/civil-rights/Immigration",
            "https://illinoisattorneygeneral.gov/news-room/",
        ],
        "follow": [r"/Page-Attachments/"],
        "every": "6h",
    },
    "ilga": {
        "name": "Illinois General Assembly",
        "base_url": "https://ilga.gov",
        "ftp_url": "https://ftp.ilga.gov",
        "general_assembly": 104,
        "bills": ["SB1881", "HB2706", "SB2305", "HB3571"],
        "statutes": ["5 ILCS 805"],
        "every": "3h",
    },
}

_SECTIONS = {"trustwatch", "crawl", "alerts", "terms", "sources"}
_TRUSTWATCH_KEYS = {"database", "archive_dir", "archive_url", "timezone", "user_agent"}
_CRAWL_KEYS = {"delay", "concurrency_per_host", "timeout", "max_bytes", "ca_bundle"}
_ALERT_KEYS = {"slack_channel"}
_SOURCE_KEYS = {
    "kind", "name", "start_urls", "follow", "every", "cron", "ignore", "expect_change_within",
    "base_url", "ftp_url", "general_assembly", "bills", "statutes",
}
_ILGA_ONLY = {"base_url", "ftp_url", "general_assembly", "bills", "statutes"}
KINDS = ("isp", "ag", "ilga", "generic")
_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_BILL = re.compile(r"^(SB|HB|SR|HR|SJR|HJR|SJRCA|HJRCA)(\d{1,4})$")
_STATUTE = re.compile(r"^(\d{1,3}) ILCS (\d{1,4})$")


class ConfigError(Exception):
    """A watchlist problem; str() is one line naming the file, the key and the problem."""


@dataclass(frozen=True)
class CrawlSettings:
    delay: float = 1.0
    concurrency_per_host: int = 2
    timeout: float = 30.0
    max_bytes: int = 104_857_600
    ca_bundle: str = ""  # extra PEM certificates (e.g. a missing intermediate); never "off"


@dataclass(frozen=True)
class SourceConfig:
    slug: str
    kind: str
    name: str
    start_urls: tuple[str, ...] = ()
    follow: tuple[re.Pattern[str], ...] = ()
    ignore: tuple[re.Pattern[str], ...] = ()
    every: timedelta | None = None
    cron: str | None = None
    expect_change_within: timedelta | None = None
    # ilga only
    base_url: str = ""
    ftp_url: str = ""
    general_assembly: int = 0
    bills: tuple[str, ...] = ()
    statutes: tuple[str, ...] = ()

    @property
    def hosts(self) -> tuple[str, ...]:
        urls = list(self.start_urls) + [u for u in (self.ftp_url,) if u]
        return tuple(dict.fromkeys(urlsplit(u).hostname or "" for u in urls))


@dataclass(frozen=True)
class Config:
    path: str = "<built-in>"
    database: str = "sqlite:///trustwatch.db"
    archive_dir: str = "archive"
    archive_url: str = ""
    timezone: str = "America/Chicago"
    user_agent: str = DEFAULT_USER_AGENT
    crawl: CrawlSettings = field(default_factory=CrawlSettings)
    slack_channel: str = "#trust-act-watch"
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sources: dict[str, SourceConfig] = field(default_factory=dict)

    def source(self, slug: str) -> SourceConfig:
        try:
            return self.sources[slug]
        except KeyError:
            known = ", ".join(self.sources) or "none"
            raise ConfigError(f"{self.path}: no source '{slug}' (known: {known})") from None


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(str(text))
    if not m:
        raise ValueError(f"bad duration {text!r} (use a number and s, m, h or d, e.g. '6h')")
    n = float(m.group(1))
    td = {"s": timedelta(seconds=n), "m": timedelta(minutes=n), "h": timedelta(hours=n),
          "d": timedelta(days=n)}[m.group(2)]
    if td.total_seconds() <= 0:
        raise ValueError(f"bad duration {text!r}: must be more than zero")
    return td


def bill_file_id(bill: str, ga: int) -> str:
    """'SB31', 104 -> '10400SB0031' (ILGA pads bill numbers to four digits)."""
    m = _BILL.match(bill)
    if not m:
        raise ValueError(f"bad bill number {bill!r}")
    return f"{ga}00{m.group(1)}{int(m.group(2)):04d}"


class _Reader:
    """Walks the TOML tree, naming each key in errors."""

    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {problem}")

    def table(self, data: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "must be a table")
        for k in data:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k,
                                f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return data

    def str_(self, data: dict[str, Any], key: str, name: str, default: str) -> str:
        v = data.get(name, default)
        if not isinstance(v, str):
            raise self.fail(f"{key}.{name}", f"must be a string, not {type(v).__name__}")
        return v

    def num(self, data: dict[str, Any], key: str, name: str, default: float, *,
            integer: bool = False, minimum: float = 0) -> float:
        v = data.get(name, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and
                                                                       not isinstance(v, int)):
            kind = "a whole number" if integer else "a number"
            raise self.fail(f"{key}.{name}", f"must be {kind}, not {v!r}")
        if v < minimum:
            raise self.fail(f"{key}.{name}", f"must be at least {minimum}, not {v!r}")
        return v

    def strings(self, data: dict[str, Any], key: str, name: str, default: Any) -> list[str]:
        v = data.get(name, default)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(f"{key}.{name}", "must be a list of strings")
        return list(v)

    def url(self, value: str, key: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(key, f"bad URL {value!r} (need http:// or https:// and a host)")
        return value

    def regexes(self, values: list[str], key: str) -> tuple[re.Pattern[str], ...]:
        out = []
        for i, v in enumerate(values):
            try:
                out.append(re.compile(v))
            except re.error as exc:
                raise self.fail(f"{key}[{i}]", f"bad regex {v!r}: {exc}") from None
        return tuple(out)


def _parse_source(r: _Reader, slug: str, raw: Any) -> SourceConfig:
    key = f"sources.{slug}"
    if not _SLUG.match(slug):
        raise r.fail(key, "source names are lowercase letters, digits, - and _")
    data = r.table(raw, key, _SOURCE_KEYS)
    kind = r.str_(data, key, "kind", slug if slug in BUILTIN_SOURCES else "generic")
    if kind not in KINDS:
        raise r.fail(f"{key}.kind", f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    base = dict(BUILTIN_SOURCES.get(kind, {})) if kind == slug or kind == "ilga" else {}
    merged = {**base, **data}
    if kind != "ilga":
        extra = _ILGA_ONLY & set(data)
        if extra:
            raise r.fail(f"{key}.{min(extra)}", "only sources of kind 'ilga' take this key")
    start_urls = [r.url(u, f"{key}.start_urls[{i}]")
                  for i, u in enumerate(r.strings(merged, key, "start_urls", []))]
    if kind in ("isp", "ag", "generic") and not start_urls:
        raise r.fail(f"{key}.start_urls", "needs at least one listing URL")
    every = cron = None
    if "every" in data and "cron" in data:
        raise r.fail(key, "set either 'every' or 'cron', not both")
    if "cron" in data:
        cron = r.str_(data, key, "cron", "")
        try:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise r.fail(f"{key}.cron", f"bad cron expression {cron!r}: {exc}") from None
    else:
        try:
            every = parse_duration(r.str_(merged, key, "every", "6h"))
        except ValueError as exc:
            raise r.fail(f"{key}.every", str(exc)) from None
    expect = None
    if "expect_change_within" in data:
        try:
            expect = parse_duration(r.str_(data, key, "expect_change_within", ""))
        except ValueError as exc:
            raise r.fail(f"{key}.expect_change_within", str(exc)) from None
    extra_fields: dict[str, Any] = {}
    if kind == "ilga":
        ga = int(r.num(merged, key, "general_assembly", 104, integer=True, minimum=90))
        bills = [b.upper().replace(" ", "") for b in r.strings(merged, key, "bills", [])]
        for i, b in enumerate(bills):
            try:
                bill_file_id(b, ga)
            except ValueError as exc:
                raise r.fail(f"{key}.bills[{i}]", str(exc)) from None
        statutes = r.strings(merged, key, "statutes", [])
        for i, s in enumerate(statutes):
            if not _STATUTE.match(s):
                raise r.fail(f"{key}.statutes[{i}]",
                             f"bad statute {s!r} (write it like '5 ILCS 805')")
        extra_fields = {
            "base_url": r.url(r.str_(merged, key, "base_url", ""), f"{key}.base_url").rstrip("/"),
            "ftp_url": r.url(r.str_(merged, key, "ftp_url", ""), f"{key}.ftp_url").rstrip("/"),
            "general_assembly": ga,
            "bills": tuple(bills),
            "statutes": tuple(statutes),
        }
    return SourceConfig(
        slug=slug,
        kind=kind,
        name=r.str_(merged, key, "name", slug.upper()),
        start_urls=tuple(start_urls),
        follow=r.regexes(r.strings(merged, key, "follow", []), f"{key}.follow"),
        ignore=r.regexes(r.strings(merged, key, "ignore", []), f"{key}.ignore"),
        every=every,
        cron=cron,
        expect_change_within=expect,
        **extra_fields,
    )


def _ca_bundle(r: _Reader, crawl: dict[str, Any], path: str) -> str:
    value = r.str_(crawl, "crawl", "ca_bundle", "")
    if not value:
        return ""
    p = Path(value).expanduser()
    if not p.is_absolute() and path != "<built-in>":
        p = Path(path).parent / p
    if not p.is_file() or b"BEGIN CERTIFICATE" not in p.read_bytes()[:1_000_000]:
        raise r.fail("crawl.ca_bundle", f"not a PEM certificate file: {value!r}")
    return str(p)


def parse_config(data: dict[str, Any], path: str = "<built-in>") -> Config:
    r = _Reader(path)
    r.table(data, "", _SECTIONS)
    tw = r.table(data.get("trustwatch", {}), "trustwatch", _TRUSTWATCH_KEYS)
    cr = r.table(data.get("crawl", {}), "crawl", _CRAWL_KEYS)
    al = r.table(data.get("alerts", {}), "alerts", _ALERT_KEYS)
    terms_raw = data.get("terms", {})
    if not isinstance(terms_raw, dict):
        raise r.fail("terms", "must be a table of lists")
    terms = {g: tuple(r.strings(terms_raw, "terms", g, [])) for g in terms_raw}
    sources_raw = data.get("sources")
    if sources_raw is None:
        sources_raw = {slug: {} for slug in BUILTIN_SOURCES}
    if not isinstance(sources_raw, dict) or not sources_raw:
        raise r.fail("sources", "must hold at least one [sources.NAME] table")
    sources = {slug: _parse_source(r, slug, raw) for slug, raw in sources_raw.items()}
    tz = r.str_(tw, "trustwatch", "timezone", "America/Chicago")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("trustwatch.timezone", f"unknown time zone {tz!r}") from None
    archive_url = r.str_(tw, "trustwatch", "archive_url", "")
    if archive_url:
        r.url(archive_url, "trustwatch.archive_url")
    database = os.environ.get("TRUSTWATCH_DB") or r.str_(tw, "trustwatch", "database",
                                                        "sqlite:///trustwatch.db")
    if "://" not in database:
        raise r.fail("trustwatch.database", f"not a database URL: {database!r}")
    return Config(
        path=path,
        database=database,
        archive_dir=r.str_(tw, "trustwatch", "archive_dir", "archive"),
        archive_url=archive_url.rstrip("/"),
        timezone=tz,
        user_agent=r.str_(tw, "trustwatch", "user_agent", DEFAULT_USER_AGENT),
        crawl=CrawlSettings(
            delay=float(r.num(cr, "crawl", "delay", 1.0)),
            concurrency_per_host=int(r.num(cr, "crawl", "concurrency_per_host", 2, integer=True,
                                           minimum=1)),
            timeout=float(r.num(cr, "crawl", "timeout", 30.0, minimum=1)),
            max_bytes=int(r.num(cr, "crawl", "max_bytes", 104_857_600, integer=True,
                                minimum=1024)),
            ca_bundle=_ca_bundle(r, cr, path),
        ),
        slack_channel=r.str_(al, "alerts", "slack_channel", "#trust-act-watch"),
        terms=terms,
        sources=sources,
    )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """--config PATH, else ./watchlist.toml, else $TRUSTWATCH_CONFIG, else the built-ins."""
    if path is None:
        if Path("watchlist.toml").is_file():
            path = "watchlist.toml"
        elif os.environ.get("TRUSTWATCH_CONFIG"):
            path = os.environ["TRUSTWATCH_CONFIG"]
    if path is None:
        return parse_config({})
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: config is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_config(data, str(p))
