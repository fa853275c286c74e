"""decode() and normalise(): encodings, repairs and whitespace."""

from __future__ import annotations

import re

from trustwatch.extract import decode, extract, normalise


def test_iso_8859_1_with_bom_is_decoded_and_noted() -> None:
    body = b"\xef\xbb\xbf<?xml version='1.0' encoding='ISO-8859-1'?><a>Peti\xe7\xe3o</a>"
    text, notes = decode(body)
    assert "Petição" in text
    assert "removed byte-order mark" in notes
    assert "decoded as ISO-8859-1" in notes


def test_control_bytes_are_removed_and_counted() -> None:
    text, notes = decode(b"LEADS\x00 agree\x0bment\tnow\r\n")
    assert text == "LEADS agreement\tnow\r\n"
    assert "removed 2 control bytes" in notes


def test_http_charset_wins_over_guessing() -> None:
    text, notes = decode("café".encode("cp1252"), "text/html; charset=windows-1252")
    assert text == "café"
    assert notes == ("decoded as WINDOWS-1252",)


def test_meta_charset_is_read() -> None:
    body = '<html><head><meta charset="iso-8859-1"></head><p>Año</p>'.encode("latin-1")
    text, notes = decode(body)
    assert "Año" in text
    assert "decoded as ISO-8859-1" in notes


def test_undeclared_non_utf8_falls_back_to_windows_1252() -> None:
    text, notes = decode(b"\x93TRUST Act\x94")
    assert text == "\u201cTRUST Act\u201d"
    assert notes == ("decoded as windows-1252",)


def test_plain_utf8_needs_no_notes() -> None:
    assert decode("Kwame Raoul — Attorney General".encode()) == (
        "Kwame Raoul — Attorney General",
        (),
    )


def test_normalise_collapses_whitespace_and_drops_empty_lines() -> None:
    text = "  Sec. 15.\u00a0\u00a0Prohibition \t on\n\n   \n(a)\u200b A law\r\n"
    assert normalise(text) == "Sec. 15. Prohibition on\n(a) A law"


def test_normalise_drops_lines_matching_ignore_patterns() -> None:
    text = "Copyright 2025 Illinois State Police\nLEADS Security Policy\nVisitors: 10492"
    ignore = [re.compile(r"^Copyright \d{4}"), re.compile(r"^Visitors:")]
    assert normalise(text, ignore) == "LEADS Security Policy"


def test_normalise_expands_ligatures() -> None:
    assert normalise("o\ufb03cial \ufb01le") == "official file"


def test_plain_text_documents_are_extracted() -> None:
    result = extract(b"User-agent: *\n\nDisallow: /search/\n", "text/plain")
    assert result.kind == "text"
    assert result.text == "User-agent: *\nDisallow: /search/"
