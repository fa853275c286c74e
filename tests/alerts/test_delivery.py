"""Outbox delivery through slack-sdk to a loopback fake Slack, on SQLite and PostgreSQL:
each alert reaches the channel exactly once, in order per document, in the right thread,
whatever Slack or the process does in between."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

import trustwatch.alerts.slack as slack_mod
from tests.alerts.conftest import add_alert, add_source_alert, rows
from tests.alerts.slack_fake import CHANNEL_ID, FakeSlack, Fault
from trustwatch.alerts.slack import deliver_report
from trustwatch.config import Config
from trustwatch.storage import Alert, Document, Storage, utcnow
from trustwatch.storage.models import thread_key

DOC_A = "https://isp.illinois.gov/LEADS/agreement.pdf"
DOC_B = "https://isp.illinois.gov/LEADS/policy.pdf"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fast_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_mod, "POST_PAUSE", 0.05)


def assert_once(slack: FakeSlack, storage: Storage) -> None:
    """Every alert sent, each exactly one message, whose ts the row kept."""
    ids = slack.alert_ids()
    assert sorted(ids) == sorted(set(ids)), f"duplicate posts: {ids}"
    by_id = {int(m["metadata"]["event_payload"]["alert_id"]): m for m in slack.messages}
    for a in storage.alerts():
        assert a.status == "sent", (a.id, a.status, a.last_error)
        assert by_id[a.id]["ts"] == a.slack_ts
        assert a.channel_id == CHANNEL_ID
    assert len(ids) == len(storage.alerts())


def assert_threads(slack: FakeSlack, storage: Storage) -> None:
    """Per document: messages in alert order; the first top-level, the rest in its thread."""
    by_doc: dict[int, list[Alert]] = {}
    for a in storage.alerts():
        if a.document_id is not None:
            by_doc.setdefault(a.document_id, []).append(a)
    order = {int(m["metadata"]["event_payload"]["alert_id"]): i
             for i, m in enumerate(slack.messages)}
    msgs = {m["ts"]: m for m in slack.messages}
    for alerts in by_doc.values():
        alerts.sort(key=lambda a: a.id)
        assert [order[a.id] for a in alerts] == sorted(order[a.id] for a in alerts)
        first = alerts[0]
        assert first.thread_ts == "" and msgs[first.slack_ts]["thread_ts"] == ""
        for later in alerts[1:]:
            assert later.thread_ts == first.slack_ts
            assert msgs[later.slack_ts]["thread_ts"] == first.slack_ts


def test_happy_path(storage: Storage, config: Config, slack: FakeSlack) -> None:
    a1 = add_alert(storage, DOC_A)
    b1 = add_alert(storage, DOC_B, title="LEADS Policy")
    a2 = add_alert(storage, DOC_A, new="LEADS access is limited.\nSection 2. HSI may query.")
    base = add_source_alert(storage, "baseline", "AG: now watching 7 documents",
                            "First crawl stored as the baseline.", slug="ag")
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 4 and report.pending == 0
    assert report.line == "alerts: 4 sent to Slack"
    assert slack.alert_ids() == [a1, b1, a2, base]
    assert_once(slack, storage)
    assert_threads(slack, storage)
    post = slack.calls("chat.postMessage")[0].params
    assert post["channel"] == CHANNEL_ID  # resolved once, so history checks can use it
    assert post["metadata"]["event_type"] == "trustwatch_alert"
    assert post["metadata"]["event_payload"]["alert_id"] == a1
    for word in ("Changed", "Illinois State Police", "LEADS Agreement", DOC_A):
        assert word in post["text"]
    assert rows(storage)[a1].sent_at is not None
    # a second run has nothing to do and posts nothing
    assert deliver_report(config, storage).sent == 0
    assert len(slack.messages) == 4


def test_rate_limit_retry_after_is_honoured(storage: Storage, config: Config,
                                            slack: FakeSlack) -> None:
    add_alert(storage, DOC_A)
    slack.faults.append(Fault("429", retry_after=1))
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 1
    posts = slack.calls("chat.postMessage")
    assert [p.status for p in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 1.0  # slack-sdk waited Retry-After
    assert_once(slack, storage)


def test_long_retry_after_ends_the_run_and_sets_the_next_try(
        storage: Storage, config: Config, slack: FakeSlack) -> None:
    aid = add_alert(storage, DOC_A)
    slack.faults.append(Fault("429", retry_after=120))
    report = deliver_report(config, storage)
    assert not report.ok and "rate limited" in report.line and report.pending == 1
    a = rows(storage)[aid]
    assert a.status == "pending" and a.post_started_at is None  # a 429 posted nothing
    assert a.next_attempt_at is not None and a.next_attempt_at >= utcnow() + timedelta(seconds=110)
    assert slack.messages == []
    assert deliver_report(config, storage).sent == 0  # still backing off
    report = deliver_report(config, storage, force=True)  # `alerts retry`
    assert report.sent == 1
    assert_once(slack, storage)


def test_server_errors_then_ok(storage: Storage, config: Config, slack: FakeSlack) -> None:
    add_alert(storage, DOC_A)
    slack.faults.extend([Fault("500"), Fault("500")])  # Slack did nothing, twice
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 1
    assert [p.status for p in slack.calls("chat.postMessage")] == [500, 500, 200]
    # before each re-post it looked for the first attempt's message in the channel
    assert len(slack.calls("conversations.history")) == 2
    assert_once(slack, storage)


def test_server_error_after_posting_is_not_posted_twice(
        storage: Storage, config: Config, slack: FakeSlack) -> None:
    add_alert(storage, DOC_A)
    slack.faults.append(Fault("500", posted=True))  # Slack posted, then failed to answer
    report = deliver_report(config, storage)
    assert report.ok and report.recovered == 1 and report.sent == 0
    assert len(slack.calls("chat.postMessage")) == 1
    assert_once(slack, storage)


def test_timeout_does_not_duplicate(storage: Storage, config: Config, slack: FakeSlack,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_mod, "TIMEOUT", 0.5)
    add_alert(storage, DOC_A)
    slack.faults.append(Fault("slow", delay=1.5))  # posts, answers after the client gave up
    start = time.monotonic()
    report = deliver_report(config, storage)
    assert report.ok and report.recovered == 1
    assert time.monotonic() - start < 10
    assert len(slack.calls("chat.postMessage")) == 1
    assert_once(slack, storage)


def test_dropped_connection_does_not_duplicate(storage: Storage, config: Config,
                                               slack: FakeSlack) -> None:
    add_alert(storage, DOC_A)
    slack.faults.append(Fault("drop"))  # posted, connection closed without an answer
    report = deliver_report(config, storage)
    assert report.ok and report.recovered == 1
    assert_once(slack, storage)


def test_slack_down_for_a_whole_run_then_back(storage: Storage, config: Config,
                                              slack: FakeSlack) -> None:
    ids = [add_alert(storage, DOC_A), add_alert(storage, DOC_B), add_alert(storage, DOC_A)]
    slack.stop()
    report = deliver_report(config, storage)
    assert not report.ok and report.pending == 3
    assert report.line.startswith("Slack is unavailable") and "3 alerts kept pending" in \
        report.line
    for a in storage.alerts():
        assert a.status == "pending" and a.attempts == 0 and "unavailable" in a.last_error
    slack.start()  # same port: Slack is back for the next run
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 3
    assert slack.alert_ids() == ids
    assert_once(slack, storage)
    assert_threads(slack, storage)


def test_outage_mid_run_keeps_order_and_backs_off(storage: Storage, config: Config,
                                                  slack: FakeSlack) -> None:
    a1, a2 = add_alert(storage, DOC_A), add_alert(storage, DOC_A)
    b1 = add_alert(storage, DOC_B)
    slack.faults.extend([Fault("500")] * 3)  # every try of a1 in this run fails
    report = deliver_report(config, storage)
    assert not report.ok and report.sent == 0 and report.pending == 3
    first = rows(storage)[a1]
    assert first.attempts == 1 and first.next_attempt_at is not None
    assert first.next_attempt_at > utcnow()
    assert rows(storage)[a2].attempts == 0  # never overtakes a1
    # next scheduled run, after the backoff: everything in order, a2 in a1's thread
    with storage.session() as s:
        s.execute(update(Alert).values(next_attempt_at=None))
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 3
    assert slack.alert_ids() == [a1, a2, b1]
    assert_once(slack, storage)
    assert_threads(slack, storage)


def test_invalid_token(storage: Storage, config: Config, slack: FakeSlack,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    for _ in range(3):
        add_alert(storage, DOC_A)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    report = deliver_report(config, storage)
    assert not report.ok
    assert report.line == "Slack rejected the token (invalid_auth): 3 alerts kept pending"
    assert slack.calls("chat.postMessage") == []
    for a in storage.alerts():
        assert (a.status, a.attempts) == ("pending", 0)
        assert a.last_error == "Slack rejected the token (invalid_auth)"


def test_channel_not_found_keeps_alerts(storage: Storage, config: Config, slack: FakeSlack) -> None:
    from dataclasses import replace

    add_alert(storage, DOC_A)
    report = deliver_report(replace(config, slack_channel="#nowhere"), storage)
    assert not report.ok and "channel_not_found" in report.line
    assert [a.status for a in storage.alerts()] == ["pending"]


def test_message_slack_rejects_is_failed_and_others_go_on(
        storage: Storage, config: Config, slack: FakeSlack) -> None:
    bad, good = add_alert(storage, DOC_A), add_alert(storage, DOC_B)
    slack.faults.append(Fault("error", error="invalid_blocks"))
    report = deliver_report(config, storage)
    assert report.sent == 1 and report.failed == 1 and not report.ok
    assert rows(storage)[bad].status == "failed"
    assert "invalid_blocks" in rows(storage)[bad].last_error
    assert rows(storage)[good].status == "sent"


def test_interrupt_between_post_and_commit(storage: Storage, config: Config,
                                           slack: FakeSlack,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    add_alert(storage, DOC_A)
    a2 = add_alert(storage, DOC_A)
    real = slack_mod._mark_sent

    def dies_on_a2(st: Storage, claimed: slack_mod.Claimed, *args: object) -> None:
        if claimed.id == a2:
            raise KeyboardInterrupt("killed after Slack answered, before the commit")
        real(st, claimed, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(slack_mod, "_mark_sent", dies_on_a2)
    with pytest.raises(KeyboardInterrupt):
        deliver_report(config, storage)
    assert len(slack.messages) == 2  # Slack has both
    half = rows(storage)[a2]
    assert half.status == "pending" and half.post_started_at is not None
    monkeypatch.setattr(slack_mod, "_mark_sent", real)
    report = deliver_report(config, storage)
    assert report.recovered == 1 and report.sent == 0
    assert len(slack.messages) == 2
    # a2 was a thread reply: it was found among the thread's replies
    assert slack.calls("conversations.replies")
    assert_once(slack, storage)
    assert_threads(slack, storage)


def test_process_killed_between_post_and_commit(storage: Storage, config: Config,
                                                slack: FakeSlack, db_url: str) -> None:
    """A real kill (os._exit) right after Slack's ok; the next run must not re-post."""
    aid = add_alert(storage, DOC_A)
    script = textwrap.dedent(f"""
        import os
        import trustwatch.alerts.slack as m
        from trustwatch.config import parse_config
        from trustwatch.storage import Storage
        m._mark_sent = lambda *a, **k: os._exit(137)
        cfg = parse_config({{"trustwatch": {{"database": "sqlite://"}}, "sources": {{"isp": {{}}}}}})
        m.deliver_report(cfg, Storage.open({db_url!r}))
        """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 137, proc.stderr
    assert len(slack.messages) == 1
    a = rows(storage)[aid]
    assert a.status == "pending" and a.claimed_by and a.post_started_at is not None
    # its lease still holds: another worker leaves it alone …
    assert deliver_report(config, storage).sent == 0
    assert len(slack.messages) == 1
    # … until the lease runs out (time passes), then it is found in Slack, not re-posted
    with storage.session() as s:
        s.execute(update(Alert).values(claimed_until=utcnow() - timedelta(seconds=1)))
    report = deliver_report(config, storage)
    assert report.recovered == 1
    assert_once(slack, storage)


@pytest.mark.parametrize("workers", [4])
def test_several_workers_deliver_each_alert_once(db_url: str, config: Config,
                                                 slack: FakeSlack, workers: int) -> None:
    setup = Storage.open(db_url)
    docs = [f"https://isp.illinois.gov/LEADS/{n}.pdf" for n in range(4)]
    for round_ in range(4):
        for d in docs:
            add_alert(setup, d, new=f"LEADS access is limited.\nSection 2. ERO rule {round_}.")
    setup.close()
    slack.post_delay = 0.02  # long enough for the workers to interleave
    reports: list[slack_mod.Report] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:  # schema already migrated above (Alembic is not thread-safe)
            st = Storage.open(db_url, migrate_schema=False)
            try:
                reports.append(deliver_report(config, st, worker=f"worker-{n}"))
            finally:
                st.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(r.sent + r.recovered for r in reports) == 16
    check = Storage.open(db_url)
    try:
        assert_once(slack, check)
        assert_threads(slack, check)
        assert {a.attempts for a in check.alerts()} == {1}
    finally:
        check.close()
    assert len(reports) == workers
    assert len([r for r in reports if r.sent]) >= 2, "one worker did everything"


def test_pipeline_outbox_to_slack(storage: Storage, config: Config, slack: FakeSlack) -> None:
    """Alerts as the pipeline writes them: a baseline summary, then changes in one thread."""
    from tests.storage.test_pipeline_storage import DOC, page, run

    run(storage, {DOC: page("<p>The LEADS Security Policy applies.</p>")})
    run(storage, {DOC: page("<p>The LEADS Security Policy applies to ICE.</p>")})
    run(storage, {DOC: page("<p>The LEADS Security Policy applies to ICE and ERO.</p>")})
    kinds = [a.kind for a in storage.alerts()]
    assert kinds[0] == "baseline" and kinds.count("change") >= 2
    report = deliver_report(config, storage)
    assert report.ok and report.sent == len(kinds)
    assert_once(slack, storage)
    assert_threads(slack, storage)
    texts = [m["text"] for m in slack.messages]
    assert texts[0].startswith("Now watching") and texts[1].startswith("Changed")


def test_deleted_thread_parent_posts_at_top_level(storage: Storage, config: Config,
                                                  slack: FakeSlack) -> None:
    first = add_alert(storage, DOC_A)
    assert deliver_report(config, storage).sent == 1
    slack.messages.clear()  # an editor deleted the first message in Slack
    later = add_alert(storage, DOC_A)
    report = deliver_report(config, storage)
    assert report.ok and report.sent == 1
    assert rows(storage)[later].thread_ts == "" and slack.alert_ids() == [later]
    assert rows(storage)[first].status == "sent"


def test_document_health_note_replies_in_the_documents_thread(
        storage: Storage, config: Config, slack: FakeSlack) -> None:
    first = add_alert(storage, DOC_A)
    with storage.session() as s:
        doc_id = s.get(Alert, first).document_id  # type: ignore[union-attr]
        note = Alert(kind="health", source_id=None, document_id=doc_id,
                     title="LEADS Agreement has no text layer", body="scanned PDF?",
                     created_at=utcnow(), channel="#trust-act-watch", status="pending",
                     thread_key=f"document:{doc_id}")
        s.add(note)
        s.flush()
        note_id = note.id
    assert deliver_report(config, storage).sent == 2
    assert rows(storage)[note_id].thread_ts == rows(storage)[first].slack_ts
    header = slack.messages[1]["blocks"][0]["text"]["text"]
    assert header.startswith(":warning: Problem: LEADS Agreement has no text layer")


def test_a_bills_documents_share_one_thread(storage: Storage, config: Config,
                                            slack: FakeSlack) -> None:
    """A new action shows in a bill's status XML and its status page: one story, one
    thread — the second message replies instead of posting again at the top level."""
    xml = "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/10400SB1881.xml"
    html = "https://ftp.ilga.gov/Legislation/104/BillStatus/HTML/10400SB1881.html"
    other = "https://ftp.ilga.gov/Legislation/104/BillStatus/XML/10400HB2706.xml"
    ids = [add_alert(storage, url, slug="ilga", title=url.rsplit("/", 1)[-1])
           for url in (xml, html, other)]
    with storage.session() as s:
        for aid, bill in zip(ids, ("SB1881", "SB1881", "HB2706"), strict=True):
            alert = s.get(Alert, aid)
            assert alert is not None
            doc = s.get(Document, alert.document_id)
            assert doc is not None
            doc.meta = {"bill": bill, "doc": "status_xml"}
            alert.thread_key = thread_key(doc)
    assert deliver_report(config, storage).sent == 3
    r = rows(storage)
    assert r[ids[0]].thread_ts == "" and r[ids[1]].thread_ts == r[ids[0]].slack_ts
    assert r[ids[2]].thread_ts == ""  # another bill: its own thread
