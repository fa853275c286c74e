"""Storage and the pipeline's versioning rules, on SQLite and real PostgreSQL.

Items are fed to StoragePipeline directly (no network): what the spiders would hand it."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from trustwatch.config import parse_config
from trustwatch.items import DocumentItem
from trustwatch.pipelines import StoragePipeline
from trustwatch.storage import Alert, Blob, Change, Check, Document, Storage, Version, sha256

LISTING = "https://isp.illinois.gov/LawEnforcement/LEADS"
DOC = "https://isp.illinois.gov/LawEnforcement/GetFile/aaaa-1111"


def page(body: str) -> bytes:
    return (f"<html><head><title>LEADS</title></head><body><main><h1>LEADS</h1>{body}</main>"
            "<footer>© 2025 Illinois State Police</footer></body></html>").encode()


class Crawl:
    """One run of the pipeline for the source 'isp'."""

    def __init__(self, storage: Storage) -> None:
        config = parse_config({"trustwatch": {"database": "sqlite://"},
                               "sources": {"isp": {}}})
        self.pipeline = StoragePipeline(config, storage)
        self.spider = SimpleNamespace(slug="isp", name="isp")
        self.pipeline.open_spider(self.spider)  # type: ignore[arg-type]

    def feed(self, url: str, body: bytes = b"", *, role: str = "document", status: int = 200,
             links: tuple[str, ...] | None = None, error: str = "", ctype: str = "text/html",
             headers: dict[str, list[str]] | None = None, not_modified: bool = False) -> None:
        self.pipeline.process_item(DocumentItem(
            url=url, source="isp", role=role, fetched_at=datetime.now(UTC),
            final_url=url, status=status, content_type=ctype, body=body,
            headers=headers or {}, links=links, error=error, not_modified=not_modified,
            listing_url="" if role == "listing" else LISTING))

    def close(self) -> Any:
        self.pipeline.close_spider(self.spider)  # type: ignore[arg-type]
        return self.pipeline.state


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    st = Storage.open(db_url)
    yield st
    st.close()


def run(storage: Storage, docs: dict[str, bytes], *, listed: tuple[str, ...] | None = None,
        listing_body: bytes | None = None) -> Any:
    c = Crawl(storage)
    links = tuple(docs) if listed is None else listed
    c.feed(LISTING, listing_body or page("<p>LEADS documents</p>"), role="listing", links=links)
    for url, body in docs.items():
        c.feed(url, body)
    return c.close()


def count(storage: Storage, model: Any, **where: Any) -> int:
    with storage.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def kinds(storage: Storage) -> list[tuple[str, str, bool]]:
    return [(doc.url, ch.kind, ch.baseline)
            for ch, doc, _ in storage.changes(relevant_only=False)]


def test_blobs_are_content_addressed_compressed_and_verified(storage: Storage) -> None:
    data = b"LEADS Security Policy " * 500
    with storage.session() as s:
        digest = Storage.put_blob(s, data)
        assert Storage.put_blob(s, data) == digest  # written once
    assert digest == sha256(data)
    assert storage.blob(digest) == data
    with storage.session() as s:
        blob = s.get(Blob, digest)
        assert blob is not None and blob.compression == "zlib"
        assert len(blob.data) < len(data) and zlib.decompress(blob.data) == data


def test_first_crawl_is_baseline_then_versions_only_on_text_change(storage: Storage) -> None:
    first = run(storage, {DOC: page("<p>The LEADS Security Policy applies.</p>")})
    assert first.baseline and first.counts["new"] == 2
    assert all(b for _, _, b in kinds(storage))  # baseline changes, no per-document alerts
    assert count(storage, Alert, kind="change") == 0
    assert count(storage, Alert, kind="baseline") == 1

    # same text, different noise (footer year): a Check, not a Version
    second = run(storage, {DOC: page("<p>The LEADS Security Policy applies.</p>").replace(
        b"2025", b"2026")})
    assert not second.baseline
    assert second.counts["unchanged"] == 2 and second.counts["changed"] == 0
    assert count(storage, Version) == 2
    # …but the new raw bytes are still kept as evidence
    with storage.session() as s:
        chk = s.scalars(select(Check).where(Check.outcome == "unchanged")).all()
        assert all(c.raw_sha256 for c in chk)
        assert any(b"2026" in Storage.read_blob(s, c.raw_sha256) for c in chk if c.raw_sha256)

    third = run(storage, {DOC: page("<p>The LEADS Security Policy applies to ICE.</p>")})
    assert third.counts["changed"] == 1
    changed = [ch for ch, doc, _ in storage.changes(relevant_only=False) if ch.kind == "changed"]
    assert len(changed) == 1 and changed[0].relevant and not changed[0].baseline
    assert any(m["term"] == "ICE" for m in changed[0].matches)
    assert count(storage, Alert, kind="change") == 1  # outbox row written with the change
    assert count(storage, Version) == 3


def test_not_modified_records_a_check(storage: Storage) -> None:
    run(storage, {DOC: page("<p>LEADS</p>")})
    c = Crawl(storage)
    c.feed(LISTING, page("<p>LEADS documents</p>"), role="listing", links=(DOC,))
    c.feed(DOC, not_modified=True, status=304)
    st = c.close()
    assert st.counts["not_modified"] == 1
    assert count(storage, Check, outcome="not_modified") == 1
    assert count(storage, Version) == 2


def test_validators_are_the_servers_own(storage: Storage) -> None:
    c = Crawl(storage)
    c.feed(LISTING, page("x"), role="listing", links=(DOC,))
    c.feed(DOC, page("<p>LEADS</p>"), headers={"ETag": ['"abc"'],
                                                "Last-Modified": ["Mon, 03 Mar 2025 00:00:00 GMT"]})
    c.close()
    found = storage.validator_map("isp").get(DOC)
    assert found is not None
    assert found.etag == '"abc"' and found.last_modified == "Mon, 03 Mar 2025 00:00:00 GMT"
    assert storage.blob(found.raw_sha256) == page("<p>LEADS</p>")
    assert found.content_type == "text/html"


def test_removal_needs_two_consecutive_runs_gone_from_listing(storage: Storage) -> None:
    other = DOC.replace("aaaa", "bbbb")
    run(storage, {DOC: page("<p>LEADS agreement</p>"), other: page("<p>Other</p>")})
    run(storage, {other: page("<p>Other</p>")})  # DOC off the listing once: not yet removed
    assert [k for _, k, _ in kinds(storage)].count("removed") == 0
    st = run(storage, {other: page("<p>Other</p>")})
    assert st.counts["removed"] == 1
    removed = [(ch, doc) for ch, doc, _ in storage.changes(relevant_only=False)
               if ch.kind == "removed"]
    assert len(removed) == 1 and removed[0][1].url == DOC and removed[0][0].relevant


def test_404_twice_is_removal_but_5xx_and_timeouts_never_are(storage: Storage) -> None:
    flaky = DOC.replace("aaaa", "cccc")
    run(storage, {DOC: page("<p>LEADS</p>"), flaky: page("<p>LEADS form</p>")})
    for _ in range(3):
        c = Crawl(storage)
        c.feed(LISTING, page("<p>LEADS documents</p>"), role="listing", links=(DOC, flaky))
        c.feed(DOC, page("not found"), status=404)
        c.feed(flaky, status=503) if _ % 2 else c.feed(flaky, error="timeout")
        c.close()
    removed = [doc.url for ch, doc, _ in storage.changes(relevant_only=False)
               if ch.kind == "removed"]
    assert removed == [DOC]
    assert count(storage, Check, outcome="failed") == 3


def test_failed_listing_never_counts_documents_missing(storage: Storage) -> None:
    run(storage, {DOC: page("<p>LEADS</p>")})
    for _ in range(3):
        c = Crawl(storage)
        c.feed(LISTING, role="listing", error="timeout")
        st = c.close()
        assert any("removals not checked" in p for p in st.problems)
    assert "removed" not in [k for _, k, _ in kinds(storage)]


def test_same_bytes_at_new_url_is_the_same_document(storage: Storage) -> None:
    pdf_like = page("<p>LEADS Security Policy, rev. 2024</p>")
    run(storage, {DOC: pdf_like})
    new_url = DOC.replace("aaaa-1111", "ffff-9999")
    st = run(storage, {new_url: pdf_like})
    assert st.counts["new"] == 0 and st.counts["removed"] == 0
    run(storage, {new_url: pdf_like})
    assert count(storage, Document) == 2  # listing + the one policy
    with storage.session() as s:
        doc = Storage.find_document(s, 1, DOC)
        assert doc is not None and doc.url == new_url
    assert [k for _, k, b in kinds(storage) if not b] == []


def test_unreadable_file_keeps_its_bytes_and_the_run_goes_on(storage: Storage) -> None:
    run(storage, {DOC: page("<p>LEADS</p>")})
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage, truncated"
    c = Crawl(storage)
    c.feed(LISTING, page("<p>LEADS documents</p>"), role="listing", links=(DOC,))
    c.feed(DOC, broken, ctype="application/pdf")
    st = c.close()
    assert st.counts["failed"] == 1 and any("cannot read" in p for p in st.problems)
    assert storage.blob(sha256(broken)) == broken  # evidence kept
    assert count(storage, Version) == 2  # the last good version stays the latest


def test_listing_that_suddenly_yields_nothing_is_a_problem(storage: Storage) -> None:
    run(storage, {DOC: page("<p>LEADS</p>")})
    c = Crawl(storage)
    c.feed(LISTING, page("<p>We have redesigned our website</p>"), role="listing", links=())
    st = c.close()
    assert any("yielded no documents" in p for p in st.problems)
    from trustwatch.storage import Run

    with storage.session() as s:
        last = s.scalars(select(Run).order_by(Run.id.desc())).first()
        assert last is not None and last.status == "failed"


def test_relevant_new_document_after_baseline_alerts(storage: Storage) -> None:
    run(storage, {DOC: page("<p>LEADS</p>")})
    agreement = DOC.replace("aaaa", "dddd")
    run(storage, {DOC: page("<p>LEADS</p>"),
                  agreement: page("<p>LEADS Agreement with Enforcement and Removal "
                                  "Operations</p>")})
    new = [(ch, doc) for ch, doc, _ in storage.changes() if ch.kind == "new"
           and not ch.baseline]
    assert len(new) == 1 and new[0][1].url == agreement
    assert {m["term"] for m in new[0][0].matches} >= {"Enforcement and Removal Operations"}
    with storage.session() as s:
        alerts = s.scalars(select(Alert).where(Alert.kind == "change")).all()
        assert [a.change_id for a in alerts] == [new[0][0].id]
        assert all(a.status == "pending" for a in alerts)
    assert count(storage, Change, relevant=True, baseline=False) == 1


def test_head_revision_read_from_files_matches_alembic() -> None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from trustwatch.storage.repository import MIGRATIONS, head_revision

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_reopening_a_migrated_database_keeps_its_data(db_url: str) -> None:
    st = Storage.open(db_url)
    with st.session() as s:
        digest = Storage.put_blob(s, b"evidence")
    st.close()
    again = Storage.open(db_url)
    assert again.blob(digest) == b"evidence"
    again.close()


@pytest.mark.parametrize(("last_modified", "date", "kept"), [
    ("Mon, 03 Mar 2025 00:00:00 GMT", "Tue, 25 Nov 2026 10:00:00 GMT", True),
    ("Tue, 25 Nov 2026 10:00:00 GMT", "Tue, 25 Nov 2026 10:00:00 GMT", False),  # same second
    ("Tue, 25 Nov 2026 10:00:00 GMT", "", True),
    ("not a date", "Tue, 25 Nov 2026 10:00:00 GMT", False),
])
def test_weak_last_modified_is_not_used_as_a_validator(last_modified: str, date: str,
                                                      kept: bool) -> None:
    from trustwatch.pipelines import strong_last_modified

    headers = {"Last-Modified": [last_modified]} | ({"Date": [date]} if date else {})
    item = DocumentItem(url=DOC, source="isp", role="document",
                        fetched_at=datetime.now(UTC), headers=headers)
    assert (strong_last_modified(item) == last_modified) is kept


def test_incompressible_bytes_are_stored_as_they_are(storage: Storage) -> None:
    import os

    data = os.urandom(300_000)  # like a PDF's compressed streams
    with storage.session() as s:
        digest = Storage.put_blob(s, data)
        blob = s.get(Blob, digest)
        assert blob is not None and blob.compression == "none"
    assert storage.blob(digest) == data
