"""Illinois General Assembly, through ftp.ilga.gov (ilga.gov answers robots with 403).

Per watched bill: status XML and HTML, every text version in the chamber's folder
(introduced, engrossed, enrolled, amendments) and the Public Acts its status page links.
Per watched statute: every section file of the Act. Discovery: bills whose status XML
changed recently and whose synopsis names a watched statute are watched from then on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, urljoin

import scrapy
from scrapy.http import Response

from trustwatch.config import SourceConfig, bill_file_id
from trustwatch.extract import ExtractionError
from trustwatch.extract.ilga import parse_bill_status_xml, parse_iis_listing
from trustwatch.items import DocumentItem
from trustwatch.spiders.base import SourceSpider

logger = logging.getLogger(__name__)

# Short titles synopses use for a statute ("Amends the Illinois TRUST Act.")
STATUTE_NAMES: dict[str, tuple[str, ...]] = {
    "5 ILCS 805": ("Illinois TRUST Act", "TRUST Act"),
}
_BILL_FILE = re.compile(r"^(\d+)00([A-Z]+)(\d{4})", re.IGNORECASE)
_PA_WEB = re.compile(r"/Legislation/PublicActs/View/(\d+)-(\d+)", re.IGNORECASE)


def statute_dir(statute: str) -> str:
    """'5 ILCS 805' -> '/ILCS/Ch%200005/Act%200805/'."""
    chapter, act = re.match(r"(\d+) ILCS (\d+)", statute).groups()  # type: ignore[union-attr]
    return f"/ILCS/{quote(f'Ch {int(chapter):04d}')}/{quote(f'Act {int(act):04d}')}/"


def mentions_statute(text: str, statutes: Iterable[str]) -> str | None:
    """The watched statute a synopsis names, by citation or short title."""
    for statute in statutes:
        chapter, act = statute.split(" ILCS ")
        if re.search(rf"\b{chapter}\s+ILCS\s+{act}\b", text):
            return statute
        for name in STATUTE_NAMES.get(statute, ()):
            if re.search(rf"\b{re.escape(name)}\b", text):  # case-sensitive: not "Trust Code"
                return statute
    return None


def bill_from_file(name: str) -> str | None:
    m = _BILL_FILE.match(name)
    return f"{m.group(2).upper()}{int(m.group(3))}" if m else None


class IlgaSpider(SourceSpider):
    name = "ilga"
    kind = "ilga"

    def __init__(self, source: SourceConfig | None = None, extra_bills: Iterable[str] = (),
                 previous_index: dict[str, int] | None = None, **kwargs: Any) -> None:
        super().__init__(source=source, **kwargs)
        self.ga = self.source.general_assembly
        self.ftp = self.source.ftp_url
        self.bills = list(dict.fromkeys([*self.source.bills, *extra_bills]))
        # file name -> size in the bill status folder at the last run; None on the first run,
        # which only records it (fetching every bill of a session once is not polite)
        self.previous_index = previous_index

    def url(self, path: str) -> str:
        return self.ftp + path

    # -- requests ---------------------------------------------------------------------------
    def start_requests(self) -> Iterator[scrapy.Request]:
        for bill in self.bills:
            yield from self.bill_requests(bill)
        for chamber in sorted({self.chamber_dir(b) for b in self.bills}):
            yield self.index_request(self.url(f"/Legislation/{self.ga}/{chamber}/"),
                                     self.parse_text_index, bills=self.bills)
        for statute in self.source.statutes:
            yield self.index_request(self.url(statute_dir(statute)), self.parse_statute_index,
                                     statute=statute)
        if self.source.statutes:
            yield self.index_request(self.url(f"/Legislation/{self.ga}/BillStatus/XML/"),
                                     self.parse_bill_index)

    @staticmethod
    def chamber_dir(bill: str) -> str:
        return re.match(r"[A-Z]+", bill).group(0)  # type: ignore[union-attr]

    def bill_requests(self, bill: str, **extra: str) -> Iterator[scrapy.Request]:
        fid = bill_file_id(bill, self.ga)
        meta = {"bill": bill, **extra}
        yield self.document_request(self.url(f"/Legislation/{self.ga}/BillStatus/XML/{fid}.xml"),
                                    listing_url="", doc_meta={**meta, "doc": "status_xml"})
        yield self.document_request(
            self.url(f"/Legislation/{self.ga}/BillStatus/HTML/{fid}.html"), listing_url="",
            callback=self.parse_status_html, doc_meta={**meta, "doc": "status_html"},
            needs_body=True)

    def index_request(self, url: str, callback: Any, **meta: Any) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.failed, dont_filter=True,
                              meta={"role": "index", "index": meta})

    # -- parsing ----------------------------------------------------------------------------
    def index_item(self, response: Response, count: int) -> DocumentItem:
        """Folder listings are kept (evidence, and the next run's baseline for discovery) but
        never reported as changes: their timestamps change nightly."""
        return self.item(response, entries=str(count))

    def entries(self, response: Response) -> list[Any]:
        if response.status >= 400:
            return []
        try:
            return parse_iis_listing(response.body, response.url)
        except (ExtractionError, ValueError) as exc:
            logger.warning("%s: cannot read listing %s: %s", self.slug, response.url, exc)
            return []

    def parse_text_index(self, response: Response) -> Iterator[DocumentItem | scrapy.Request]:
        entries = self.entries(response)
        yield self.index_item(response, len(entries))
        wanted = {bill_file_id(b, self.ga).upper(): b for b in response.meta["index"]["bills"]}
        for e in entries:
            if e.is_dir:
                continue
            bill = bill_from_file(e.name)
            fid = bill_file_id(bill, self.ga).upper() if bill else ""
            if bill and fid in wanted and e.name.lower().endswith((".htm", ".html", ".pdf")):
                yield self.document_request(e.url, listing_url=response.url,
                                            doc_meta={"bill": wanted[fid], "doc": "text"})

    def parse_statute_index(self, response: Response) -> Iterator[DocumentItem | scrapy.Request]:
        entries = self.entries(response)
        yield self.index_item(response, len(entries))
        statute = response.meta["index"]["statute"]
        for e in entries:
            if not e.is_dir and e.name.lower().endswith((".html", ".htm")):
                yield self.document_request(e.url, listing_url=response.url,
                                            doc_meta={"statute": statute, "doc": "section"})

    def parse_bill_index(self, response: Response) -> Iterator[DocumentItem | scrapy.Request]:
        entries = self.entries(response)
        yield self.index_item(response, len(entries))
        if self.previous_index is None:
            return
        watched = {bill_file_id(b, self.ga).upper() for b in self.bills}
        for e in entries:
            bill = bill_from_file(e.name)
            if (e.is_dir or not bill or not e.name.lower().endswith(".xml")
                    or bill_file_id(bill, self.ga).upper() in watched):
                continue
            # timestamps change nightly for every file; a new file or a new size is news
            if self.previous_index.get(e.name.lower()) != e.size:
                yield scrapy.Request(e.url, callback=self.parse_discovery, errback=self.failed,
                                     meta={"role": "probe", "bill": bill})

    def parse_discovery(self, response: Response) -> Iterator[DocumentItem | scrapy.Request]:
        if response.status >= 400:
            return
        try:
            status = parse_bill_status_xml(response.body)
        except (ExtractionError, ValueError) as exc:
            logger.warning("%s: unreadable bill status %s: %s", self.slug, response.url, exc)
            return
        text = " ".join([status.title, *(f"{t} {s}" for t, s in status.synopses)])
        statute = mentions_statute(text, self.source.statutes)
        if statute is None:
            return
        bill = response.meta["bill"]
        logger.info("%s: discovered %s (names %s)", self.slug, bill, statute)
        self.bills.append(bill)
        # this response is already the bill's status XML: keep it as its first capture
        response.meta["role"] = "document"
        response.meta["doc_meta"] = {"bill": bill, "doc": "status_xml", "discovered": statute}
        yield self.item(response)
        fid = bill_file_id(bill, self.ga)
        yield self.document_request(
            self.url(f"/Legislation/{self.ga}/BillStatus/HTML/{fid}.html"), listing_url="",
            callback=self.parse_status_html,
            doc_meta={"bill": bill, "doc": "status_html", "discovered": statute},
            needs_body=True)
        yield self.index_request(
            self.url(f"/Legislation/{self.ga}/{self.chamber_dir(bill)}/"), self.parse_text_index,
            bills=[bill])

    def parse_status_html(self, response: Response) -> Iterator[DocumentItem | scrapy.Request]:
        yield self.item(response)
        if response.status >= 400 or not hasattr(response, "css"):
            return
        for href in response.css("a::attr(href)").getall():
            url = urljoin(response.url, href)
            m = _PA_WEB.search(url)
            if m:  # ilga.gov web link to a Public Act -> the same file on ftp
                url = self.url(f"/Public%20Acts/{m.group(1)}/{m.group(1)}-{m.group(2)}.htm")
            elif "/public%20acts/" not in url.lower() and "/public acts/" not in url.lower():
                continue
            if url.startswith(self.ftp):
                yield self.document_request(
                    url, listing_url=response.url,
                    doc_meta={"bill": response.meta["doc_meta"]["bill"], "doc": "public_act"})
