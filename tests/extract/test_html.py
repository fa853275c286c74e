"""HTML pages: noise never reaches the text, content always does."""

from __future__ import annotations

import pytest

from trustwatch.extract import extract
from trustwatch.extract.html import extract_html

PAGE = """<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<meta name="DC.date" content="2025-03-19T04:12:00">
<title>Law Enforcement and Immigration</title>
<script>var token = "sessionSecret";</script><style>.x{color:red}</style>
</head><body>
<a class="skip-link" href="#main">Skip to main content</a>
<div id="cookieConsent" class="cookie-banner">This site uses cookies. <button>Accept</button></div>
<div class="modal fade" id="translateModal"><div class="modal-body">Translate this page
 <div id="google_translate_element">Select Language</div></div></div>
<div id="goog-gt-tt">Original text</div>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News Room</a></li></ul></nav>
<form><input type="hidden" name="__RequestVerificationToken" value="CfDJ8Nq0xAbC123">
<label>General Assembly</label>
<select name="GAID"><option value="18">104th (2025-2026)</option><option>103rd</option></select>
</form></header>
<ol class="breadcrumb"><li>Home</li><li>Safer Communities</li></ol>
<main id="main">
<h1>Law Enforcement and Immigration</h1>
<p>The Illinois TRUST Act (5 ILCS 805) limits   how agencies
   take part in <a href="/x">federal civil immigration enforcement</a>.</p>
<h2>Compliance reports</h2>
<ul><li>TRUST Act Compliance Report 2024</li><li>TRUST Act Compliance Report 2023</li></ul>
<table><tr><th>Year</th><th>Agencies reporting</th></tr>
<tr><td>2024</td><td><b>1131</b></td></tr></table>
<noscript>Enable JavaScript</noscript>
<iframe src="https://www.youtube.com/embed/x">Video</iframe>
<template><p>Hidden template</p></template>
</main>
<footer><p>&copy; 2025 Illinois Attorney General</p><p>Last updated March 19, 2025</p></footer>
<div id="site-footer">Privacy | Accessibility</div>
</body></html>"""


@pytest.fixture
def text() -> str:
    return extract(PAGE.encode(), "text/html; charset=utf-8", "https://ag.example/").text


NOISE = {
    "footer year": "2025 Illinois Attorney General",
    "footer update date": "Last updated",
    "DC.date meta": "2025-03-19T04:12",
    "request verification token": "CfDJ8Nq0xAbC123",
    "cookie banner": "uses cookies",
    "translate modal": "Translate this page",
    "google translate widget": "Select Language",
    "goog- tooltip": "Original text",
    "General Assembly select": "104th",
    "nav": "News Room",
    "skip link": "Skip to main content",
    "breadcrumb": "Safer Communities",
    "script": "sessionSecret",
    "noscript": "Enable JavaScript",
    "iframe": "Video",
    "template": "Hidden template",
    "footer by id": "Accessibility",
}


@pytest.mark.parametrize("label", sorted(NOISE))
def test_noise_does_not_reach_the_text(text: str, label: str) -> None:
    assert NOISE[label] not in text


def test_main_text_headings_lists_and_tables_survive(text: str) -> None:
    assert text.splitlines() == [
        "Law Enforcement and Immigration",
        (
            "The Illinois TRUST Act (5 ILCS 805) limits how agencies take part in federal "
            "civil immigration enforcement."
        ),
        "Compliance reports",
        "TRUST Act Compliance Report 2024",
        "TRUST Act Compliance Report 2023",
        "Year | Agencies reporting",
        "2024 | 1131",
    ]


def test_title_comes_from_the_title_element() -> None:
    assert extract_html(PAGE.encode()).title == "Law Enforcement and Immigration"


def test_bold_toggle_around_a_cell_changes_nothing() -> None:
    plain = "<table><tr><td>1/09/2025</td><td>Senate</td><td>First Reading</td></tr></table>"
    bold = (
        "<table><tr><td><b>1/09/2025</b></td><td><strong>Senate</strong></td>"
        "<td><span><a href='#'>First Reading</a></span></td></tr></table>"
    )
    assert extract_html(plain.encode()).text == extract_html(bold.encode()).text
    assert extract_html(plain.encode()).text == "1/09/2025 | Senate | First Reading"


def test_whitespace_reflow_changes_nothing() -> None:
    tight = "<div><p>Agencies may not <b>share</b> data.</p><p>Second paragraph.</p></div>"
    loose = """
    <div>
        <p>
            Agencies   may not
            <b>share</b>
            data.
        </p>
            <p>Second
               paragraph.</p>
    </div>"""
    assert extract_html(tight.encode()).text == extract_html(loose.encode()).text


