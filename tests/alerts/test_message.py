"""Block Kit messages: within Slack's limits whatever the documents say, and inert when they
say ``<!channel>``."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.alerts.conftest import MATCHES, add_alert, add_source_alert
from tests.alerts.slack_fake import block_kit_problems
from trustwatch.alerts.console import render_console
from trustwatch.alerts.message import (
    HEADER_CHARS,
    MAX_BLOCKS,
    SECTION_CHARS,
    AlertFacts,
    Message,
    build_message,
    escape,
    escape_mrkdwn,
    limit_problems,
    load_facts,
    render_text,
)
from trustwatch.config import Config
from trustwatch.diff import diff_texts
from trustwatch.storage import Alert, Storage

HOSTILE = "Fees & <b>LEADS</b> > ICE <!channel> <!here> <@U0BOSS> @everyone *urgent* _x_ ~y~ `z` ```"


def message(storage: Storage, config: Config, alert_id: int) -> Message:
    with storage.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert is not None
        return build_message(load_facts(s, alert, config))


def texts(msg: Message) -> list[str]:
    """Fallback text and every mrkdwn text (plain_text headers never parse mentions)."""
    out = [msg.text]
    for b in msg.blocks:
        if "text" in b and b["text"]["type"] == "mrkdwn":
            out.append(b["text"]["text"])
        out += [e["text"] for e in b.get("elements", []) if e["type"] == "mrkdwn"]
    return out


def within_limits(msg: Message) -> None:
    assert limit_problems(msg) == []
    assert block_kit_problems(msg.blocks) == []  # the fake's independent check
    assert 0 < len(msg.blocks) <= MAX_BLOCKS
    for b in msg.blocks:
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= HEADER_CHARS
        if b["type"] == "section":
            assert len(b["text"]["text"]) < SECTION_CHARS
    json.dumps(msg.blocks)


def test_escape() -> None:
    assert escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape("<!channel>") == "&lt;!channel&gt;"
    assert "@channel" not in escape("hey @channel")
    assert "`" not in escape_mrkdwn("`code`")
    assert "*bold" not in escape_mrkdwn("*bold*")  # an opening * no longer opens


@pytest.mark.parametrize("case", ["long", "many_terms", "hostile", "many_hunks"])
def test_blocks_stay_within_limits(storage: Storage, config: Config, case: str) -> None:
    old, new, title, matches = "Section 1. LEADS.", "Section 1. LEADS ERO.", "Agreement", MATCHES
    if case == "long":
        old = "Sec. 5. " + "LEADS & data < sharing > rules. " * 800
        new = "Sec. 5. " + "ERO & ICE <!channel> access `now` *rules*. " * 900
        title = "A " + "very long title " * 40
    elif case == "many_terms":
        matches = [{"group": "g", "term": f"term {i} <&>" * 5, "side": "inserted",
                    "label": f"Sec. {i}" * 10, "excerpt": "x " * 150} for i in range(300)]
    elif case == "hostile":
        old, new, title = "Nothing here.", HOSTILE, HOSTILE
    elif case == "many_hunks":
        keep = " Unchanged text.\nAnother unchanged line.\nA third one."
        old = "\n\n".join(f"Sec. {i}. LEADS rule {i} stays.{keep}" for i in range(200))
        new = "\n\n".join(f"Sec. {i}. LEADS rule {i} changed & <moved>.{keep}"
                          for i in range(200))
    aid = add_alert(storage, old=old, new=new, title=title, matches=matches)
    msg = message(storage, config, aid)
    within_limits(msg)
    joined = "\n".join(texts(msg))
    for raw in ("<!channel>", "<!here>", "<@U0BOSS>", "<b>", "@everyone"):
        assert raw not in joined
    if case == "long":
        assert "[cut:" in joined  # long excerpts are cut with a note
    if case == "many_terms":
        assert "more terms" in joined
    if case == "many_hunks":
        assert "more changed passages not shown" in joined
    if case == "hostile":
        assert "&lt;!channel&gt;" in joined and "&amp;" in joined
        assert not any("`" in t.replace("```", "") for t in texts(msg)[1:3])


def test_kinds_read_differently(storage: Storage, config: Config) -> None:
    doc = "https://ag.illinois.gov/report.pdf"
    new = add_alert(storage, doc, kind="new", title="TRUST Act Report", slug="ag")
    changed = add_alert(storage, doc, kind="changed", title="TRUST Act Report", slug="ag")
    removed = add_alert(storage, doc, kind="removed", title="TRUST Act Report", slug="ag")
    health = add_source_alert(storage, "health", "ISP listing is empty",
                              "https://isp.illinois.gov/LEADS yielded no documents")
    recovered = add_source_alert(storage, "recovered", "ISP listing is back", "12 documents")
    baseline = add_source_alert(storage, "baseline", "ISP: now watching 12 documents",
                                "First crawl stored as the baseline.")
    headers = {}
    for aid in (new, changed, removed, health, recovered, baseline):
        msg = message(storage, config, aid)
        within_limits(msg)
        headers[aid] = msg.blocks[0]["text"]["text"]
    assert len(set(headers.values())) == 6
    assert headers[new].startswith(":new: New document")
    assert headers[removed].startswith(":wastebasket: Removed")
    assert headers[health].startswith(":warning: Problem")
    assert headers[recovered].startswith(":white_check_mark: Recovered")
    what = message(storage, config, new).blocks[1]["text"]["text"]
    assert "<https://ag.illinois.gov/report.pdf|TRUST Act Report>" in what
    assert "Illinois Attorney General" in what or "AG" in what
    assert "What it says" in json.dumps(message(storage, config, new).blocks)
    assert "two consecutive runs" in json.dumps(message(storage, config, removed).blocks)


def test_archive_permalink_only_when_configured(storage: Storage, config: Config) -> None:
    aid = add_alert(storage)
    with_link = json.dumps(message(storage, config, aid).blocks)
    assert f"https://news.example.org/trustwatch/changes/{aid}.html" in with_link
    without = json.dumps(message(storage, replace(config, archive_url=""), aid).blocks)
    assert "/changes/" not in without


def test_terminal_rendering_shows_the_slack_message(storage: Storage, config: Config) -> None:
    aid = add_alert(storage, new="LEADS access is limited.\nSection 2. ERO & <ICE> may query.")
    with storage.session() as s:
        alert = s.get(Alert, aid)
    assert alert is not None
    text = render_console(storage, alert, config)
    assert text.splitlines()[0] == "[changed] Changed: LEADS Agreement"
    assert "LEADS Agreement (https://isp.illinois.gov/LEADS/a.pdf)" in text
    assert "ERO & <ICE> may query" in text  # entities undone for the terminal
    assert "Matched terms" in text and "trustwatch diff" in text
    assert "&lt;" not in text


def test_facts_without_diff() -> None:
    f = AlertFacts(alert_id=1, alert_kind="change", kind="changed", title="T", change_id=3,
                   url="https://x.org/a", diff=diff_texts("a", "a b"))
    msg = build_message(f)
    within_limits(msg)
    assert "T" in render_text(msg)


def test_heartbeat_is_not_a_problem(storage: Storage, config: Config) -> None:
    aid = add_source_alert(storage, "health", "trustwatch heartbeat: all quiet, 40 documents "
                           "checked in the last 24 hours", "6 runs since 2026-11-24 09:00 UTC.")
    msg = message(storage, config, aid)
    within_limits(msg)
    assert msg.blocks[0]["text"]["text"].startswith(":heartbeat: trustwatch heartbeat")
