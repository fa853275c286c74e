"""ILGA bill status (XML and HTML) and IIS directory listings."""

from __future__ import annotations

from datetime import date, datetime

from trustwatch.extract import extract
from trustwatch.extract.ilga import (
    BillAction,
    parse_bill_status_html,
    parse_bill_status_xml,
    parse_iis_listing,
)

XML = """<?xml version="1.0" encoding="ISO-8859-1"?>
<billstatus>
  <lastaction><statusdate>3/18/2025</statusdate><chamber>Senate</chamber>
    <action>Referred to Assignments</action></lastaction>
  <actions>
    <statusdate>1/09/2025</statusdate><chamber>Senate</chamber>
    <action>Filed with Secretary by Sen. Graciela Mendoza</action>
    <statusdate>1/09/2025</statusdate><chamber>Senate</chamber><action>First Reading</action>
    <statusdate>3/18/2025</statusdate><chamber>Senate</chamber>
    <action>Referred to Assignments</action>
  </actions>
  <sponsor><sponsors>Sen. Graciela Mendoza - Sen. Jos\xe9 Pe\xf1a</sponsors></sponsor>
  <nextaction></nextaction>
  <committeehearing>Executive Hearing Mar 19 2025 4:00PM Room 212 Springfield, IL</committeehearing>
  <synopsis>
    <synopsistitle>Synopsis As Introduced</synopsistitle>
    <SynopsisText>Amends the Illinois TRUST Act.</SynopsisText>
    <synopsistitle>Senate Committee Amendment No. 1</synopsistitle>
    <SynopsisText>Replaces everything after the enacting clause. Amends the Illinois TRUST Act.</SynopsisText>
  </synopsis>
</billstatus>
"""
XML_BYTES = b"\xef\xbb\xbf" + XML.encode("latin-1").replace(b"First Reading", b"First\x01 Reading")
URL = "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/10400SB1881.xml"


def test_bill_status_xml_flat_action_triples() -> None:
    status = parse_bill_status_xml(XML_BYTES, URL)
    assert status.bill == "SB1881"
    assert status.actions == (
        BillAction(date(2025, 1, 9), "Senate", "Filed with Secretary by Sen. Graciela Mendoza"),
        BillAction(date(2025, 1, 9), "Senate", "First Reading"),
        BillAction(date(2025, 3, 18), "Senate", "Referred to Assignments"),
    )
    assert status.last_action == BillAction(date(2025, 3, 18), "Senate", "Referred to Assignments")
    assert status.sponsors == "Sen. Graciela Mendoza, Sen. José Peña"
    assert status.hearing.startswith("Executive Hearing Mar 19 2025")
    assert status.next_action == ""


def test_bill_status_xml_synopsis_pairs_and_shell_rewrite() -> None:
    status = parse_bill_status_xml(XML_BYTES, URL)
    assert status.synopses == (
        ("Synopsis As Introduced", "Amends the Illinois TRUST Act."),
        (
            "Senate Committee Amendment No. 1",
            "Replaces everything after the enacting clause. Amends the Illinois TRUST Act.",
        ),
    )
    assert status.shell_rewrite


def test_bill_status_xml_repairs_are_noted() -> None:
    notes = parse_bill_status_xml(XML_BYTES, URL).notes
    assert "removed byte-order mark" in notes
    assert "decoded as ISO-8859-1" in notes
    assert "removed 1 control byte" in notes


def test_bill_status_text_is_stable_and_readable() -> None:
    result = extract(XML_BYTES, "text/xml", URL)
    assert result.kind == "xml"
    assert result.title == "SB1881"
    lines = result.text.splitlines()
    assert lines[0] == "SB1881"
    assert "2025-01-09 | Senate | Filed with Secretary by Sen. Graciela Mendoza" in lines
    assert "Last action: 2025-03-18 Senate Referred to Assignments" in lines
    assert "Shell bill rewrite: this amendment replaces the whole bill" in lines
    reformatted = XML_BYTES.replace(b"\n    ", b"").replace(b"><", b">\n  <")
    assert extract(reformatted, "text/xml", URL).text == result.text


def test_a_new_action_is_one_inserted_line_next_to_last_action() -> None:
    old = extract(XML_BYTES, "text/xml", URL).text.splitlines()
    newer = XML_BYTES.replace(
        b"</actions>",
        b"<statusdate>3/20/2025</statusdate><chamber>Senate</chamber>"
        b"<action>Assigned to Executive</action></actions>",
    ).replace(
        b"<statusdate>3/18/2025</statusdate><chamber>Senate</chamber>\n    <action>"
        b"Referred to Assignments</action></lastaction>",
        b"<statusdate>3/20/2025</statusdate><chamber>Senate</chamber>"
        b"<action>Assigned to Executive</action></lastaction>",
    )
    new = extract(newer, "text/xml", URL).text.splitlines()
    inserted = [line for line in new if line not in old]
    assert inserted == [
        "2025-03-20 | Senate | Assigned to Executive",
        "Last action: 2025-03-20 Senate Assigned to Executive",
    ]
    assert new.index(inserted[0]) + 1 == new.index(inserted[1])


