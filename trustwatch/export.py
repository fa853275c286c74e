"""``trustwatch export warc``: every captured response as a WARC ``response`` record.

Each Version, and each Check that kept its raw bytes, becomes one record with the HTTP
status line, the stored response headers and the exact stored bytes; WARC-Date is the
capture time and WARC-Target-URI the final URL. The stored body is the decoded body
Scrapy handed us, so Content-Encoding / Transfer-Encoding no longer apply and are dropped
(Content-Length is recomputed): otherwise replay tools would try to un-gzip plain bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from sqlalchemy import select
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from trustwatch.storage import Check, Document, Storage, Version

# hop-by-hop or no longer true of the stored (decoded) body
DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection",
                "keep-alive"}


@dataclass
class ExportReport:
    path: Path
    versions: int = 0
    checks: int = 0

    @property
    def records(self) -> int:
        return self.versions + self.checks

    def line(self) -> str:
        return (f"wrote {self.records} response records ({self.versions} versions, "
                f"{self.checks} checks) to {self.path}")


def status_line(status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    return f"{status} {reason}"


def http_headers(status: int, headers: dict[str, Any] | None, length: int) -> StatusAndHeaders:
    pairs: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        if name.lower() in DROP_HEADERS:
            continue
        values = value if isinstance(value, list) else [value]
        for v in dict.fromkeys(str(x) for x in values):  # Scrapy can repeat a header value
            pairs.append((name, v.replace("\r", " ").replace("\n", " ")))
    pairs.append(("Content-Length", str(length)))
    return StatusAndHeaders(status_line(status or 200), pairs, protocol="HTTP/1.1")


def _record(writer: WARCWriter, uri: str, when: datetime, status: int,
            headers: dict[str, Any] | None, body: bytes) -> None:
    warc_headers = {"WARC-Date": datetime_to_iso_date(when)}
    rec = writer.create_warc_record(
        uri, "response", payload=io.BytesIO(body), length=len(body),
        http_headers=http_headers(status, headers, len(body)),
        warc_headers_dict=warc_headers)
    writer.write_record(rec)


def export_warc(storage: Storage, outfile: str | Path) -> ExportReport:
    """Write a gzipped WARC of every captured response, oldest first."""
    path = Path(outfile)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = ExportReport(path)
    tmp = path.with_name(path.name + ".part")
    with storage.session() as s, tmp.open("wb") as f:
        writer = WARCWriter(f, gzip=True)
        info = writer.create_warcinfo_record(path.name, {
            "software": "trustwatch", "format": "WARC File Format 1.0",
            "description": "Responses captured by trustwatch (versions and checks)"})
        writer.write_record(info)
        urls = {doc_id: url for doc_id, url in s.execute(select(Document.id, Document.url))}
        captures: list[tuple[datetime, int, str, Any]] = []
        for v in s.scalars(select(Version)):
            captures.append((v.fetched_at, 0, f"v{v.id}", v))
        for c in s.scalars(select(Check).where(Check.raw_sha256.is_not(None))):
            captures.append((c.checked_at, 1, f"c{c.id}", c))
        captures.sort(key=lambda t: (t[0], t[1], t[2]))
        for _when, _n, _key, cap in captures:
            body = Storage.read_blob(s, cap.raw_sha256)
            if isinstance(cap, Version):
                _record(writer, cap.final_url or cap.url, cap.fetched_at, cap.http_status,
                        cap.headers, body)
                report.versions += 1
            else:
                uri = cap.final_url or urls.get(cap.document_id, "")
                _record(writer, uri, cap.checked_at, cap.http_status, cap.headers, body)
                report.checks += 1
    tmp.replace(path)
    return report
