"""What `trustwatch bills` shows: each watched bill from its latest captured status page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from trustwatch.config import Config
from trustwatch.extract import ExtractionError
from trustwatch.extract.ilga import BillStatus, parse_bill_status_html, parse_bill_status_xml
from trustwatch.storage import Document, Storage

# ilga.gov web IDs of a General Assembly, for links editors can open (SOURCES.md)
GA_WEB_IDS = {104: (18, 114)}


@dataclass(frozen=True)
class BillSummary:
    bill: str
    title: str
    last_action: str
    statutes: tuple[str, ...]
    versions: tuple[str, ...]
    shell_rewrite: bool
    discovered: str
    web_url: str


def web_url(base_url: str, ga: int, bill: str) -> str:
    m = re.match(r"([A-Z]+)(\d+)$", bill)
    gaid, session = GA_WEB_IDS.get(ga, (0, 0))
    if not m or not gaid:
        return base_url
    return (f"{base_url}/Legislation/BillStatus?DocNum={m.group(2)}&GAID={gaid}"
            f"&DocTypeID={m.group(1)}&SessionID={session}")


def _status(storage: Storage, doc: Document | None, html: bool) -> BillStatus | None:
    if doc is None or not doc.last_raw_sha256:
        return None
    try:
        raw = storage.blob(doc.last_raw_sha256)
        return parse_bill_status_html(raw) if html else parse_bill_status_xml(raw)
    except (ExtractionError, ValueError, KeyError):
        return None


def watched_bills(config: Config, storage: Storage) -> list[BillSummary]:
    out = []
    for source in config.sources.values():
        if source.kind != "ilga":
            continue
        docs = [d for d in storage.documents(source.slug) if d.meta.get("bill")]
        for bill in sorted({d.meta["bill"] for d in docs}):
            mine = [d for d in docs if d.meta["bill"] == bill and d.state == "active"]
            by_kind = {d.meta.get("doc"): d for d in mine}
            html = _status(storage, by_kind.get("status_html"), html=True)
            xml = _status(storage, by_kind.get("status_xml"), html=False)
            best = html or xml
            last = best.last_action if best else None
            versions = sorted(unquote(urlsplit(d.url).path).rsplit("/", 1)[-1]
                              for d in mine if d.meta.get("doc") == "text")
            out.append(BillSummary(
                bill=bill,
                title=(html.title if html and html.title else best.title if best else ""),
                last_action=(f"{last.date:%Y-%m-%d} {last.chamber}: {last.action}"
                             if last else ""),
                statutes=html.statutes if html else (),
                versions=tuple(versions),
                shell_rewrite=bool(best and best.shell_rewrite),
                discovered=next((str(d.meta["discovered"]) for d in mine
                                 if d.meta.get("discovered")), ""),
                web_url=web_url(source.base_url, source.general_assembly, bill),
            ))
    return out
