"""One alert as a Slack message: fallback ``text`` plus Block Kit ``blocks``, within Slack's
limits, and the same message as terminal text (no token, the demo).

Scraped text is untrusted: in mrkdwn it is escaped (``&``, ``<``, ``>``), so ``<!channel>``
or ``<@U123>`` in a document shows as text and pings nobody; formatting characters are
defused, and excerpts sit in code blocks where ``*``, ``_`` and ``~`` mean nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from trustwatch.config import Config
from trustwatch.diff import Diff, Hunk, from_json
from trustwatch.storage import Alert, Change, Document, Source

# Slack's documented limits (https://api.slack.com/reference/block-kit/blocks)
HEADER_CHARS = 150
SECTION_CHARS = 3000  # section text must stay strictly below this
CONTEXT_ELEMENTS = 10
MAX_BLOCKS = 50
FALLBACK_CHARS = 3000  # `text` may be 40,000; notifications show far less

EXCERPT_CHARS = 900  # per inserted/deleted excerpt before it is cut with a note
MAX_HUNKS = 6  # changed passages shown; the rest are counted and left to the archive
MAX_TERMS = 25

# kind -> (emoji, heading word, what happened in one line)
KINDS: dict[str, tuple[str, str, str]] = {
    "new": (":new:", "New document", "A new document appeared"),
    "changed": (":pencil2:", "Changed", "The text changed"),
    "removed": (":wastebasket:", "Removed", "Gone on two consecutive runs"),
    "baseline": (":eyes:", "Now watching", "First crawl stored as the baseline"),
    "health": (":warning:", "Problem", "A source needs attention"),
    "recovered": (":white_check_mark:", "Recovered", "A source is healthy again"),
    "heartbeat": (":heartbeat:", "Heartbeat", "Daily all-quiet check"),
}
SIDES = {"inserted": "added", "deleted": "removed", "text": "mentions"}

_MENTION_WORDS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_OPENERS = re.compile(r"(^|[\s(\[{\"'])([*_~])")
_ZWSP = "\u200b"


def escape(text: str) -> str:
    """Slack's three control characters, and bare @channel/@here words, made inert."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION_WORDS.sub(lambda m: "@" + _ZWSP + m.group(1), text)


def escape_mrkdwn(text: str) -> str:
    """Escape, then defuse formatting: a zero-width space after an opening ``*``, ``_`` or
    ``~`` stops Slack from starting bold/italic/strike; backticks become a look-alike so an
    odd one cannot swallow the rest of the message into code."""
    text = escape(text).replace("`", "\u02cb")
    return _OPENERS.sub(lambda m: m.group(1) + m.group(2) + _ZWSP, text)


def escape_code(text: str) -> str:
    """For text inside a ``` block: only backticks can end it early."""
    return escape(text).replace("`", "\u02cb")


def link_label(text: str) -> str:
    """Text of a ``<url|label>`` link: escaped, defused, no ``|`` (it ends the URL part)."""
    return escape_mrkdwn(text).replace("|", "\u2223")