def test_block_elements_and_br_make_lines() -> None:
    body = b"<body><p>one<br>two</p><dl><dt>term</dt><dd>meaning</dd></dl><pre>a\n  b</pre></body>"
    assert extract_html(body).text == "one\ntwo\nterm\nmeaning\na\nb"


def test_malformed_markup_loses_no_text() -> None:
    body = b"""<html><body><div id="content"><h2>Actions</h2>
    <table><tr><td>1/31/2025</td><td>Senate</td><td>First Reading</td></tr></td></tr>
    <tr><td>2/18/2025<td>Senate<td>Assigned to Executive
    <tr><td>2/20/2025</td><td>Senate</td><td>Added as Co-Sponsor</td></tr></td></tr></table>
    <p>Unclosed paragraph <b>bold never closed
    <p>After it</div></body></html>"""
    text = extract_html(body).text
    for words in (
        "First Reading",
        "Assigned to Executive",
        "Added as Co-Sponsor",
        "Unclosed paragraph bold never closed",
        "After it",
    ):
        assert words in text
    assert "2/18/2025 | Senate | Assigned to Executive" in text


def test_layout_tables_do_not_glue_the_page_into_one_line() -> None:
    body = b"""<body><table><tr><td><h1>ILCS</h1><p>Sec. 1. Short title.</p>
    <p>This Act may be cited as the Illinois TRUST Act.</p></td><td>Sidebar</td></tr></table></body>"""
    assert extract_html(body).text.splitlines() == [
        "ILCS",
        "Sec. 1. Short title.",
        "This Act may be cited as the Illinois TRUST Act.",
        "Sidebar",
    ]


def test_statute_section_lines_are_kept_on_their_own_lines() -> None:
    body = b"""<html><body><div id="copyable-content"><p>(5 ILCS 805/15) Sec. 15.
    Prohibition on enforcing federal civil immigration laws. (a) A law enforcement agency
    shall not detain any individual solely on the basis of any immigration detainer.
    (Source: P.A. 102-234, eff. 8-2-21.)</p></div></body></html>"""
    assert extract_html(body).text.splitlines() == [
        "(5 ILCS 805/15)",
        "Sec. 15. Prohibition on enforcing federal civil immigration laws.",
        (
            "(a) A law enforcement agency shall not detain any individual solely on the basis "
            "of any immigration detainer."
        ),
        "(Source: P.A. 102-234, eff. 8-2-21.)",
    ]


def test_ilga_copyable_content_is_preferred_over_main() -> None:
    body = b"""<body><main><div class="sidebar">Bills &amp; Resolutions</div>
    <div id="copyable-content"><h1>Bill Text</h1><p>AN ACT concerning State government.</p>
    </div></main></body>"""
    assert extract_html(body).text == "Bill Text\nAN ACT concerning State government."


def test_bill_text_drops_line_numbers_and_running_headers() -> None:
    rows = [
        (
            '<tr><td class="num xsl">1</td><td class="xsl">&nbsp;&nbsp;&nbsp;&nbsp;AN ACT '
            "concerning State government.</td></tr>"
        ),
        (
            '<tr><td class="num xsl">2</td><td class="xsl">&nbsp;&nbsp;&nbsp;&nbsp;Section 5. '
            "The Illinois TRUST Act is amended by</td></tr>"
        ),
        '<tr><td class="num xsl">3</td><td class="xsl">changing Section 15 as follows:</td></tr>',
        (
            '<tr><td class="num"></td><td class="xsl" align="center"><br>&nbsp;<br>'
            "SB1881 - 2 - LRB104 06329 BDA 16364 b<br>&nbsp;</td></tr>"
        ),
        '<tr><td class="num xsl">1</td><td class="xsl">(5 ILCS 805/15)</td></tr>',
        (
            '<tr><td class="num xsl">2</td><td class="xsl">&nbsp;&nbsp;&nbsp;&nbsp;Sec. 15. '
            "Prohibition.</td></tr>"
        ),
        (
            '<tr><td class="num xsl">3</td><td class="xsl">(a) More than <s>2 years</s> '
            "<u>3 years</u> after</td></tr>"
        ),
        '<tr><td class="num xsl">4</td><td class="xsl">the report.</td></tr>',
    ]
    body = ("<html><body><table>" + "".join(rows) + "</table></body></html>").encode()
    result = extract(body, "text/html", "https://ftp.ilga.gov/Legislation/104/SB/10400SB1881.htm")
    assert result.text.splitlines() == [
        "AN ACT concerning State government.",
        "Section 5. The Illinois TRUST Act is amended by changing Section 15 as follows:",
        "(5 ILCS 805/15)",
        "Sec. 15. Prohibition.",
        "(a) More than [deleted: 2 years] 3 years after the report.",
    ]


def test_sniffing_ignores_a_wrong_content_type() -> None:
    assert extract(b"<!DOCTYPE html><p>Hi</p>", "application/octet-stream").kind == "html"
