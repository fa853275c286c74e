"""HTML pages -> normalised text: main content only, one block per line, noise removed.

Markup is parsed with lxml through BeautifulSoup. Because libxml2 repairs broken markup
differently from browsers, the page is also parsed with Python's html.parser, and that
rendering is used when it holds words the lxml one lost (a stray ``</td></tr>`` must not
cost text). Inline tags never change the text; whitespace in the source never matters.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag

from trustwatch.extract import ilga
from trustwatch.extract.text import Extracted, clean_line, decode, split_statute_lines

# Elements whose content is never document text.
_DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "nav",
        "footer",
        "select",
        "datalist",
        "iframe",
        "frame",
        "frameset",
        "svg",
        "math",
        "canvas",
        "object",
        "embed",
        "input",
        "dialog",
        "head",
        "title",
        "meta",
        "link",
        "base",
        "map",
        "audio",
        "video",
    }
)
# Element id/class fragments that mark page furniture rather than content.
_NOISE_WORDS = (
    "footer",
    "cookie",
    "consent",
    "banner",
    "translate",
    "goog-",
    "modal",
    "skip-link",
    "skiplink",
    "breadcrumb",
)
_NOISE_ROLES = frozenset({"navigation", "contentinfo", "banner", "dialog", "alertdialog"})
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "ul",
        "option",
        "tr",
        "td",
        "th",
        "dir",
        "listing",
        "xmp",
        "plaintext",
    }
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_CELL_SEPARATOR = " | "
_LAYOUT_CELL_LINES = 3  # a cell with more block lines than this makes its row a layout row

# ILGA bill text: "SB1881 - 2 - LRB104 06329 BDA 16364 b", "10400SB1881sam001 - 3 - LRB…".
BILL_RUNNING_HEADER = re.compile(r"^\S+(?: [A-Za-z]+)? - \d+ - LRB\d+ \d+ [A-Z]+ \d+ [a-z]$")
_LINE_NUMBER_CELL = re.compile(r"^\d{1,2}(?: \| |$)")
_BILL_TEXT_URL = re.compile(
    r"/legislation/\d+/(?:[a-z]{2,3})/\d+[a-z]{2,3}\d+\w*\.html?$|/public(?:%20| )acts/",
    re.IGNORECASE,
)


def _is_noise(tag: Tag) -> bool:
    attrs = tag.attrs or {}
    role = str(attrs.get("role", "")).lower()
    if role in _NOISE_ROLES:
        return True
    raw_classes: object = attrs.get("class") or []
    if isinstance(raw_classes, str):
        classes = raw_classes.split()
    elif isinstance(raw_classes, (list, tuple)):
        classes = [str(name) for name in raw_classes]
    else:
        classes = []
    names = " ".join([str(attrs.get("id", "")), *map(str, classes)]).lower()
    if not names.strip():
        return False
    if not any(word in names for word in _NOISE_WORDS):
        return False
    # A "page-banner" that carries the page's own h1 is content, not furniture.
    return tag.find("h1") is None


def find_main(soup: BeautifulSoup) -> tuple[Tag, bool]:
    """The element holding the page's content, and whether it is more specific than body."""
    selectors = (
        "div#copyable-content",
        "#copyable-content",
        "main",
        "[role=main]",
        "#main-content",
        "#content",
        "article",
    )
    for selector in selectors:
        for candidate in soup.select(selector):
            if candidate.get_text(strip=True):
                return candidate, True
    body = soup.body or soup
    return body, False