def link_url(url: str) -> str:
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def cut(text: str, limit: int, note: str = "") -> str:
    """At most ``limit`` characters, cut at a word where possible, with a note saying so."""
    if len(text) <= limit:
        return text
    room = max(0, limit - len(note) - 2)
    head = text[:room]
    if " " in head[room // 2:]:
        head = head[: head.rfind(" ")]
    return head.rstrip() + "…" + (" " + note if note else "")


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class AlertFacts:
    """Everything a message needs, read in one session."""

    alert_id: int
    alert_kind: str  # change | baseline | health | recovered
    kind: str  # new | changed | removed | baseline | health | recovered
    title: str
    body: str = ""
    source_slug: str = ""
    source_name: str = ""
    url: str = ""
    change_id: int | None = None
    detected_at: datetime | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    diff: Diff | None = None
    summary: str = ""
    archive_url: str = ""
    timezone: str = "America/Chicago"
    reply: bool = False  # a later alert in the document's thread


def load_facts(s: Session, alert: Alert, config: Config, *, reply: bool = False) -> AlertFacts:
    src = s.get(Source, alert.source_id) if alert.source_id else None
    slug = src.slug if src else ""
    name = config.sources[slug].name if slug in config.sources else slug.upper()
    common: dict[str, Any] = {"alert_id": alert.id, "alert_kind": alert.kind,
                              "source_slug": slug, "source_name": name,
                              "archive_url": config.archive_url, "timezone": config.timezone,
                              "reply": reply, "body": alert.body}
    ch = s.get(Change, alert.change_id) if alert.change_id else None
    if ch is None:
        kind = alert.kind if alert.kind in KINDS else "health"
        if kind == "health" and alert.title.startswith("trustwatch heartbeat"):
            kind = "heartbeat"  # the scheduler's daily message is not a problem
        return AlertFacts(kind=kind, title=alert.title or name, detected_at=alert.created_at,
                          **common)
    doc = s.get(Document, ch.document_id)
    if src is None and doc is not None:
        src = s.get(Source, doc.source_id)
        slug = src.slug if src else ""
        common["source_slug"] = slug
        common["source_name"] = config.sources[slug].name if slug in config.sources else slug
    diff = None
    if ch.diff:
        try:
            diff = from_json(ch.diff)
        except ValueError:
            diff = None
    return AlertFacts(kind=ch.kind if ch.kind in KINDS else "changed",
                      title=(doc.title if doc else "") or alert.title or (doc.url if doc else ""),
                      url=doc.url if doc else "", change_id=ch.id, detected_at=ch.detected_at,
                      matches=list(ch.matches or []), diff=diff, summary=ch.summary, **common)


# -- blocks -----------------------------------------------------------------------------------

def _header(text: str) -> dict[str, Any]:
    return {"type": "header",
            "text": {"type": "plain_text", "text": cut(text, HEADER_CHARS), "emoji": True}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section",
            "text": {"type": "mrkdwn", "text": cut(mrkdwn, SECTION_CHARS - 1)}}


def _context(*parts: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(p, SECTION_CHARS - 1)}
                                            for p in parts[:CONTEXT_ELEMENTS] if p]}


def _labels(f: AlertFacts) -> list[str]:
    seen: dict[str, None] = {}
    if f.diff is not None:
        for h in f.diff.hunks:
            if h.label:
                seen.setdefault(h.label)
    for m in f.matches:
        if m.get("label"):
            seen.setdefault(str(m["label"]))
    return list(seen)


def _terms_section(f: AlertFacts) -> str:
    order: dict[tuple[str, str], list[str]] = {}
    for m in f.matches:
        key = (str(m.get("term", "")), str(m.get("side", "")))
        where = order.setdefault(key, [])
        label = str(m.get("label") or "")
        if label and label not in where:
            where.append(label)
    lines = []
    for (term, side), where in list(order.items())[:MAX_TERMS]:
        shown = ", ".join(where[:3]) + (", …" if len(where) > 3 else "")
        lines.append(f"• *{escape_mrkdwn(term)}* {SIDES.get(side, escape(side))}"
                     + (f" ({escape_mrkdwn(shown)})" if shown else ""))
    more = len(order) - MAX_TERMS
    if more > 0:
        lines.append(f"… and {more} more terms")
    text = "*Matched terms*\n" + "\n".join(lines)
    if len(text) >= SECTION_CHARS:
        text = cut(text, SECTION_CHARS - 40, "(more terms in the archive)")
    return text


def _code(label: str, text: str, budget: int) -> str:
    """``*Added*`` + a code block, cut to ``budget`` characters of excerpt with a note."""
    flat = " ".join(text.split())
    limit = min(EXCERPT_CHARS, budget)
    while True:  # escaping can grow text (& -> &amp;): shrink until the escaped form fits
        shown = escape_code(cut(flat, limit, f"[cut: {len(flat):,} characters in all]"))
        if len(shown) <= budget or limit < 50:
            return f"*{label}*\n```{shown}```"
        limit = limit * budget // len(shown) - 10


def _hunk_sections(f: AlertFacts) -> tuple[list[str], int]:
    """Sections for the changed passages worth reading first (those with matched terms)."""
    assert f.diff is not None
    terms = [str(m.get("term", "")).lower() for m in f.matches if m.get("term")]

    def matters(h: Hunk) -> bool:
        both = (h.inserted + " " + h.deleted).lower()
        return any(t in both for t in terms)

    hunks = [h for h in f.diff.hunks if h.inserted.strip() or h.deleted.strip()]
    ranked = sorted(range(len(hunks)), key=lambda i: (not matters(hunks[i]), i))[:MAX_HUNKS]
    out = []
    for i in sorted(ranked):
        h = hunks[i]
        head = f"*{escape_mrkdwn(h.label)}*" if h.label else f"*Line {h.new_line}*"
        if h.moved:
            head += " (moved)"
        parts = [head]
        # escaping can grow text (& -> &amp;); keep each excerpt well inside the section
        budget = (SECTION_CHARS - 300) // (2 if h.inserted.strip() and h.deleted.strip() else 1)
        if h.inserted.strip():
            parts.append(_code("Added", h.inserted, budget))
        if h.deleted.strip():
            parts.append(_code("Removed", h.deleted, budget))
        out.append("\n".join(parts))
    return out, len(hunks) - len(ranked)


