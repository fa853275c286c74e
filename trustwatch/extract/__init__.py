"""Bytes -> normalised text for every kind of document trustwatch watches.

``extract`` picks a reader by content type and by sniffing the bytes (``%PDF``, ``<?xml``,
an IIS ``<pre>`` listing, HTML), because servers often send the wrong content type.
"""

from __future__ import annotations

import re

from trustwatch.extract.text import (
    Extracted,
    ExtractionError,
    clean_line,
    decode,
    normalise,
    split_statute_lines,
)

__all__ = [
    "Extracted",
    "ExtractionError",
    "decode",
    "extract",
    "normalise",
    "sniff_kind",
]

_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title|div|p|table|pre|h\d)\b",
    re.IGNORECASE | re.DOTALL,
)


def sniff_kind(body: bytes, content_type: str = "", url: str = "") -> str:
    """ "pdf", "xml", "listing", "html" or "text" for these bytes."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n")
    media = content_type.split(";", 1)[0].strip().lower()
    if b"%PDF-" in body[:1024] or media == "application/pdf":
        return "pdf"
    if head.startswith(b"<?xml") and not re.search(
        rb"<(?:!doctype\s+)?html", body[:4096], re.IGNORECASE
    ):
        return "xml"
    xml_media = media in ("text/xml", "application/xml") or media.endswith("+xml")
    if xml_media and not re.search(rb"<html", body[:4096], re.IGNORECASE):
        return "xml"
    if media in ("text/html", "application/xhtml+xml") or _HTML_START.match(head):
        from trustwatch.extract import ilga

        text = body[:20000].decode("latin-1")
        return "listing" if ilga.looks_like_iis_listing(text) else "html"
    if re.search(rb"<html|<body|<p>|<div", body[:4096], re.IGNORECASE):
        return "html"
    if url.lower().endswith((".htm", ".html")):
        return "html"
    if url.lower().endswith(".pdf"):
        return "pdf"
    return "text"


# PDFs at least this large are read in a child process with a time limit: pypdf holds
# about twice a big file in memory, and a crafted file can make it loop
ISOLATE_BYTES = 8 * 1024 * 1024


def extract(body: bytes, content_type: str = "", url: str = "") -> Extracted:
    """Normalised text of one document; raises ExtractionError when it cannot be read."""
    if not body:
        raise ExtractionError("empty document")
    kind = sniff_kind(body, content_type, url)
    if kind == "pdf":
        from trustwatch.extract.pdf import extract_pdf, extract_pdf_isolated

        return extract_pdf(body) if len(body) < ISOLATE_BYTES else extract_pdf_isolated(body)
    if kind == "xml":
        from trustwatch.extract.ilga import extract_xml

        return extract_xml(body, url)
    if kind == "listing":
        from trustwatch.extract.ilga import extract_listing

        return extract_listing(body, url, content_type)
    if kind == "html":
        from trustwatch.extract.html import extract_html

        return extract_html(body, content_type, url)
    text, notes = decode(body, content_type)
    lines = split_statute_lines(line for line in map(clean_line, text.splitlines()) if line)
    first = lines[0] if lines else ""
    return Extracted(text=normalise("\n".join(lines)), title=first[:200], kind="text", notes=notes)
