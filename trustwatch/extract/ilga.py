"""Illinois General Assembly documents: bill status (XML and HTML) and IIS directory listings.

Bill status is rendered as stable, readable text (one line per action, in order) so that a
new action is one inserted line and reformatting of the XML or HTML changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PreformattedString, Tag
from lxml import etree

from trustwatch.extract.text import Extracted, ExtractionError, clean_line, decode


@dataclass(frozen=True)
class BillAction:
    """One row of a bill's history."""

    date: date
    chamber: str
    action: str


@dataclass(frozen=True)
class BillStatus:
    """What the General Assembly publishes about one bill."""

    bill: str  # "SB1881" (no zero padding)
    title: str  # short description if present
    last_action: BillAction | None
    actions: tuple[BillAction, ...]
    sponsors: str
    synopses: tuple[tuple[str, str], ...]  # (synopsis title, synopsis text), in order
    statutes: tuple[str, ...]  # "5 ILCS 805/15"; from the HTML page only
    next_action: str
    hearing: str
    notes: tuple[str, ...]  # repairs made while reading
    shell_rewrite: bool  # an amendment "Replaces everything after the enacting clause"


@dataclass(frozen=True)
class ListingEntry:
    """One line of an IIS directory listing."""

    url: str
    name: str
    modified: datetime | None
    size: int | None
    is_dir: bool


SHELL_REWRITE = "Replaces everything after the enacting clause"
_AMENDMENT_HEADING = re.compile(r"\bAmendment No\. ?\d+", re.IGNORECASE)
_BILL_NUMBER = re.compile(r"\b(SJRCA|HJRCA|SJR|HJR|SB|HB|SR|HR|AM|EO|JSR)\s?0*(\d{1,5})\b")
_STATUTE = re.compile(r"\b\d{1,3} ILCS \d{1,4}/[\w.-]+")
_DATE_FORMATS = (
    "%m/%d/%Y",
    "%Y-%m-%d",
    "%m/%d/%y",
    "%b %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%Y-%m-%dT%H:%M:%S",
)


