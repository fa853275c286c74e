"""A loopback site of N documents for the side-by-side benchmarks.

HTML pages of 20–60 KB and PDFs in the fixture sites' proportions (4 HTML : 1 PDF, so
400 / 100 at N = 500), listed on index pages of up to 500 links. Every document carries
server validators; the server answers conditional requests the way RFC 9110 says (a 304
when the ETag matches, or, without If-None-Match, when Last-Modified <= If-Modified-Since)
and counts every byte it writes, so bytes transferred are measured here, not by the clients.

Modes (``validators``):

* ``"etag"``    — ETag (content hash) and Last-Modified; the normal site;
* ``"lm-only"`` — Last-Modified only, like many IIS / static hosts.

Two traps for clients, used by the correctness scenarios in ``bench/run.py``:

* :meth:`BenchSite.replace_backdated` — a file replaced keeping an older date: its new
  Last-Modified is later than the previous version's but earlier than the client's last
  fetch (``cp -p`` from a staging copy). A client sending its own clock as
  If-Modified-Since gets a 304 and misses it; one sending the server's previous value
  gets the new bytes.
* :meth:`BenchSite.arm_same_second` — the document is edited, fetched, and edited again
  within the same second: Last-Modified does not move, so only a client that refuses to
  trust a Last-Modified equal to the response's Date second (RFC 9110 §8.8.2.2: such a
  validator is weak) sees the second edit.

Run it alone to browse: ``python bench/site.py --n 50``.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

LINKS_PER_INDEX = 500
PDF_EVERY = 5  # every 5th document is a PDF: 4 HTML : 1 PDF, as in the fixture sites
EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # documents' original Last-Modified base

_WORDS = ["the", "state", "police", "shall", "not", "share", "information", "with", "federal", "immigration", "authorities", "under", "the", "agreement", "law", "enforcement", "agencies", "database", "access", "request", "record", "officer", "department", "county", "sheriff", "board", "policy", "section", "paragraph", "provision", "notice", "public", "report", "annual", "audit", "compliance", "data", "warrant", "judicial", "detainer", "civil", "administrative", "criminal", "history", "inquiry", "user", "terminal", "network", "agency", "director", "attorney", "general", "guidance", "memorandum", "training", "bulletin", "revised", "effective", "date", "amendment", "rule", "act", "illinois", "chicago", "springfield", "county", "municipal", "local", "community", "residents", "safety", "trust", "families", "together", "enforcement", "cooperation", "prohibited", "permitted", "pursuant", "thereto"]
_TERMS = ("LEADS", "TRUST Act", "ICE", "immigration detainer", "5 ILCS 805",
          "Keep Illinois Families Together")


def http_date(d: datetime) -> str:
    return format_datetime(d.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 22))]
    if rng.random() < 0.08:
        words.insert(rng.randint(0, len(words)), rng.choice(_TERMS))
    s = " ".join(words)
    return s[0].upper() + s[1:] + "."


def _paragraphs(rng: random.Random, size: int) -> list[str]:
    out: list[str] = []
    total = 0
    while total < size:
        p = " ".join(_sentence(rng) for _ in range(rng.randint(3, 7)))
        out.append(p)
        total += len(p) + 12
    return out


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_html(title: str, paras: list[str]) -> bytes:
    body = "\n".join(f"<h2>Section {i + 1}</h2>\n<p>{_escape(p)}</p>" if i % 6 == 0
                     else f"<p>{_escape(p)}</p>" for i, p in enumerate(paras))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_escape(title)}</title></head>\n<body>\n<nav><a href=\"/\">Home</a></nav>"
            f"\n<main>\n<h1>{_escape(title)}</h1>\n{body}\n</main>\n"
            f"<footer>Illinois bench site</footer>\n</body></html>\n").encode()


def _pdf_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(title: str, paras: list[str], size: int = 0, seed: int = 0) -> bytes:
    """A text PDF (Helvetica, Flate-compressed content streams, ~55 lines a page), padded to
    about `size` bytes with a noise image on page 1, as real PDFs carry fonts and images."""
    lines: list[str] = [title, ""]
    for p in paras:
        words, cur = p.split(), ""
        for w in words:
            if len(cur) + len(w) + 1 > 90:
                lines.append(cur)
                cur = w
            else:
                cur = f"{cur} {w}" if cur else w
        lines.append(cur)
        lines.append("")
    pages = [lines[i:i + 55] for i in range(0, len(lines), 55)] or [[title]]
    objs: list[bytes] = []
    n_pages = len(pages)
    # 1 catalog, 2 pages, 3 font, then per page: page object, content stream
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                b"/Encoding /WinAnsiEncoding >>")
    image_obj = 4 + 2 * n_pages
    for i, page in enumerate(pages):
        ops = ["BT", "/F1 10 Tf", "12 TL", "50 780 Td"]
        for ln in page:
            ops.append(f"({_pdf_escape(ln)}) Tj T*")
        ops.append("ET")
        if i == 0:
            ops.append("q 60 0 0 60 500 700 cm /Im1 Do Q")
        stream = zlib.compress("\n".join(ops).encode("latin-1", "replace"), 6)
        xobj = f" /XObject << /Im1 {image_obj} 0 R >>" if i == 0 else ""
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >>{xobj} >> /Contents {5 + 2 * i} 0 R >>"
                    .encode())
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
                    + b"\nendstream")
    used = sum(len(o) for o in objs) + 60 * len(objs) + 200
    side = max(1, int(max(0, size - used) ** 0.5))
    noise = random.Random(seed).randbytes(side * side)
    objs.append(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
                b" /BitsPerComponent 8 /Length %d >>\nstream\n" % (side, side, len(noise))
                + noise + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += (b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objs) + 1, xref))
    return bytes(out)


def big_pdf(path: Path, megabytes: int = 50, seed: int = 50) -> Path:
    """A `megabytes` MB PDF like a scanned report with a text layer: ~60 pages of text and
    one large image; written once and cached at `path`."""
    size = megabytes * 1_000_000
    if path.exists() and abs(path.stat().st_size - size) < size * 0.05:
        return path
    rng = random.Random(seed)
    data = render_pdf("Annual LEADS audit (large)", _paragraphs(rng, 250_000), size, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


@dataclass
class Doc:
    index: int
    path: str
    kind: str  # html | pdf
    title: str
    paras: list[str]
    body: bytes = b""
    etag: str = ""
    last_modified: datetime = EPOCH
    version: int = 1
    size: int = 0  # target bytes (PDFs are padded to it)
    # same-second trap: after the next GET, swap to this body keeping Last-Modified
    after_serve: bytes | None = None

    def render(self) -> None:
        if self.kind == "pdf":
            self.body = render_pdf(self.title, self.paras, self.size, self.index)
        else:
            self.body = render_html(self.title, self.paras)
        self.etag = '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass
class Traffic:
    requests: int = 0
    not_modified: int = 0
    bytes_total: int = 0  # status line + headers + body, as written to the socket
    bytes_body: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "not_modified": self.not_modified,
                "bytes_total": self.bytes_total, "bytes_body": self.bytes_body,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())}}


class BenchSite:
    """N documents on 127.0.0.1 (port 0). Thread-safe counters; start()/stop()."""

    def __init__(self, n: int = 500, *, seed: int = 2025, validators: str = "etag",
                 extra: dict[str, Path] | None = None) -> None:
        if validators not in ("etag", "lm-only"):
            raise ValueError(f"unknown validators mode {validators!r}")
        self.n = n
        self.seed = seed
        self.validators = validators
        self.rng = random.Random(seed)
        self.docs: list[Doc] = []
        self.by_path: dict[str, Doc] = {}
        self.extra = dict(extra or {})  # path -> file served as application/pdf
        self.lock = threading.Lock()
        self.traffic = Traffic()
        self.base = ""
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for i in range(n):
            kind = "pdf" if i % PDF_EVERY == PDF_EVERY - 1 else "html"
            size = self.rng.randint(20_000, 60_000) if kind == "html" else \
                self.rng.randint(15_000, 45_000)
            title = f"Document {i:05d}: {self.rng.choice(_WORDS)} {self.rng.choice(_WORDS)}"
            path = f"/{'files' if kind == 'pdf' else 'docs'}/d{i:05d}.{kind}"
            text_size = int(size * 0.97) if kind == "html" else size * 2 // 3
            doc = Doc(i, path, kind, title, _paragraphs(self.rng, text_size),
                      last_modified=EPOCH + timedelta(minutes=i), size=size)
            doc.render()
            self.docs.append(doc)
            self.by_path[doc.path] = doc

    # -- URLs -----------------------------------------------------------------------------
    @property
    def index_paths(self) -> list[str]:
        pages = max(1, -(-self.n // LINKS_PER_INDEX))
        return [f"/index/{p + 1}.html" for p in range(pages)]

    def index_urls(self) -> list[str]:
        return [self.base + p for p in self.index_paths]

    def doc_urls(self) -> list[str]:
        return [self.base + d.path for d in self.docs] + [self.base + p for p in self.extra]

    def url(self, doc: Doc) -> str:
        return self.base + doc.path

    def render_index(self, page: int) -> bytes:
        docs = self.docs[(page - 1) * LINKS_PER_INDEX: page * LINKS_PER_INDEX]
        items = [f'<li><a href="{d.path}">{_escape(d.title)}</a></li>' for d in docs]
        if page == 1:
            items += [f'<li><a href="{p}">Large file {p}</a></li>' for p in self.extra]
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Documents, page "
                f"{page}</title></head><body><h1>Documents</h1><ul>\n" + "\n".join(items)
                + "\n</ul></body></html>\n").encode("utf-8")

    # -- changes --------------------------------------------------------------------------
    def _edit(self, doc: Doc, when: datetime) -> None:
        """A visible text edit: one paragraph reworded and one sentence added."""
        rng = random.Random(f"{self.seed}-{doc.index}-{doc.version}")
        k = rng.randrange(len(doc.paras))
        words = doc.paras[k].split()
        for _ in range(3):
            words[rng.randrange(len(words))] = rng.choice(_WORDS)
        doc.paras[k] = " ".join(words)
        doc.paras.insert(rng.randrange(len(doc.paras) + 1),
                         f"Revision {doc.version + 1}: " + _sentence(rng))
        doc.version += 1
        doc.last_modified = when.replace(microsecond=0)
        doc.render()

    def change(self, fraction: float = 0.1, *, seed: int = 7) -> list[str]:
        """Edit a deterministic `fraction` of the documents now; return their URLs."""
        rng = random.Random(seed)
        picked = sorted(rng.sample(range(self.n), max(1, round(self.n * fraction))))
        now = datetime.now(UTC)
        with self.lock:
            for i in picked:
                self._edit(self.docs[i], now)
        return [self.url(self.docs[i]) for i in picked]

    def replace_backdated(self, indexes: list[int], last_fetch: datetime) -> list[str]:
        """Replace files with new bytes dated between their old date and `last_fetch`."""
        with self.lock:
            for i in indexes:
                doc = self.docs[i]
                old = doc.last_modified
                when = old + (last_fetch - old) / 2
                self._edit(doc, when)
                assert doc.last_modified < last_fetch
        return [self.url(self.docs[i]) for i in indexes]

    def arm_same_second(self, indexes: list[int]) -> list[str]:
        """On the next GET of each: serve it dated this second, then edit it in that second."""
        with self.lock:
            for i in indexes:
                doc = self.docs[i]
                pending = Doc(doc.index, doc.path, doc.kind, doc.title, list(doc.paras),
                              version=doc.version, size=doc.size)
                self._edit(pending, EPOCH)
                doc.after_serve = pending.body
                doc.paras, doc.version = pending.paras, pending.version
                # body/etag stay the old ones until served; see _Handler
        return [self.url(self.docs[i]) for i in indexes]

    def reset_traffic(self) -> Traffic:
        with self.lock:
            t, self.traffic = self.traffic, Traffic()
        return t

    # -- server ---------------------------------------------------------------------------
    def start(self) -> str:
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.base

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    site: BenchSite
    protocol_version = "HTTP/1.1"  # keep-alive for every client alike

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        site = self.site
        path = self.path.split("?", 1)[0]
        now = datetime.now(UTC)
        headers: dict[str, str] = {"Date": http_date(now), "Server": "bench-site"}
        status, body = 200, b""
        ctype = "text/html; charset=utf-8"
        validators: dict[str, str] = {}
        swap_after: Doc | None = None
        with site.lock:
            doc = site.by_path.get(path)
            if doc is not None:
                if doc.after_serve is not None and not head:
                    doc.last_modified = now.replace(microsecond=0)  # edited this second
                    swap_after = doc
                body = doc.body
                ctype = "application/pdf" if doc.kind == "pdf" else ctype
                validators["Last-Modified"] = http_date(doc.last_modified)
                if site.validators == "etag":
                    validators["ETag"] = doc.etag
            elif path in site.extra:
                f = site.extra[path]
                body = f.read_bytes()
                ctype = "application/pdf"
                validators["Last-Modified"] = http_date(EPOCH)
                if site.validators == "etag":
                    validators["ETag"] = f'"big-{f.stat().st_size}"'
            elif path in ("/", "/index.html") or path.startswith("/index/"):
                try:
                    page = 1 if path in ("/", "/index.html") else int(
                        path.rsplit("/", 1)[1].split(".")[0])
                except ValueError:
                    page = 0
                if 1 <= page <= len(site.index_paths):
                    body = site.render_index(page)
                    validators["Last-Modified"] = http_date(EPOCH)
                    if site.validators == "etag":
                        validators["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
                else:
                    status, body = 404, b"<h1>Not found</h1>"
            elif path == "/robots.txt":
                body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
            else:
                status, body = 404, b"<h1>Not found</h1>"
            if status == 200 and validators and self._not_modified(validators):
                status, body = 304, b""
            if swap_after is not None and status == 200:
                swap_after.body = swap_after.after_serve or swap_after.body
                swap_after.etag = '"' + hashlib.sha1(swap_after.body).hexdigest()[:20] + '"'
                swap_after.after_serve = None
        headers.update(validators)
        if status != 304:
            headers["Content-Type"] = ctype
        headers["Content-Length"] = str(len(body))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        sent = 0
        if body and not head:
            try:
                self.wfile.write(body)
                sent = len(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        # end_headers() flushed the buffer; count what we wrote: status + headers + body
        head_len = len(f"HTTP/1.1 {status} \r\n") + sum(
            len(k) + len(v) + 4 for k, v in headers.items()) + 2
        with site.lock:
            t = site.traffic
            t.requests += 1
            t.not_modified += status == 304
            t.bytes_total += head_len + sent
            t.bytes_body += sent
            t.by_status[status] = t.by_status.get(status, 0) + 1

    def _not_modified(self, validators: dict[str, str]) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            if "ETag" not in validators:
                return False
            tags = [t.strip().removeprefix("W/") for t in inm.split(",")]
            return "*" in tags or validators["ETag"] in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return parsedate_to_datetime(validators["Last-Modified"]) <= since


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--validators", choices=("etag", "lm-only"), default="etag")
    a = ap.parse_args()
    with BenchSite(a.n, validators=a.validators) as site:
        print(f"serving {a.n} documents: {site.index_urls()[0]}  (Ctrl-C to stop)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