def _match_excerpts(f: AlertFacts, heading: str) -> str:
    seen: dict[str, None] = {}
    for m in f.matches:
        ex = " ".join(str(m.get("excerpt", "")).split())
        core = ex.strip("… ")[len(ex) // 3: len(ex) // 3 + 40]
        if ex and not any(core in prev for prev in seen):  # skip overlapping windows
            seen.setdefault(ex)
    if not seen:
        return ""
    body = "\n…\n".join(cut(e, 500) for e in list(seen)[:4])
    limit = 2200
    while True:
        shown = escape_code(cut(body, limit, "[cut]"))
        if len(shown) <= 2600 or limit < 50:
            return f"*{heading}*\n```{shown}```"
        limit = limit * 2600 // len(shown) - 10


def _when(f: AlertFacts) -> str:
    if f.detected_at is None:
        return ""
    try:
        local = f.detected_at.astimezone(ZoneInfo(f.timezone))
    except Exception:  # noqa: BLE001 - a bad zone name must not stop an alert
        local = f.detected_at
    return local.strftime("%Y-%m-%d %H:%M %Z")


def permalink(f: AlertFacts) -> str:
    if not (f.archive_url and f.change_id):
        return ""
    return f"{f.archive_url.rstrip('/')}/changes/{f.change_id}.html"


def build_message(f: AlertFacts) -> Message:
    emoji, word, line = KINDS[f.kind]
    blocks: list[dict[str, Any]] = []
    if f.change_id is None:  # baseline summaries and health problems/recoveries
        title = f.title if f.kind in ("baseline", "heartbeat") else f"{word}: {f.title}"
        blocks.append(_header(f"{emoji} {title}"))
        lead = f"*{line}*" + (f" · {escape_mrkdwn(f.source_name)}" if f.source_name else "")
        blocks.append(_section(lead + (f"\n{escape_mrkdwn(f.body)}" if f.body else "")))
        blocks.append(_context(f"trustwatch · alert {f.alert_id}" +
                               (f" · {_when(f)}" if _when(f) else "")))
        text = f"{word}: {f.title}" + (f" — {f.body}" if f.body else "")
        return Message(text=escape(cut(text, FALLBACK_CHARS // 2)), blocks=blocks)

    again = " again" if f.reply and f.kind == "changed" else ""
    head = f"{emoji} {word}{again}: {f.title}"
    blocks.append(_header(head))
    linked = f"<{link_url(f.url)}|{link_label(cut(f.title, 300))}>" if f.url else \
        escape_mrkdwn(f.title)
    what = f"*{word}* · {escape_mrkdwn(f.source_name)} · {linked}"
    labels = _labels(f)
    if labels:
        shown = ", ".join(labels[:12]) + (f" and {len(labels) - 12} more" if len(labels) > 12
                                          else "")
        what += f"\n*Where:* {escape_mrkdwn(shown)}"
    if f.kind == "changed" and f.diff is not None:
        what += f"\n+{f.diff.inserted_words:,} words, −{f.diff.deleted_words:,} words"
    elif f.kind == "removed":
        what += "\nNo longer at its address (gone on two consecutive runs); its last text " \
                "is kept in the archive."
    if f.summary and not f.matches:  # with matches, the terms section says it better
        what += f"\n_{escape_mrkdwn(cut(f.summary, 600))}_"
    blocks.append(_section(what))
    if f.matches:
        blocks.append(_section(_terms_section(f)))
    if f.kind == "changed" and f.diff is not None:
        sections, more = _hunk_sections(f)
        for sec in sections:
            blocks.append(_section(sec))
        notes = []
        if more > 0:
            notes.append(f"{more} more changed passage{'s' if more != 1 else ''} not shown")
        if f.diff.note:
            notes.append(escape_mrkdwn(f.diff.note))
        if notes:
            blocks.append(_context("; ".join(notes)))
    elif f.kind == "new":
        ex = _match_excerpts(f, "What it says")
        if ex:
            blocks.append(_section(ex))
    elif f.kind == "removed":
        ex = _match_excerpts(f, "What it said")
        if ex:
            blocks.append(_section(ex))
    link = permalink(f)
    if link:
        blocks.append(_section(f":mag: <{link_url(link)}|Open the diff in the archive>"))
    blocks.append(_context(f"trustwatch · change {f.change_id}" +
                           (f" · {_when(f)}" if _when(f) else "") +
                           f" · `trustwatch diff {f.change_id}`"))
    if len(blocks) > MAX_BLOCKS:  # cannot happen with the caps above; kept as a guard
        blocks = blocks[: MAX_BLOCKS - 1] + [blocks[-1]]
    text = f"{word} ({f.source_name}): {f.title}" + (f" {f.url}" if f.url else "")
    if f.summary:
        text += f" — {f.summary}"
    return Message(text=escape(cut(text, FALLBACK_CHARS // 2)), blocks=blocks)


# -- checks and terminal rendering ------------------------------------------------------------

def limit_problems(msg: Message) -> list[str]:
    """Every way a message breaks Slack's Block Kit limits (empty: fine)."""
    problems = []
    if len(msg.blocks) > MAX_BLOCKS:
        problems.append(f"{len(msg.blocks)} blocks (max {MAX_BLOCKS})")
    if not msg.text or len(msg.text) > 40000:
        problems.append("fallback text empty or over 40,000 characters")
    for i, b in enumerate(msg.blocks):
        t = b.get("type")
        if t == "header":
            txt = b["text"]
            if txt["type"] != "plain_text" or not 0 < len(txt["text"]) <= HEADER_CHARS:
                problems.append(f"block {i}: header must be plain_text of 1–{HEADER_CHARS}")
        elif t == "section":
            n = len(b["text"]["text"])
            if not 0 < n < SECTION_CHARS:
                problems.append(f"block {i}: section text {n} characters (must be < 3,000)")
        elif t == "context":
            els = b.get("elements", [])
            if not 0 < len(els) <= CONTEXT_ELEMENTS:
                problems.append(f"block {i}: context with {len(els)} elements")
            for e in els:
                if not 0 < len(e.get("text", "")) < SECTION_CHARS:
                    problems.append(f"block {i}: context text too long or empty")
        else:
            problems.append(f"block {i}: unexpected type {t!r}")
    return problems


_LINK = re.compile(r"<([^|<>]+)\|([^<>]*)>")


_OWN_BOLD = re.compile(r"\*(?!\u200b)([^*\n]+)\*")  # ours; defused ones carry a ZWSP
_OWN_ITALIC = re.compile(r"(?m)^_(?!\u200b)(.+)_$")


def mrkdwn_to_text(text: str) -> str:
    """What a reader sees: links as ``label (url)``, our emphasis dropped, entities and
    defusing undone."""
    parts = text.split("```")  # odd parts are code: shown as they are
    for i in range(0, len(parts), 2):
        plain = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", parts[i])
        parts[i] = _OWN_ITALIC.sub(r"\1", _OWN_BOLD.sub(r"\1", plain))
    text = "\n".join(parts).replace(_ZWSP, "").replace("\u2223", "|")
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return "\n".join(line for line in text.split("\n") if line.strip())


_EMOJI = {":new:": "[new]", ":pencil2:": "[changed]", ":wastebasket:": "[removed]",
          ":eyes:": "[baseline]", ":warning:": "[!]", ":white_check_mark:": "[ok]", ":heartbeat:": "[heartbeat]",
          ":mag:": "->"}


def render_text(msg: Message, *, width: int = 78) -> str:
    """The Block Kit message as terminal text, block by block."""
    out: list[str] = []
    for b in msg.blocks:
        t = b.get("type")
        if t == "header":
            head = b["text"]["text"]
            for k, v in _EMOJI.items():
                head = head.replace(k, v)
            out += [head, "=" * min(width, len(head))]
        elif t == "section":
            body = mrkdwn_to_text(b["text"]["text"])
            for k, v in _EMOJI.items():
                body = body.replace(k, v)
            out += ["  " + line for line in body.split("\n")]
        elif t == "context":
            out.append("  " + " | ".join(mrkdwn_to_text(e.get("text", ""))
                                         for e in b.get("elements", [])))
    return "\n".join(out)