class _Renderer:
    """Walks a tree and writes one line per block; inline content joins the current line."""

    def __init__(self, keep_header: bool) -> None:
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.keep_header = keep_header

    def flush(self) -> None:
        line = clean_line("".join(self.buffer))
        self.buffer = []
        if line:
            self.lines.append(line)

    def render(self, node: Tag) -> list[str]:
        self.walk_children(node, in_pre=False)
        self.flush()
        return self.lines

    def walk_children(self, node: Tag, in_pre: bool) -> None:
        for child in list(node.children):
            self.walk(child, in_pre)

    def walk(self, node: object, in_pre: bool) -> None:
        if isinstance(node, PreformattedString):  # comments, doctype, CDATA, <?pi?>
            return
        if isinstance(node, NavigableString):
            self.text(str(node), in_pre)
            return
        if not isinstance(node, Tag):
            return
        name = (node.name or "").lower()
        if name in _DROP_TAGS or _is_noise(node):
            return
        if name == "header" and not self.keep_header:
            return
        if name == "br":
            self.flush()
            return
        if name == "tr":
            self.row(node, in_pre)
            return
        if name in _BLOCK_TAGS:
            self.flush()
            self.walk_children(node, in_pre or name in ("pre", "listing", "xmp", "plaintext"))
            self.flush()
            return
        self.walk_children(node, in_pre)

    def text(self, text: str, in_pre: bool) -> None:
        if not in_pre:
            self.buffer.append(text)
            return
        first, *rest = text.split("\n")
        self.buffer.append(first)
        for part in rest:
            self.flush()
            self.buffer.append(part)

    def row(self, row: Tag, in_pre: bool) -> None:
        """A table row: its cells joined with " | ", unless the table is only for layout."""
        self.flush()
        cells: list[list[str]] = []
        layout = False
        for cell in row.find_all(["td", "th"], recursive=False):
            if cell.find("table") is not None or cell.find(_HEADINGS) is not None:
                layout = True
            sub = _Renderer(self.keep_header)
            sub.walk_children(cell, in_pre)
            sub.flush()
            if sub.lines:
                cells.append(sub.lines)
        # Text sitting directly in a <tr> (broken markup) must not be lost.
        stray = _Renderer(self.keep_header)
        for child in row.children:
            if not (isinstance(child, Tag) and child.name in ("td", "th")):
                stray.walk(child, in_pre)
        stray.flush()
        if any(len(cell) > _LAYOUT_CELL_LINES for cell in cells) or len(cells) == 1:
            layout = True
        if layout:
            for cell_lines in cells:
                self.lines.extend(cell_lines)
        elif cells:
            self.lines.append(_CELL_SEPARATOR.join(" ".join(cell) for cell in cells))
        self.lines.extend(stray.lines)


def page_title(soup: BeautifulSoup, main: Tag) -> str:
    """The <title> text, else the first h1."""
    if soup.title is not None:
        title = clean_line(soup.title.get_text(" "))
        if title:
            return title
    for root in (main, soup):
        h1 = root.find("h1")
        if isinstance(h1, Tag):
            title = clean_line(h1.get_text(" "))
            if title:
                return title
    return ""


def _render(soup: BeautifulSoup) -> tuple[list[str], str]:
    main, specific = find_main(soup)
    lines = _Renderer(keep_header=specific).render(main)
    return lines, page_title(soup, main)


def _words(lines: Iterable[str]) -> Counter[str]:
    return Counter(word for line in lines for word in re.findall(r"\w+", line))


def is_bill_text(lines: list[str], url: str) -> bool:
    """ILGA bill text or Public Act page: line-numbered rows under running headers."""
    if _BILL_TEXT_URL.search(url or ""):
        return True
    return sum(1 for line in lines[:400] if BILL_RUNNING_HEADER.match(line)) >= 1


def clean_bill_text(lines: Iterable[str]) -> list[str]:
    """Drop running headers and line-number cells, keep the legislative text."""
    out: list[str] = []
    for line in lines:
        if BILL_RUNNING_HEADER.match(line):
            continue
        match = _LINE_NUMBER_CELL.match(line)
        if match:
            line = line[match.end() :]
        if line:
            out.append(line)
    return out


_STRUCK = ("s", "strike", "del")
# A printed line that starts a new paragraph even without indentation.
_PARAGRAPH_START = re.compile(
    r"^(?:\(\w{1,5}\) |\(\d+ ILCS |\(Source: |\(Text of Section |Sec\. \d|Section \d+\. |"
    r"ARTICLE |Article \d)"
)


