"""Shared pieces of extraction: the result type, decoding bytes and normalising text."""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class ExtractionError(Exception):
    """A document whose bytes cannot be turned into text; the message is one plain line."""


@dataclass(frozen=True)
class Extracted:
    """Normalised text of one document, plus what was repaired on the way.

    ``text`` holds one block (paragraph, heading, list item, table row) per line, whitespace
    collapsed, no empty lines; PDF pages each start with a ``[page N]`` line.
    """

    text: str
    title: str
    kind: str  # "html" | "pdf" | "xml" | "listing" | "text"
    pages: int = 0
    notes: tuple[str, ...] = ()
    no_text_layer: bool = False


# Python codec names for the labels servers actually send; latin-1 and ascii are decoded
# as windows-1252, as browsers do, because that is what those servers really mean.
_CODEC_FOR_LABEL = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "x-cp1252": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
}
_DISPLAY_NAME = {"utf-8": "UTF-8", "cp1252": "windows-1252"}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)[\"']", re.IGNORECASE)
# C0 controls except tab, newline and carriage return, plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _codec(label: str) -> str | None:
    """Python codec for a charset label, or None when Python does not know it."""
    label = label.strip().lower()
    if label in _CODEC_FOR_LABEL:
        return _CODEC_FOR_LABEL[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _declared(body: bytes, content_type: str) -> list[tuple[str, str]]:
    """(label as written, where) for every charset the response declares, strongest first."""
    found: list[tuple[str, str]] = []
    match = _HTTP_CHARSET.search(content_type or "")
    if match:
        found.append((match.group(1), "HTTP header"))
    head = body[:4096]
    xml = _XML_ENCODING.match(head)
    if xml:
        found.append((xml.group(1).decode("ascii", "replace"), "XML declaration"))
    meta = _META_CHARSET.search(head)
    if meta:
        found.append((meta.group(1).decode("ascii", "replace"), "meta tag"))
    return found


def decode(body: bytes, content_type: str = "") -> tuple[str, tuple[str, ...]]:
    """Decode document bytes to text, tolerating what public servers really send.

    Order: byte-order mark, HTTP charset, XML declaration, ``<meta charset>``, then UTF-8,
    then windows-1252. Each candidate must decode without error to be used. C0 control
    bytes other than tab, newline and carriage return are removed. Returns the text and
    notes in plain words for every repair made.
    """
    notes: list[str] = []
    candidates: list[tuple[str, str]] = []  # (codec, label to report)
    for bom, codec in _BOMS:
        if body.startswith(bom):
            body = body[len(bom) :]
            notes.append("removed byte-order mark")
            candidates.append((codec, codec.upper()))
            break
    declared = _declared(body, content_type)
    for label, where in declared:
        known = _codec(label)
        if known is None:
            notes.append(f"unknown charset {label!r} in {where}")
            continue
        candidates.append((known, label.upper()))
    candidates.append(("utf-8", "UTF-8"))
    candidates.append(("cp1252", "windows-1252"))

    text: str | None = None
    used = ""
    for codec, label in candidates:
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        used = codec
        if codec != "utf-8" and not codec.startswith("utf-"):
            notes.append(f"decoded as {label}")
        elif declared and _codec(declared[0][0]) not in (None, codec):
            notes.append(f"declared {declared[0][0].upper()} but decoded as {label}")
        break
    if text is None:
        # windows-1252 leaves five bytes undefined; ISO-8859-1 maps every byte.
        text = body.decode("latin-1")
        used = "latin-1"
        notes.append("decoded as ISO-8859-1")
    del used

    text, removed = _CONTROL.subn("", text)
    if removed:
        notes.append(f"removed {removed} control byte{'s' if removed != 1 else ''}")
    return text, tuple(notes)


# Characters that carry no text: zero-width spaces/joiners, soft hyphen, stray BOMs.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Typographic ligatures PDFs emit as single code points.
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)


def clean_line(line: str) -> str:
    """One line with invisible characters removed and whitespace runs collapsed."""
    line = line.translate(_INVISIBLE).translate(_LIGATURES)
    return " ".join(line.split())


def normalise(text: str, ignore: Sequence[re.Pattern[str]] = ()) -> str:
    """Collapse whitespace per line, drop empty lines and lines matching any ``ignore`` regex.

    Text is put in Unicode NFC form first so the same words always compare equal.
    """
    text = unicodedata.normalize("NFC", text)
    return "\n".join(_kept_lines(text.splitlines(), ignore))


def _kept_lines(lines: Iterable[str], ignore: Sequence[re.Pattern[str]]) -> Iterable[str]:
    for raw in lines:
        line = clean_line(raw)
        if not line:
            continue
        if any(pattern.search(line) for pattern in ignore):
            continue
        yield line


# Statute citations and source notes each get their own line: the diff engine labels hunks
# by the nearest preceding "Sec. N." line.
_LEADING_CITATION = re.compile(
    r"^(\(\d+ ILCS \d+/[\w.-]+(?: et seq\.)?\)|\(Text of Section [^()]{1,200}(?:\([^()]*\)[^()]*)*\))"
    r"\s+(?=\S)"
)
_SOURCE_NOTE = re.compile(r"(?<=\S)\s+(?=\(Source: )")
# "Sec. 15. Heading words. (a) Body…" -> heading line, body line.
_SECTION_HEADING = re.compile(r"^(Sec\. [\w.-]+?\.\s+[^.]{1,200}?\.)\s+(?=[(\"A-Z])")


def split_statute_lines(lines: Iterable[str]) -> list[str]:
    """Put ILCS citations, ``Sec. N.`` headings and ``(Source: …)`` notes on their own lines."""
    out: list[str] = []
    for line in lines:
        pending = [line]
        while pending:
            piece = pending.pop(0)
            match = _LEADING_CITATION.match(piece) or _SECTION_HEADING.match(piece)
            if match:
                out.append(match.group(1))
                pending.insert(0, piece[match.end() :])
                continue
            parts = _SOURCE_NOTE.split(piece, maxsplit=1)
            if len(parts) == 2:
                out.append(parts[0])
                pending.insert(0, parts[1])
                continue
            out.append(piece)
    return [piece for piece in out if piece.strip()]
