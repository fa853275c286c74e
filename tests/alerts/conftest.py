"""Outbox rows written through Storage sessions, a fake Slack, and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.alerts.slack_fake import TOKEN, FakeSlack
from trustwatch.config import Config, parse_config
from trustwatch.diff import diff_texts, to_json
from trustwatch.storage import Alert, Change, Document, Source, Storage, utcnow
from trustwatch.storage.models import thread_key


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    st = Storage.open(db_url)
    yield st
    st.close()


@pytest.fixture
def config() -> Config:
    return parse_config({"trustwatch": {"database": "sqlite://",
                                        "archive_url": "https://news.example.org/trustwatch"},
                         "alerts": {"slack_channel": "#trust-act-watch"},
                         "sources": {"isp": {}, "ag": {}}})


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TRUSTWATCH_SLACK_API_URL", fake.url)
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short client timeouts and in-run pauses so fault tests run in seconds."""
    import trustwatch.alerts.slack as slack_mod

    monkeypatch.setattr(slack_mod, "TIMEOUT", 2)


MATCHES = [{"group": "immigration_agencies", "term": "ERO", "side": "inserted",
            "label": "p. 3", "excerpt": "an agreement with ERO for LEADS access"}]


def add_alert(storage: Storage, doc: str = "https://isp.illinois.gov/LEADS/a.pdf", *,
              kind: str = "changed", title: str = "LEADS Agreement",
              old: str = "LEADS access is limited.\nSection 2. Nothing.",
              new: str = "LEADS access is limited.\nSection 2. ERO may query LEADS.",
              matches: list[dict[str, Any]] | None = None, slug: str = "isp") -> int:
    """One Change and its Alert (as the pipeline writes them); returns the alert id."""
    with storage.session() as s:
        src = Storage.source_row(s, slug, slug)
        d = Storage.find_document(s, src.id, doc)
        now = utcnow()
        if d is None:
            d = Document(source_id=src.id, url=doc, role="document", title=title,
                         first_seen=now, last_seen=now, meta={})
            s.add(d)
            s.flush()
        diff = to_json(diff_texts(old, new)) if kind == "changed" else None
        ch = Change(document_id=d.id, detected_at=now, kind=kind, relevant=True,
                    matches=MATCHES if matches is None else matches, diff=diff,
                    summary="added 'ERO' (p. 3)")
        s.add(ch)
        s.flush()
        a = Alert(change_id=ch.id, document_id=d.id, source_id=src.id, kind="change",
                  title=title, created_at=now, channel="#trust-act-watch", status="pending",
                  thread_key=thread_key(d))
        s.add(a)
        s.flush()
        return a.id


def add_source_alert(storage: Storage, kind: str, title: str, body: str,
                     slug: str = "isp") -> int:
    with storage.session() as s:
        src = Storage.source_row(s, slug, slug)
        a = Alert(kind=kind, source_id=src.id, title=title, body=body, created_at=utcnow(),
                  channel="#trust-act-watch", status="pending")
        s.add(a)
        s.flush()
        return a.id


def rows(storage: Storage) -> dict[int, Alert]:
    return {a.id: a for a in storage.alerts()}


__all__ = ["MATCHES", "Source", "add_alert", "add_source_alert", "rows"]