def _cell_text(node: Tag) -> str:
    """A bill-text cell's raw text: <br> as newline, struck (deleted) words marked."""
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, PreformattedString):
            continue
        if isinstance(child, NavigableString):
            parts.append(str(child))
        elif isinstance(child, Tag):
            name = (child.name or "").lower()
            if name in _DROP_TAGS:
                continue
            if name == "br":
                parts.append("\n")
            elif name in _STRUCK:
                struck = clean_line(child.get_text(" "))
                if struck:
                    parts.append(f" [deleted: {struck}] ")
            else:
                parts.append(_cell_text(child))
    return "".join(parts)


def bill_text_lines(soup: BeautifulSoup) -> list[str]:
    """ILGA bill text: printed lines joined into paragraphs, line numbers and running
    headers dropped, struck (deleted) text marked "[deleted: ...]".

    A paragraph starts at an indented line or at an enumerator, citation, ``Sec.`` or
    source note; every other printed line continues the paragraph before it, so a word
    inserted by an amendment changes one paragraph instead of every line after it.
    """
    paragraphs: list[str] = []
    for row in soup.find_all("tr"):
        cells = row.find_all(["td", "th"], recursive=False)
        if not cells:
            continue
        raw = _cell_text(cells[-1])
        for index, piece in enumerate(raw.split("\n")):
            line = clean_line(piece)
            if not line or BILL_RUNNING_HEADER.match(line):
                continue
            indented = piece[:2].isspace() or piece.startswith("\xa0")
            starts = indented or index > 0 or bool(_PARAGRAPH_START.match(line))
            if paragraphs and not starts:
                paragraphs[-1] = f"{paragraphs[-1]} {line}"
            else:
                paragraphs.append(line)
    return paragraphs


_TAG_COUNT = re.compile(r"<(/?)(td|tr|table|div|tbody)\b", re.I)


def looks_malformed(html: str) -> bool:
    """Opening and closing table/div tags that do not pair up (ILGA's stray </td></tr>):
    the only pages worth a second, slower reading with html.parser."""
    opened: dict[str, int] = {}
    for slash, name in _TAG_COUNT.findall(html):
        key = name.lower()
        opened[key] = opened.get(key, 0) + (-1 if slash else 1)
    return any(v != 0 for v in opened.values())


def render_lines(html: str) -> tuple[list[str], str, tuple[str, ...]]:
    """Lines of the page's main content, its title and notes on how it was read."""
    soup = BeautifulSoup(html, "lxml")
    lines, title = _render(soup)
    notes: tuple[str, ...] = ()
    if not looks_malformed(html):
        return lines, title, notes
    fallback = BeautifulSoup(html, "html.parser")
    other_lines, other_title = _render(fallback)
    lost = _words(other_lines) - _words(lines)
    extra = _words(lines) - _words(other_lines)
    if sum(lost.values()) > sum(extra.values()):
        count = sum(lost.values())
        notes = (f"read with html.parser: lxml lost {count} word{'s' if count != 1 else ''}",)
        lines, title = other_lines, other_title or title
    return lines, title, notes


def extract_html(body: bytes, content_type: str = "", url: str = "") -> Extracted:
    """Normalised text of an HTML page (ILGA listings and bill status pages included)."""
    text, notes = decode(body, content_type)
    if ilga.looks_like_iis_listing(text):
        return ilga.extract_listing(body, url, content_type)
    if ilga.looks_like_bill_status_html(text, url):
        status = ilga.parse_bill_status_html(body, url)
        if status.actions or status.last_action:
            return Extracted(
                text=ilga.render_bill_status(status),
                title=ilga.bill_status_title(status),
                kind="html",
                notes=tuple(dict.fromkeys((*notes, *status.notes))),
            )
    lines, title, read_notes = render_lines(text)
    if is_bill_text(lines, url):
        plain = clean_bill_text(lines)
        paragraphs = bill_text_lines(BeautifulSoup(text, "lxml"))
        # Keep the paragraph reading unless it lost words the plain reading has.
        if sum((_words(plain) - _words(paragraphs)).values()) == 0:
            lines = paragraphs
        else:
            lines = plain
    lines = split_statute_lines(lines)
    return Extracted(
        text="\n".join(line for line in map(clean_line, lines) if line),
        title=title,
        kind="html",
        notes=(*notes, *read_notes),
    )