STATUS_HTML = b"""<!DOCTYPE html><html><head><meta name="DC.date" content="2025-03-19">
<title>Illinois General Assembly - Bill Status for SB1881</title></head><body>
<div class="cookie-banner">We use cookies</div>
<div id="copyable-content" class="col-2025-redesign">
<h1>Bill Status of SB 1881</h1>
<table><tr><td>Short Description:</td><td>IL TRUST ACT-SCHOOLS</td></tr>
<tr><td>Senate Sponsors</td><td><a href="#">Sen. Graciela Mendoza</a>, <a>Sen. Thomas Wexler</a></td></tr></table>
<h2 class="whatever-v2">Last Action</h2>
<table><tr><th>Date</th><th>Chamber</th><th>Action</th></tr>
<tr><td>3/18/2025</td><td>Senate</td><td>Referred to Assignments</td></tr></table>
<h2>Statutes Amended In Order of Appearance</h2>
<p><a href="a">5 ILCS 805/10</a><br><a href="b">5 ILCS 805/15</a></p>
<h2>Synopsis As Introduced</h2><p>Amends the Illinois TRUST Act.</p>
<h2>Senate Committee Amendment No. 1</h2>
<p>Replaces everything after the enacting clause. Reinserts the bill.</p>
<h2>Actions</h2>
<table><tr><th>Date</th><th>Chamber</th><th>Action</th></tr>
<tr><td><b>1/09/2025</b></td><td>Senate</td><td><b>Filed with Secretary by Sen. Graciela Mendoza</b></td></tr></td></tr>
<tr><td>1/09/2025</td><td>Senate</td><td>First Reading</td></tr></td></tr>
<tr><td>3/18/2025</td><td>Senate</td><td>Referred to Assignments</td></tr>
</table></div><footer>&copy; 2025</footer></body></html>"""


def test_bill_status_html_keyed_on_headings_despite_stray_tags() -> None:
    status = parse_bill_status_html(STATUS_HTML)
    assert status.bill == "SB1881"
    assert status.title == "IL TRUST ACT-SCHOOLS"
    assert status.sponsors == "Sen. Graciela Mendoza, Sen. Thomas Wexler"
    assert status.statutes == ("5 ILCS 805/10", "5 ILCS 805/15")
    assert [action.action for action in status.actions] == [
        "Filed with Secretary by Sen. Graciela Mendoza",
        "First Reading",
        "Referred to Assignments",
    ]
    assert status.last_action == BillAction(date(2025, 3, 18), "Senate", "Referred to Assignments")
    assert status.synopses[0] == ("Synopsis As Introduced", "Amends the Illinois TRUST Act.")
    assert status.synopses[1][0] == "Senate Committee Amendment No. 1"
    assert status.shell_rewrite


def test_bill_status_html_text_has_no_page_noise() -> None:
    result = extract(STATUS_HTML, "text/html", "https://ftp.ilga.gov/x/10400SB1881.html")
    assert result.title == "SB1881 IL TRUST ACT-SCHOOLS"
    assert "cookies" not in result.text
    assert "2025-03-19" not in result.text
    assert "Statute amended: 5 ILCS 805/15" in result.text.splitlines()


LISTING = b"""<html><head><title>ftp.ilga.gov - /Legislation/104/BillStatus/XML/</title></head>
<body><H1>ftp.ilga.gov - /Legislation/104/BillStatus/XML/</H1><hr>

<pre><A HREF="/Legislation/104/BillStatus/">[To Parent Directory]</A><br><br> 1/14/2025  3:02 AM        &lt;dir&gt; <A HREF="/Legislation/104/BillStatus/XML/old/">old</A><br> 3/19/2025  1:17 AM         4211 <A HREF="/Legislation/104/BillStatus/XML/10400HB2706.xml">10400HB2706.xml</A><br>Wednesday, March 19, 2025 11:45 PM        15873 <A HREF="/Legislation/104/BillStatus/XML/10400SB1881.xml">10400SB1881.xml</A><br></pre><hr></body></html>"""


def test_iis_listing_is_parsed() -> None:
    entries = parse_iis_listing(LISTING, "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/")
    assert [entry.name for entry in entries] == ["old", "10400HB2706.xml", "10400SB1881.xml"]
    folder, hb, sb = entries
    assert folder.is_dir and folder.size is None
    assert folder.url == "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/old/"
    assert hb.modified == datetime(2025, 3, 19, 1, 17)
    assert hb.size == 4211 and not hb.is_dir
    assert sb.modified == datetime(2025, 3, 19, 23, 45)
    assert sb.url == "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/10400SB1881.xml"


def test_listing_text_is_names_only_so_nightly_timestamps_are_not_changes() -> None:
    first = extract(LISTING, "text/html", "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/")
    nightly = LISTING.replace(
        b"3/19/2025  1:17 AM         4211", b"3/20/2025  2:44 AM         4211"
    )
    second = extract(nightly, "text/html", "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/")
    assert first.kind == "listing"
    assert first.text == "old/\n10400HB2706.xml\n10400SB1881.xml"
    assert first.text == second.text
    assert "AM" not in first.text and "2025" not in first.text
    assert first.title == "ftp.ilga.gov - /Legislation/104/BillStatus/XML/"
