"""item -> storage -> diff -> relevance -> outbox, one transaction per item.

A Version only when the normalised text differs from the document's latest version;
otherwise a Check. Removal only after two consecutive runs gone (404/410 or off its
listing); a 5xx, a timeout or an unreadable file is a failed check, never a removal.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustwatch.config import Config, SourceConfig
from trustwatch.diff import Diff, diff_texts, to_json
from trustwatch.extract import Extracted, ExtractionError, extract, normalise
from trustwatch.items import DocumentItem
from trustwatch.relevance import Match, Relevance, summarise
from trustwatch.runtime import config_for, storage_for
from trustwatch.storage import (
    Alert,
    Change,
    Check,
    Document,
    DocumentUrl,
    Run,
    Storage,
    Version,
    utcnow,
)
from trustwatch.storage.models import thread_key

logger = logging.getLogger(__name__)

# ILGA documents whose every change counts, with the match group it is reported under
WATCHED_DOCS = {"status_xml": "bill_status", "status_html": "bill_status",
                "section": "watched_statute"}
REMOVAL_RUNS = 2  # consecutive runs a document must be gone before it counts as removed


@dataclass
class RunState:
    run_id: int
    source_id: int
    baseline: bool
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)  # documents fetched (any outcome but gone)
    gone: set[int] = field(default_factory=set)  # documents answering 404/410
    listed: set[str] = field(default_factory=set)  # canonical URLs linked from listings
    listing_failed: bool = False


def _header(item: DocumentItem, name: str) -> str:
    for k, vs in item.headers.items():
        if k.lower() == name and vs:
            return vs[0]
    return ""


def strong_last_modified(item: DocumentItem) -> str:
    """The response's Last-Modified, if usable as a validator. RFC 9110 8.8.2.2: a date not
    at least one second before the response's Date is weak — the file may change again
    within that second and still answer 304 — so the next fetch is unconditional."""
    value = _header(item, "last-modified")
    if not value:
        return ""
    try:
        modified = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(_header(item, "date")) if _header(item, "date") else None
    except (TypeError, ValueError):
        return ""
    if sent is not None and (sent - modified).total_seconds() < 1:
        return ""
    return value


def match_json(m: Match) -> dict[str, str]:
    return {"group": m.group, "term": m.term, "side": m.side, "label": m.label,
            "excerpt": m.excerpt}


class StoragePipeline:
    def __init__(self, config: Config, storage: Storage, crawler: Crawler | None = None) -> None:
        self.config = config
        self.storage = storage
        self.relevance = Relevance(config.terms)
        self.crawler = crawler
        self.state: RunState | None = None
        self.source: SourceConfig | None = None
        self.known: dict[str, int] = {}  # URL -> document id, as of the run's start
        self.pending_checks: list[tuple[int, DocumentItem]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        from scrapy import signals

        pipeline = cls(config_for(crawler), storage_for(crawler), crawler)
        # the close reason (finished / shutdown / …) arrives only with this signal
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # -- run bookkeeping --------------------------------------------------------------------
    def _spider(self, spider: Spider | None) -> Spider:
        found = spider or (self.crawler.spider if self.crawler else None)
        assert found is not None
        return found

    def open_spider(self, spider: Spider | None = None) -> None:
        spider = self._spider(spider)
        self.source = self.config.source(getattr(spider, "slug", spider.name))
        baseline = self.storage.is_baseline(self.source.slug)
        with self.storage.session() as s:
            src = self.storage.source_row(s, self.source.slug, self.source.kind)
            run = Run(source_id=src.id, started_at=utcnow(), status="running", baseline=baseline,
                      counts={}, problems=[])
            s.add(run)
            s.flush()
            self.state = RunState(run_id=run.id, source_id=src.id, baseline=baseline)
        self.known = self.storage.document_ids(self.source.slug)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.crawler is None:  # driven directly (tests): no signal will come
            self.finish("finished")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.finish(reason)

    def finish(self, reason: str) -> None:
        """Close the run: removals (only after a complete crawl), baseline note, counts."""
        st = self._st()
        self._flush_checks()
        with self.storage.session() as s:
            if reason == "finished" and not st.listing_failed:
                self._detect_removals(s, st)
            elif reason != "finished":
                st.problems.append(f"crawl ended early ({reason}); removals not checked")
            else:
                st.problems.append("a listing could not be fetched; removals not checked")
            if st.baseline and st.counts["new"]:
                self._baseline_alert(s, st)
            run = s.get(Run, st.run_id)
            assert run is not None
            run.finished_at = utcnow()
            failed = st.counts["failed"] and not (st.counts["fetched"] + st.counts["not_modified"])
            run.status = ("interrupted" if reason not in ("finished",) else
                          "failed" if failed or any(p.startswith("listing ") for p in st.problems)
                          else "ok")
            run.counts = dict(st.counts)
            run.problems = list(st.problems)

    def _st(self) -> RunState:
        assert self.state is not None, "pipeline used before open_spider"
        return self.state

    # -- items ------------------------------------------------------------------------------
    def process_item(self, item: DocumentItem, spider: Spider | None = None) -> DocumentItem:
        st = self._st()
        if item.role == "probe":  # a discovery fetch that found nothing to watch
            return item
        if item.role == "index":
            self._index(item, st)
        if item.links is not None:
            st.listed.update(item.links)
        if item.not_modified and item.role == "document" and item.url in self.known:
            self._not_modified_later(item, st)
            return item
        try:
            with self.storage.session() as s:
                self._store(s, item, st)
        except Exception as exc:  # one bad document never stops the run
            logger.exception("%s: storing %s failed", item.source, item.url)
            st.counts["failed"] += 1
            st.problems.append(f"{item.url}: could not store: {exc}")
            if item.role == "listing":
                st.listing_failed = True
        return item

    def _not_modified_later(self, item: DocumentItem, st: RunState) -> None:
        """A 304 for a known document is the commonest answer: one cheap row, written in
        batches rather than a transaction each."""
        doc_id = self.known[item.url]
        st.counts["not_modified"] += 1
        st.seen.add(doc_id)
        self.pending_checks.append((doc_id, item))
        if len(self.pending_checks) >= 200:
            self._flush_checks()

    @staticmethod
    def _check(st: RunState, doc_id: int, item: DocumentItem, outcome: str, *,
               raw_sha: str | None = None, headers: dict[str, Any] | None = None,
               error: str = "") -> Check:
        """The row for a fetch that made no new version."""
        return Check(document_id=doc_id, run_id=st.run_id, checked_at=item.fetched_at,
                     outcome=outcome, http_status=item.status, raw_sha256=raw_sha,
                     headers=headers, final_url=item.final_url, error=error)

    def _flush_checks(self) -> None:
        if not self.pending_checks:
            return
        st = self._st()
        batch, self.pending_checks = self.pending_checks, []
        with self.storage.session() as s:
            s.add_all([self._check(st, doc_id, item, "not_modified") for doc_id, item in batch])
            last = max(item.fetched_at for _, item in batch)
            s.execute(update(Document).where(Document.id.in_({d for d, _ in batch}))
                      .values(last_seen=last))

    def _index(self, item: DocumentItem, st: RunState) -> None:
        if item.meta.get("entries") == "0" and not item.error and item.status < 400:
            st.problems.append(f"listing {item.url} is empty (site may have changed shape)")

    def _failure(self, s: Session, item: DocumentItem, st: RunState, doc: Document | None,
                 outcome: str, error: str, raw_sha: str | None = None) -> None:
        st.counts["failed"] += 1
        if item.role in ("listing", "index"):
            st.listing_failed = True
            st.problems.append(f"listing {item.url} failed: {error}")
        else:
            st.problems.append(f"{item.url}: {error}")
        if doc is not None:
            st.seen.add(doc.id)
            s.add(self._check(st, doc.id, item, outcome, raw_sha=raw_sha,
                              headers=item.headers or None, error=error))

    def _store(self, s: Session, item: DocumentItem, st: RunState) -> None:
        doc = Storage.find_document(s, st.source_id, item.url)
        if item.error:
            outcome = "too_large" if item.error == "too large" else "failed"
            return self._failure(s, item, st, doc, outcome, item.error)
        if item.status in (404, 410) and item.role in ("listing", "index"):
            return self._failure(s, item, st, doc, "gone", f"listing answers {item.status}")
        if item.status in (404, 410):
            st.counts["gone"] += 1
            if doc is not None:
                st.gone.add(doc.id)
                s.add(self._check(st, doc.id, item, "gone", headers=item.headers or None))
            else:
                st.problems.append(f"{item.url}: linked from {item.listing_url or 'a listing'} "
                                   f"but answers {item.status}")
            return None
        if item.status >= 400 or item.status == 0:
            return self._failure(s, item, st, doc, "failed", f"HTTP {item.status}")
        if item.not_modified:
            if doc is None:
                return self._failure(s, item, st, doc, "failed", "304 for an unknown document")
            st.counts["not_modified"] += 1
            st.seen.add(doc.id)
            doc.last_seen = item.fetched_at
            s.add(self._check(st, doc.id, item, "not_modified"))
            self._listing_health(doc, item, st)
            return None

        st.counts["fetched"] += 1
        raw_sha = Storage.put_blob(s, item.body)  # evidence first, whatever happens next
        try:
            extracted = extract(item.body, item.content_type, item.final_url or item.url)
        except ExtractionError as exc:
            return self._failure(s, item, st, doc, "failed", f"cannot read: {exc}", raw_sha)
        assert self.source is not None
        text = normalise(extracted.text, self.source.ignore)
        if extracted.no_text_layer:
            st.problems.append(f"{item.url}: no text layer (scanned document?)")
        text_sha = Storage.put_blob(s, text.encode("utf-8"))

        if doc is None and item.role != "index":
            doc = self._same_bytes_elsewhere(s, st, raw_sha, item)
        if doc is None:
            self._new_document(s, item, st, extracted, text, raw_sha, text_sha)
            return None
        st.seen.add(doc.id)
        prev = Storage.latest_version(s, doc.id)
        reappeared = doc.state == "removed"
        self._touch(doc, item, raw_sha, extracted)
        unchanged = prev is not None and not reappeared and prev.text_sha256 == text_sha
        d = Diff(hunks=(), inserted_words=0, deleted_words=0)
        if not unchanged:
            old_text = Storage.read_blob(s, prev.text_sha256).decode("utf-8") if prev else ""
            d = diff_texts(old_text, text)
            # only whitespace moved
            unchanged = prev is not None and not reappeared and not d.hunks
        if unchanged:
            st.counts["unchanged"] += 1
            s.add(self._check(st, doc.id, item, "unchanged", raw_sha=raw_sha,
                              headers=item.headers))
            self._listing_health(doc, item, st)
            return None
        version = self._version(s, doc, item, st, extracted, raw_sha, text_sha,
                                (prev.seq if prev else 0) + 1)
        if item.role == "index":  # kept as evidence; folder listings are never news
            return None
        kind = "new" if reappeared or prev is None else "changed"
        if kind == "new":
            matches = self.relevance.for_text(text)
        else:  # words changed; failing that, words changed in a sentence naming a term
            matches = self.relevance.for_diff(d) or self.relevance.for_context(d)
        matches = [*matches, *self._watched(doc, d)]
        st.counts[kind] += 1
        self._change(s, doc, st, kind, version, prev, matches, d,
                     summary="reappeared" if reappeared else "")
        doc.state = "active"
        self._listing_health(doc, item, st)
        return None

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _watched(doc: Document, d: Diff) -> list[Match]:
        """Every change to a watched bill's status or a watched statute's text is news."""
        group = WATCHED_DOCS.get(doc.meta.get("doc", ""))
        if group is None or not d.hunks:
            return []
        if group == "bill_status" and not d.inserted_words:
            return []
        first = d.hunks[0]
        excerpt = (first.inserted or first.deleted)[:200]
        return [Match(group=group, term="new bill action" if group == "bill_status"
                      else "statute text", side="inserted" if first.inserted else "deleted",
                      label=first.label, excerpt=excerpt)]

    def _touch(self, doc: Document, item: DocumentItem, raw_sha: str, ex: Extracted) -> None:
        doc.last_seen = item.fetched_at
        doc.etag = _header(item, "etag")
        doc.last_modified = strong_last_modified(item)
        doc.last_raw_sha256 = raw_sha
        doc.last_content_type = item.content_type
        doc.content_type = item.content_type
        doc.missing_runs = 0
        title = ex.title or item.title
        if title and doc.meta.get("doc") == "status_xml":  # its page twin has the same name
            title = f"{title} — bill status (XML)"
        if title:
            doc.title = title[:500]

    def _listing_health(self, doc: Document, item: DocumentItem, st: RunState) -> None:
        """A listing that used to link documents and now links none: the site changed shape."""
        if item.role != "listing" or item.links is None:
            return
        before = int(doc.meta.get("link_count", 0))
        now = len(item.links)
        if before and not now:
            st.problems.append(f"listing {item.url} yielded no documents "
                               f"({before} last run): the site may have changed shape")
        doc.meta = {**doc.meta, "link_count": now}

    def _same_bytes_elsewhere(self, s: Session, st: RunState, raw_sha: str,
                              item: DocumentItem) -> Document | None:
        """Identical bytes at a new URL (ISP re-issues GetFile GUIDs) are the same document."""
        doc = s.scalar(select(Document).where(Document.source_id == st.source_id,
                                              Document.last_raw_sha256 == raw_sha,
                                              Document.role == item.role).limit(1))
        if doc is None:
            return None
        logger.info("%s: %s has the same bytes as %s; same document", item.source, item.url,
                    doc.url)
        s.add(DocumentUrl(source_id=st.source_id, url=item.url, document_id=doc.id,
                          first_seen=item.fetched_at))
        doc.url = item.url
        return doc

    def _new_document(self, s: Session, item: DocumentItem, st: RunState, ex: Extracted,
                      text: str, raw_sha: str, text_sha: str) -> None:
        now = item.fetched_at
        doc = Document(source_id=st.source_id, url=item.url, role=item.role,
                       listing_url=item.listing_url, meta=dict(item.meta), first_seen=now,
                       last_seen=now, state="active", missing_runs=0, title="",
                       content_type=item.content_type)
        self._touch(doc, item, raw_sha, ex)
        s.add(doc)
        s.flush()
        s.add(DocumentUrl(source_id=st.source_id, url=item.url, document_id=doc.id,
                          first_seen=now))
        st.seen.add(doc.id)
        version = self._version(s, doc, item, st, ex, raw_sha, text_sha, 1)
        if item.role == "index":
            return
        matches = self.relevance.for_text(text)
        if doc.meta.get("doc") in WATCHED_DOCS:
            matches = [*matches, Match(group=WATCHED_DOCS[doc.meta["doc"]], term="watched",
                                       side="text", label="", excerpt=doc.title[:200])]
        st.counts["new"] += 1
        self._change(s, doc, st, "new", version, None, matches, None)
        self._listing_health(doc, item, st)

    def _version(self, s: Session, doc: Document, item: DocumentItem, st: RunState,
                 ex: Extracted, raw_sha: str, text_sha: str, seq: int) -> Version:
        v = Version(document_id=doc.id, seq=seq, run_id=st.run_id, fetched_at=item.fetched_at,
                    url=item.url, final_url=item.final_url or item.url,
                    redirects=list(item.redirects), http_status=item.status,
                    headers=item.headers, content_type=item.content_type, raw_sha256=raw_sha,
                    text_sha256=text_sha, title=ex.title or item.title, kind=ex.kind,
                    pages=ex.pages, notes=list(ex.notes), no_text_layer=ex.no_text_layer)
        s.add(v)
        s.flush()
        return v

    def _change(self, s: Session, doc: Document, st: RunState, kind: str,
                version: Version | None, prev: Version | None, matches: list[Match],
                d: Diff | None, summary: str = "") -> Change:
        relevant = bool(matches)
        change = Change(document_id=doc.id, run_id=st.run_id, detected_at=utcnow(), kind=kind,
                        version_id=version.id if version else None,
                        prev_version_id=prev.id if prev else None, relevant=relevant,
                        baseline=st.baseline, matches=[match_json(m) for m in matches],
                        diff=to_json(d) if d is not None else None,
                        inserted_words=d.inserted_words if d else 0,
                        deleted_words=d.deleted_words if d else 0,
                        summary=summary or summarise(matches))
        s.add(change)
        s.flush()
        if relevant and not st.baseline:  # the outbox row commits with its change
            s.add(Alert(change_id=change.id, document_id=doc.id, source_id=st.source_id,
                        thread_key=thread_key(doc),
                        kind="change", title=doc.title, created_at=utcnow(),
                        channel=self.config.slack_channel, status="pending"))
        return change

    def _detect_removals(self, s: Session, st: RunState) -> None:
        docs = s.scalars(select(Document).where(Document.source_id == st.source_id,
                                                Document.state == "active",
                                                Document.role != "index"))
        listed_ids = set()
        if st.listed:
            listed_ids = set(s.scalars(select(DocumentUrl.document_id).where(
                DocumentUrl.source_id == st.source_id, DocumentUrl.url.in_(st.listed))))
        for doc in docs:
            present = (doc.id in st.seen or doc.id in listed_ids) and doc.id not in st.gone
            if present:
                continue
            doc.missing_runs += 1
            s.add(Check(document_id=doc.id, run_id=st.run_id, checked_at=utcnow(),
                        outcome="gone" if doc.id in st.gone else "missing",
                        error="" if doc.id in st.gone else "not linked from its listing"))
            if doc.missing_runs < REMOVAL_RUNS:
                continue
            doc.state = "removed"
            prev = Storage.latest_version(s, doc.id)
            old_text = Storage.read_blob(s, prev.text_sha256).decode("utf-8") if prev else ""
            matches = [Match(group=m.group, term=m.term, side="deleted", label=m.label,
                             excerpt=m.excerpt) for m in self.relevance.for_text(old_text)]
            st.counts["removed"] += 1
            self._change(s, doc, st, "removed", None, prev, matches, None)

    def _baseline_alert(self, s: Session, st: RunState) -> None:
        assert self.source is not None
        n = st.counts["new"]
        s.add(Alert(kind="baseline", source_id=st.source_id, created_at=utcnow(),
                    channel=self.config.slack_channel, status="pending",
                    title=f"{self.source.name}: now watching {n} documents",
                    body="First crawl stored as the baseline; alerts start with the next crawl."))


def summary_line(slug: str, counts: dict[str, Any]) -> str:
    c = Counter(counts)
    return (f"{slug}: fetched {c['fetched']}, not modified {c['not_modified']}, new {c['new']}, "
            f"changed {c['changed']}, removed {c['removed']}, failed {c['failed']}")