def parse_date(value: str) -> date | None:
    """A date as ILGA writes it ("1/09/2025", "2025-01-09", "Mar 18 2025"), or None."""
    value = clean_line(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def normalise_sponsors(text: str) -> str:
    """Sponsor names joined by ", " whether the source used " - ", "," or " and "."""
    names = re.split(r"\s+-\s+|\s*,\s*|\s+and\s+", clean_line(text))
    return ", ".join(dict.fromkeys(name for name in names if name))


def bill_from_url(url: str) -> str:
    """Bill number from an ILGA file name ("10400SB0031.xml" -> "SB31"), or ""."""
    match = re.search(
        r"/\d{3}00([A-Z]{2,5})0*(\d{1,5})[a-z0-9]*\.(?:xml|html?)$", url or "", re.IGNORECASE
    )
    return f"{match.group(1).upper()}{int(match.group(2))}" if match else ""


def bill_number(text: str) -> str:
    """Canonical bill number ("SB1881", "HB31") found in ``text``, or ""."""
    match = _BILL_NUMBER.search(text or "")
    return f"{match.group(1)}{int(match.group(2))}" if match else ""


# --- bill status XML -------------------------------------------------------------------


def _local(tag: object) -> str:
    """Lower-case element name without namespace ("" for comments and PIs)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _text(element: etree._Element | None) -> str:
    return clean_line(" ".join(element.itertext())) if element is not None else ""


def _child(element: etree._Element, *names: str) -> etree._Element | None:
    for child in element:
        if _local(child.tag) in names:
            return child
    return None


def _xml_root(body: bytes) -> tuple[etree._Element, tuple[str, ...]]:
    if not body.strip():
        raise ExtractionError("empty XML document")
    text, notes = decode(body, "")
    # The declaration's encoding no longer applies to already-decoded text.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as error:
        raise ExtractionError(f"unreadable XML: {str(error).splitlines()[0]}") from None
    if root is None:
        raise ExtractionError("unreadable XML: no root element")
    if parser.error_log:
        count = len(parser.error_log)
        notes = (*notes, f"repaired {count} XML error{'s' if count != 1 else ''}")
    return root, notes


def _flat_actions(elements: Iterable[etree._Element], notes: list[str]) -> list[BillAction]:
    """Actions from flat, repeated statusdate / chamber / action children (or nested rows)."""
    actions: list[BillAction] = []
    current: dict[str, str] = {}

    def emit() -> None:
        if "action" not in current:
            return
        when = parse_date(current.get("statusdate", ""))
        if when is None:
            notes.append(f"skipped action with unreadable date {current.get('statusdate', '')!r}")
        else:
            actions.append(BillAction(when, current.get("chamber", ""), current["action"]))
        current.clear()

    for element in elements:
        name = _local(element.tag)
        if name in ("statusdate", "date"):
            if "statusdate" in current:
                emit()
            current["statusdate"] = _text(element)
        elif name == "chamber":
            current["chamber"] = _text(element)
        elif name in ("action", "actiondesc"):
            current["action"] = _text(element)
            emit()
        elif len(element):  # an <actionitem> wrapper: read its children as one row
            emit()
            actions.extend(_flat_actions(list(element), notes))
    emit()
    return actions


def _synopses(element: etree._Element | None) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if element is None:
        return pairs
    title: str | None = None
    for child in element:
        name = _local(child.tag)
        if name == "synopsistitle":
            if title is not None:
                pairs.append((title, ""))
            title = _text(child)
        elif name == "synopsistext":
            pairs.append((title or "", _text(child)))
            title = None
    if title:
        pairs.append((title, ""))
    return [pair for pair in pairs if pair[0] or pair[1]]


def is_shell_rewrite(synopses: Iterable[tuple[str, str]]) -> bool:
    """True when an amendment's synopsis replaces the whole bill."""
    return any(text.lower().startswith(SHELL_REWRITE.lower()) for _, text in synopses)


def parse_bill_status_xml(body: bytes, url: str = "") -> BillStatus:
    """Read ``/Legislation/<GA>/BillStatus/XML/<GA>00SB1881.xml`` tolerantly.

    The XML does not always name its bill; ``url`` (the file name) fills it in then."""
    root, repair_notes = _xml_root(body)
    notes = list(repair_notes)

    number = ""
    for name in ("billnumber", "billnum", "bill", "legislation", "docnum", "documentnumber"):
        element = root.find(f".//{name}")
        if element is not None:
            number = bill_number(_text(element))
            if number:
                break
    if not number:
        doc_type = _text(root.find(".//doctype"))
        number = bill_number(f"{doc_type}{_text(root.find('.//docnum'))}")
    if not number:
        number = bill_number(" ".join(str(value) for value in root.attrib.values()))
    if not number:
        number = bill_from_url(url)
    title = ""
    for name in ("shortdesc", "shortdescription", "short_description", "description", "title"):
        title = _text(root.find(f".//{name}"))
        if title:
            break

    last = root.find("lastaction")
    last_action = None
    if last is not None:
        found = _flat_actions(list(last), notes)
        last_action = found[-1] if found else None
    actions_element = root.find("actions")
    actions = _flat_actions(list(actions_element), notes) if actions_element is not None else []
    if last_action is None and actions:
        last_action = actions[-1]

    sponsor = root.find("sponsor")
    sponsors = ""
    if sponsor is not None:
        inner = _child(sponsor, "sponsors")
        sponsors = normalise_sponsors(_text(inner if inner is not None else sponsor))

    synopses = _synopses(root.find("synopsis"))
    statutes = tuple(
        dict.fromkeys(
            match.group(0)
            for element in root.iter()
            if "statute" in _local(element.tag)
            for match in _STATUTE.finditer(_text(element))
        )
    )
    return BillStatus(
        bill=number,
        title=title,
        last_action=last_action,
        actions=tuple(actions),
        sponsors=sponsors,
        synopses=tuple(synopses),
        statutes=statutes,
        next_action=_text(root.find("nextaction")),
        hearing=_text(root.find("committeehearing")),
        notes=tuple(dict.fromkeys(notes)),
        shell_rewrite=is_shell_rewrite(synopses),
    )


def looks_like_bill_status_xml(text: str) -> bool:
    head = text[:20000].lower()
    return "<lastaction" in head or ("<actions" in head and "<statusdate" in head)


# --- bill status HTML ------------------------------------------------------------------


def _between(start: Tag, stop: Tag | None) -> Iterator[object]:
    """Document-order nodes after ``start`` (and its own content) and before ``stop``."""
    inside = {id(node) for node in start.descendants}
    for node in start.next_elements:
        if node is stop:
            return
        if id(node) in inside:
            continue
        yield node


def _node_lines(nodes: Iterable[object]) -> list[str]:
    """Text lines of a run of nodes: one per block or table row, cells space-separated."""
    lines: list[str] = []
    buffer: list[str] = []
    blocks = {
        "p",
        "div",
        "br",
        "tr",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "table",
        "dd",
        "dt",
        "ul",
        "ol",
    }
    for node in nodes:
        if isinstance(node, PreformattedString):
            continue
        if isinstance(node, NavigableString):
            names = {parent.name for parent in node.parents}
            if names & {"script", "style", "select", "noscript", "template"}:
                continue
            buffer.append(str(node))
        elif isinstance(node, Tag) and node.name in ("td", "th"):
            buffer.append(" ")
        elif isinstance(node, Tag) and node.name in blocks:
            line = clean_line("".join(buffer))
            if line:
                lines.append(line)
            buffer = []
    line = clean_line("".join(buffer))
    if line:
        lines.append(line)
    return lines


def _section_lines(start: Tag, stop: Tag | None) -> list[str]:
    """Text lines of everything between two headings."""
    return _node_lines(_between(start, stop))


def _headings(soup: BeautifulSoup) -> list[Tag]:
    return [tag for tag in soup.find_all(["h2", "h3"]) if isinstance(tag, Tag)]


def _section(headings: list[Tag], *words: str) -> tuple[Tag, Tag | None] | None:
    """The heading whose text starts with any of ``words`` and the heading after it."""
    for index, heading in enumerate(headings):
        label = clean_line(heading.get_text(" ")).lower()
        if any(label.startswith(word) for word in words):
            following = [h for h in headings[index + 1 :] if h.name == heading.name]
            return heading, (following[0] if following else None)
    return None


def _action_rows(start: Tag, stop: Tag | None) -> list[tuple[str, str, str]]:
    """(date, chamber, action) cells from the Actions table, however broken its markup."""
    rows: list[tuple[str, str, str]] = []
    for node in _between(start, stop):
        if not (isinstance(node, Tag) and node.name == "tr"):
            continue
        cells = [clean_line(cell.get_text(" ")) for cell in node.find_all(["td", "th"])]
        cells = [cell for cell in cells if cell]
        if len(cells) >= 3 and parse_date(cells[0]) is not None:
            rows.append((cells[0], cells[1], " ".join(cells[2:])))
    if rows:
        return rows
    # No usable rows (markup too broken): read "date chamber action" lines instead.
    line_pattern = re.compile(r"^(\d{1,2}/\d{1,2}/\d{4})\s*\|?\s*(House|Senate|\w+)\s*\|?\s*(.+)$")
    for line in _section_lines(start, stop):
        match = line_pattern.match(line)
        if match:
            rows.append((match.group(1), match.group(2), match.group(3)))
    return rows


def _soup_for_status(text: str) -> BeautifulSoup:
    soup = BeautifulSoup(text, "lxml")
    found = _section(_headings(soup), "actions")
    if found is None or not _action_rows(*found):
        other = BeautifulSoup(text, "html.parser")
        other_found = _section(_headings(other), "actions")
        if other_found is not None and _action_rows(*other_found):
            return other
    return soup


def parse_bill_status_html(body: bytes, url: str = "") -> BillStatus:
    """Read an ILGA bill status page, keyed on its heading text rather than CSS classes."""
    text, decode_notes = decode(body, "")
    notes = list(decode_notes)
    soup = _soup_for_status(text)
    main = soup.select_one("#copyable-content") or soup.body or soup
    headings = _headings(soup)

    title_text = clean_line(soup.title.get_text(" ")) if soup.title else ""
    number = bill_number(title_text) or bill_from_url(url)
    if not number:
        for heading in soup.find_all(["h1", "h2", "h3"]):
            number = bill_number(clean_line(heading.get_text(" ")))
            if number:
                break
    if not number:
        number = bill_number(clean_line(main.get_text(" "))[:3000])

    short = ""
    main_lines = _node_lines(main.descendants)
    for line in main_lines[:200]:
        match = re.match(r"^Short Description:?\s*(.+)$", line, re.IGNORECASE)
        if match:
            short = match.group(1)
            break
    sponsor_parts: list[str] = []
    for line in main_lines[:200]:
        match = re.match(r"^(?:Senate |House |Chief )?Sponsors?:?\s+(.+)$", line, re.IGNORECASE)
        if match:
            sponsor_parts.append(match.group(1))
    found_sponsors = _section(headings, "sponsor")
    if found_sponsors is not None and not sponsor_parts:
        sponsor_parts = _section_lines(*found_sponsors)
    sponsors = normalise_sponsors(", ".join(sponsor_parts))

    actions: list[BillAction] = []
    found = _section(headings, "actions")
    if found is not None:
        for when, chamber, action in _action_rows(*found):
            day = parse_date(when)
            if day is None:
                notes.append(f"skipped action with unreadable date {when!r}")
                continue
            actions.append(BillAction(day, chamber, action))

    last_action: BillAction | None = None
    found = _section(headings, "last action")
    if found is not None:
        rows = _action_rows(*found)
        if rows:
            day = parse_date(rows[-1][0])
            if day is not None:
                last_action = BillAction(day, rows[-1][1], rows[-1][2])
    if last_action is None and actions:
        last_action = actions[-1]

    statutes: list[str] = []
    found = _section(headings, "statutes amended")
    if found is not None:
        for node in _between(*found):
            if isinstance(node, Tag) and node.name == "a":
                match = _STATUTE.search(clean_line(node.get_text(" ")))
                if match:
                    statutes.append(match.group(0))
        if not statutes:
            statutes = [m.group(0) for m in _STATUTE.finditer(" ".join(_section_lines(*found)))]

    synopses: list[tuple[str, str]] = []
    for index, heading in enumerate(headings):
        label = clean_line(heading.get_text(" "))
        if not (label.lower().startswith("synopsis") or _AMENDMENT_HEADING.search(label)):
            continue
        following = [h for h in headings[index + 1 :] if h.name == heading.name]
        body_lines = _section_lines(heading, following[0] if following else None)
        synopses.append((label, " ".join(body_lines)))
    # Amendment synopses sometimes sit under one heading as "<b>Senate Committee Amendment
    # No. 1</b>" followed by its text; keep what the headings gave.

    next_action = ""
    hearing = ""
    for line in main_lines:
        match = re.match(r"^Next Action:?\s*(.+)$", line, re.IGNORECASE)
        if match and not next_action:
            next_action = match.group(1)
        match = re.match(r"^(?:Committee )?Hearing:?\s*(.+)$", line, re.IGNORECASE)
        if match and not hearing:
            hearing = match.group(1)

    return BillStatus(
        bill=number,
        title=short,
        last_action=last_action,
        actions=tuple(actions),
        sponsors=sponsors,
        synopses=tuple(synopses),
        statutes=tuple(dict.fromkeys(statutes)),
        next_action=next_action,
        hearing=hearing,
        notes=tuple(dict.fromkeys(notes)),
        shell_rewrite=is_shell_rewrite(synopses),
    )


def looks_like_bill_status_html(text: str, url: str = "") -> bool:
    if re.search(r"/billstatus/html/|/billstatus\?", url or "", re.IGNORECASE):
        return True
    head = text[:300000]
    return bool(
        re.search(r"<h2[^>]*>\s*(?:<[^>]+>\s*)*Last Action", head, re.IGNORECASE)
        and re.search(r"<h2[^>]*>\s*(?:<[^>]+>\s*)*Actions", head, re.IGNORECASE)
    )


# --- rendering -------------------------------------------------------------------------


def bill_status_title(status: BillStatus) -> str:
    return " ".join(part for part in (status.bill, status.title) if part)


def _action_line(action: BillAction) -> str:
    return f"{action.date.isoformat()} | {action.chamber} | {action.action}"


def render_bill_status(status: BillStatus) -> str:
    """Stable text for diffing: a new action is one inserted line next to the changed
    "Last action" line, so both land in one hunk."""
    lines = [bill_status_title(status) or "Bill status"]
    if status.sponsors:
        lines.append(f"Sponsors: {status.sponsors}")
    lines.extend(f"Statute amended: {statute}" for statute in status.statutes)
    for title, text in status.synopses:
        if title:
            lines.append(title)
        if text.lower().startswith(SHELL_REWRITE.lower()):
            lines.append("Shell bill rewrite: this amendment replaces the whole bill")
        if text:
            lines.append(text)
    lines.append("Actions:")
    lines.extend(_action_line(action) for action in status.actions)
    if status.last_action is not None:
        last = status.last_action
        lines.append(f"Last action: {last.date.isoformat()} {last.chamber} {last.action}")
    if status.next_action:
        lines.append(f"Next action: {status.next_action}")
    if status.hearing:
        lines.append(f"Hearing: {status.hearing}")
    return "\n".join(line for line in map(clean_line, lines) if line)


def extract_bill_status_xml(body: bytes, url: str = "") -> Extracted:
    status = parse_bill_status_xml(body, url)
    return Extracted(
        text=render_bill_status(status),
        title=bill_status_title(status),
        kind="xml",
        notes=status.notes,
    )


def extract_xml(body: bytes, url: str = "") -> Extracted:
    """Any XML: bill status gets its own rendering, other XML one line per text element."""
    root, notes = _xml_root(body)
    if root.find("lastaction") is not None or root.find("actions") is not None:
        return extract_bill_status_xml(body, url)
    lines: list[str] = []
    for element in root.iter():
        name = _local(element.tag)
        if not name:
            continue
        own = clean_line(element.text or "")
        if own:
            lines.append(own)
        tail = clean_line(element.tail or "")
        if tail and element is not root:
            lines.append(tail)
    title = _text(root.find(".//title"))
    return Extracted(text="\n".join(lines), title=title, kind="xml", notes=notes)


# --- IIS directory listings ------------------------------------------------------------

_IIS_LINE = re.compile(
    r"(?P<when>\S.*?\d{1,2}:\d{2}(?::\d{2})?\s*(?:[AP]M)?)\s+(?P<size><dir>|\d+)\s*$", re.IGNORECASE
)
_IIS_TIME_FORMATS = (
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%A, %B %d, %Y %I:%M %p",
    "%A, %B %d, %Y %H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
)


def looks_like_iis_listing(text: str) -> bool:
    head = text[:20000]
    if not re.search(r"<pre\b", head, re.IGNORECASE):
        return False
    return "[To Parent Directory]" in head or bool(
        re.search(r"\d{1,2}:\d{2}\s*[AP]M\s+(?:&lt;dir&gt;|\d+)\s*<a\s", head, re.IGNORECASE)
    )


def _listing_time(value: str) -> datetime | None:
    value = clean_line(value)
    for fmt in _IIS_TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def parse_iis_listing(body: bytes, base_url: str) -> list[ListingEntry]:
    """Entries of an ftp.ilga.gov IIS ``<pre>`` directory listing, in listing order."""
    text, _ = decode(body, "")
    soup = BeautifulSoup(text, "html.parser")  # the listing is one flat <pre>; keep it flat
    entries: list[ListingEntry] = []
    for pre in soup.find_all("pre"):
        pending: list[str] = []
        for node in pre.descendants:
            if isinstance(node, Tag) and node.name == "br":
                pending = []
            elif isinstance(node, Tag) and node.name == "a":
                name = clean_line(node.get_text(" "))
                href = str(node.get("href") or "")
                info = clean_line("".join(pending).rsplit("\n", 1)[-1])
                pending = []
                if not href or name.lower() == "[to parent directory]":
                    continue
                match = _IIS_LINE.search(info)
                modified = _listing_time(match.group("when")) if match else None
                size_text = match.group("size") if match else ""
                is_dir = size_text.lower() == "<dir>" or href.endswith("/")
                size = int(size_text) if size_text.isdigit() else None
                entries.append(
                    ListingEntry(
                        url=urljoin(base_url, href),
                        name=name,
                        modified=modified,
                        size=size,
                        is_dir=is_dir,
                    )
                )
            elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
                if node.parent is not None and node.parent.name == "a":
                    continue
                pending.append(str(node))
    return entries


def extract_listing(body: bytes, url: str = "", content_type: str = "") -> Extracted:
    """A listing's text is its entry names only: timestamps and sizes change nightly."""
    text, notes = decode(body, content_type)
    entries = parse_iis_listing(body, url)
    soup = BeautifulSoup(text, "html.parser")
    title = clean_line(soup.title.get_text(" ")) if soup.title else ""
    if not title and soup.h1 is not None:
        title = clean_line(soup.h1.get_text(" "))
    names = [
        entry.name + ("/" if entry.is_dir and not entry.name.endswith("/") else "")
        for entry in entries
    ]
    return Extracted(text="\n".join(names), title=title, kind="listing", notes=notes)
