"""Extraction over the bundled fixture sites (trustwatch/fixtures/<site>/v1/ and later)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trustwatch.extract import extract
from trustwatch.fixtures.server import SiteConfig, SiteTree, render_listing

FIXTURES = Path(__file__).resolve().parents[2] / "trustwatch" / "fixtures"
ILGA = FIXTURES / "ilga" / "v1"


def read(relpath: str) -> bytes:
    return (FIXTURES / relpath).read_bytes()


def every_fixture_document() -> list[Path]:
    return sorted(
        path
        for site in ("ag", "isp", "ilga")
        for path in (FIXTURES / site).glob("v*/**/*")
        if path.is_file() and path.name != "robots.txt"
    )


@pytest.mark.parametrize(
    "path", every_fixture_document(), ids=lambda p: str(p.relative_to(FIXTURES))
)
def test_every_fixture_document_extracts_to_clean_text(path: Path) -> None:
    result = extract(path.read_bytes(), "", "https://fixture/" + path.name)
    lines = result.text.splitlines()
    assert lines, "no text"
    assert all(line == " ".join(line.split()) for line in lines)
    assert result.title
    for noise in (
        "__RequestVerificationToken",
        "DC.date",
        "Translate this page",
        "cookies",
        "Skip to main content",
        "103rd (2023-2024)",
    ):
        assert noise not in result.text


def test_ilga_bill_status_page_fixture() -> None:
    result = extract(read("ilga/v1/Legislation/104/BillStatus/HTML/10400SB1881.html"), "text/html")
    lines = result.text.splitlines()
    assert result.title == "SB1881 IL TRUST ACT-SCHOOLS"
    assert "Statute amended: 5 ILCS 805/15" in lines
    assert "2025-01-31 | Senate | Filed with Secretary by Sen. Graciela Mendoza" in lines
    assert "2025-01-31 | Senate | First Reading" in lines  # the row followed by </td></tr>


def test_ilga_bill_status_xml_fixture_has_every_action() -> None:
    path = "ilga/v1/Legislation/104/BillStatus/XML/10400SB1881.xml"
    xml_text = extract(read(path), "text/xml", "https://ftp.ilga.gov/" + path).text
    html_text = extract(read("ilga/v1/Legislation/104/BillStatus/HTML/10400SB1881.html")).text
    actions = [line for line in xml_text.splitlines() if line.startswith("2025-")]
    assert len(actions) == 6
    assert actions == [line for line in html_text.splitlines() if line.startswith("2025-")]


def test_ilga_shell_rewrite_is_flagged_in_the_next_version() -> None:
    path = "ilga/v3/Legislation/104/BillStatus/XML/10400HB3055.xml"
    if not (FIXTURES / path).exists():
        path = "ilga/v2/Legislation/104/BillStatus/XML/10400SB1881.xml"
    text = extract(read(path), "text/xml", "https://ftp.ilga.gov/" + path).text
    assert "Shell bill rewrite: this amendment replaces the whole bill" in text


def test_ilcs_section_fixture_keeps_statute_lines() -> None:
    text = extract(read("ilga/v1/ILCS/Ch 0005/Act 0805/000508050K15.html")).text
    lines = text.splitlines()
    assert lines[0] == "(5 ILCS 805/15)"
    assert "Sec. 15. Prohibition on enforcing federal civil immigration laws." in lines
    assert any(line.startswith("(Source: P.A.") for line in lines)


def test_bill_text_fixture_has_no_line_numbers_or_running_headers() -> None:
    url = "https://ftp.ilga.gov/Legislation/104/SB/10400SB1881.htm"
    text = extract(read("ilga/v1/Legislation/104/SB/10400SB1881.htm"), "text/html", url).text
    assert "LRB104 06329 BDA 16364 b" in text  # the cover page's own bill id stays
    assert "SB1881 - 2 -" not in text
    assert not any(re.match(r"^\d{1,2}(?: |$)(?!ILCS)", line) for line in text.splitlines())
    assert "Sec. 15. Prohibition on enforcing federal civil immigration laws." in text
    assert "(Source: P.A. 102-234, eff. 8-2-21.)" in text.splitlines()


def test_ilga_iso_8859_1_fixture_decodes() -> None:
    body = read("ilga/v1/Legislation/104/BillStatus/XML/10400HB2706.xml")
    assert body.startswith(b"\xef\xbb\xbf")  # a BOM before an ISO-8859-1 declaration
    result = extract(
        body, "text/xml", "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/10400HB2706.xml"
    )
    assert result.title.startswith("HB2706")
    assert "removed byte-order mark" in result.notes
    assert "decoded as ISO-8859-1" in result.notes
    assert "\ufffd" not in result.text


def test_scanned_pdf_fixture_is_flagged_no_text_layer() -> None:
    scanned = [
        path
        for path in (FIXTURES / "isp" / "v1" / "LawEnforcement" / "GetFile").iterdir()
        if extract(path.read_bytes()).no_text_layer
    ]
    assert len(scanned) == 1


def test_pdf_fixture_running_header_is_removed() -> None:
    path = FIXTURES / "ag" / "v1" / "Page-Attachments" / "TRUST Act Compliance Report 2024.pdf"
    result = extract(path.read_bytes(), "application/pdf")
    assert result.text.startswith("[page 1]\n2024 TRUST Act Compliance Report")
    assert "[page 2]" in result.text
    assert "Page 1 of" not in result.text


def test_fixture_listing_timestamps_never_reach_the_text() -> None:
    tree = SiteTree(FIXTURES, SiteConfig.load(FIXTURES, "ilga"))
    folder = "Legislation/104/BillStatus/XML"
    url = "https://ftp.ilga.gov/" + folder + "/"
    first = extract(render_listing(tree, 1, folder, "ftp.ilga.gov"), "text/html", url)
    second = extract(render_listing(tree, 2, folder, "ftp.ilga.gov"), "text/html", url)
    assert first.kind == "listing"
    assert "10400SB1881.xml" in first.text.splitlines()
    assert first.text == second.text  # only the nightly times moved
    assert "AM" not in first.text and "PM" not in first.text
