"""Health: silence is never mistaken for "no news".

After each crawl the crawled sources are checked for four conditions. Each is raised once
(an open ``Problem`` and a "health" alert in the outbox) and cleared once (a "recovered"
alert) when it is gone:

- ``fetch_failures``: the source's last N runs (default 3) all failed;
- ``listing_empty``: a listing that used to link documents links none (site changed shape);
- ``text_drop``: a new version's text is far shorter than the one before (< 20%), or a PDF
  lost its text layer: a scanned re-upload, a login wall, an error page served as 200;
- ``stale``: nothing in a source with ``expect_change_within`` changed for that long.

Plus an optional daily heartbeat (``trustwatch schedule --heartbeat 09:00``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from trustwatch.config import Config, SourceConfig
from trustwatch.storage import Alert, Blob, Check, Document, Run, Source, Storage, Version, utcnow
from trustwatch.storage.models import Problem, thread_key

logger = logging.getLogger(__name__)

FAILED_RUNS = 3  # consecutive failed runs before "the site is down" reaches the newsroom
TEXT_DROP = 0.2  # a new version with less than this share of the previous text is suspect
TEXT_RECOVERED = 0.5  # ... and the problem clears once the text is back to this share
MIN_TEXT = 200  # bytes; shorter documents shrink for ordinary reasons

# the pipeline's problem lines for a listing that stopped linking documents
_EMPTY_LISTING = re.compile(r"^listing (\S+) (?:yielded no documents|is empty)")
_FAILED_LISTING = re.compile(r"^listing (\S+) failed")

# kind -> (headline for the health alert, headline for the recovered alert)
WORDING: dict[str, tuple[str, str]] = {
    "fetch_failures": ("fetches failing", "fetching again"),
    "listing_empty": ("a listing yields no documents", "the listing yields documents again"),
    "text_drop": ("a document lost most of its text", "the document's text is back"),
    "stale": ("no changes for longer than expected", "changing again"),
}


@dataclass(frozen=True)
class Finding:
    """A health condition present now."""

    kind: str
    key: str
    detail: str
    document_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class HealthReport:
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"health: {line}" for line in self.opened]
                + [f"recovered: {line}" for line in self.closed])


def _finished_runs(s: Session, source_id: int, limit: int) -> list[Run]:
    return list(s.scalars(select(Run).where(Run.source_id == source_id,
                                            Run.status.in_(("ok", "failed")),
                                            Run.finished_at.is_not(None))
                          .order_by(Run.id.desc()).limit(limit)))


def _fetch_failures(runs: list[Run], n: int) -> Finding | None:
    if len(runs) < n or any(r.status != "failed" for r in runs[:n]):
        return None
    last = next((str(p) for p in runs[0].problems), "no details recorded")
    return Finding("fetch_failures", "fetch_failures",
                   f"the last {n} runs failed; latest: {last}", data={"runs": n})


def _empty_listings(s: Session, source_id: int, run: Run) -> dict[str, Finding]:
    out = {}
    for line in run.problems:
        m = _EMPTY_LISTING.match(str(line))
        if m:
            url = m.group(1)
            doc = Storage.find_document(s, source_id, url)
            out[f"listing_empty:{url}"] = Finding(
                "listing_empty", f"listing_empty:{url}", str(line),
                document_id=doc.id if doc else None, data={"url": url})
    return out


def _listing_still_empty(s: Session, problem: Problem, run: Run) -> bool:
    """True while the listing of an open problem has not linked documents again."""
    url = str(problem.data.get("url", ""))
    lines = [str(p) for p in run.problems]
    failed = {m.group(1) for m in map(_FAILED_LISTING.match, lines) if m}
    if url in failed:
        return True  # not fetched this time: we cannot tell yet
    if problem.document_id is None:
        return any(_EMPTY_LISTING.match(p) for p in lines if url in p)
    doc = s.get(Document, problem.document_id)
    return doc is None or not int(doc.meta.get("link_count", 0))


def _text_size(s: Session, v: Version) -> int:
    return int(s.scalar(select(Blob.size).where(Blob.sha256 == v.text_sha256)) or 0)


def _text_drops(s: Session, source_id: int, run: Run) -> dict[str, Finding]:
    """Documents whose version from this run holds far less text than the one before."""
    out = {}
    prev_v = aliased(Version)
    rows = s.execute(
        select(Version, prev_v, Document)
        .join(prev_v, (prev_v.document_id == Version.document_id)
              & (prev_v.seq == Version.seq - 1))
        .join(Document, Document.id == Version.document_id)
        # listings that lose their links are listing_empty; one event, one alert
        .where(Version.run_id == run.id, Document.source_id == source_id,
               Document.role != "listing"))
    for new, old, doc in rows:
        before, after = _text_size(s, old), _text_size(s, new)
        lost_layer = new.no_text_layer and not old.no_text_layer
        if not lost_layer and not (before >= MIN_TEXT and after < before * TEXT_DROP):
            continue
        why = "the PDF lost its text layer" if lost_layer else "login wall or error page?"
        key = f"text_drop:{doc.id}"
        out[key] = Finding(
            "text_drop", key,
            f"{doc.title or doc.url}: text went from {before:,} to {after:,} characters "
            f"({why}) {doc.url}",
            document_id=doc.id, data={"before": before, "lost_layer": lost_layer})
    return out


def _text_still_dropped(s: Session, problem: Problem) -> bool:
    if problem.document_id is None:
        return False
    latest = Storage.latest_version(s, problem.document_id)
    if latest is None:
        return False
    if problem.data.get("lost_layer") and latest.no_text_layer:
        return True
    return _text_size(s, latest) < int(problem.data.get("before", 0)) * TEXT_RECOVERED


def _stale(s: Session, source: SourceConfig, source_id: int, now: datetime) -> Finding | None:
    within = source.expect_change_within
    if within is None:
        return None
    newest = s.scalar(select(func.max(Version.fetched_at)).join(Document)
                      .where(Document.source_id == source_id))
    if newest is None or now - newest <= within:
        return None
    return Finding("stale", "stale",
                   f"nothing changed since {newest:%Y-%m-%d %H:%M} UTC; expected a change "
                   f"within {_human(within)}", data={"newest": newest.isoformat()})


def _human(td: timedelta) -> str:
    secs = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _alert(s: Session, config: Config, source: SourceConfig, src_id: int, kind: str,
           title: str, body: str, document_id: int | None) -> Alert:
    doc = s.get(Document, document_id) if document_id is not None else None
    alert = Alert(kind=kind, source_id=src_id, document_id=document_id, title=title, body=body,
                  created_at=utcnow(), channel=config.slack_channel, status="pending",
                  thread_key=thread_key(doc))
    s.add(alert)
    s.flush()
    return alert


def evaluate(config: Config, storage: Storage, slugs: Sequence[str], *,
             now: datetime | None = None, failed_runs: int = FAILED_RUNS) -> HealthReport:
    """Open and close health problems of the crawled sources; queue their alerts."""
    now = now or utcnow()
    report = HealthReport()
    for slug in slugs:
        source = config.source(slug)
        with storage.session() as s:
            src = s.scalar(select(Source).where(Source.slug == slug))
            if src is None:
                continue
            runs = _finished_runs(s, src.id, max(failed_runs, 1))
            if not runs:
                continue
            latest = runs[0]
            found: dict[str, Finding] = {}
            f = _fetch_failures(runs, failed_runs)
            if f:
                found[f.key] = f
            found.update(_empty_listings(s, src.id, latest))
            found.update(_text_drops(s, src.id, latest))
            if latest.status == "ok":
                stale = _stale(s, source, src.id, now)
                if stale:
                    found[stale.key] = stale
            open_rows = {p.key: p for p in s.scalars(
                select(Problem).where(Problem.source_id == src.id, Problem.closed_at.is_(None)))}
            for key, f in found.items():
                if key in open_rows:
                    continue
                headline = WORDING[f.kind][0]
                alert = _alert(s, config, source, src.id, "health",
                               f"{source.name}: {headline}",
                               f"{f.detail}\nA \"recovered\" message follows when this clears.",
                               f.document_id)
                s.add(Problem(source_id=src.id, key=key, kind=f.kind, document_id=f.document_id,
                              opened_at=now, detail=f.detail, data=dict(f.data),
                              alert_id=alert.id))
                report.opened.append(f"{slug}: {headline}: {f.detail}")
                logger.warning("%s: health problem: %s: %s", slug, headline, f.detail)
            for key, p in open_rows.items():
                if key in found or _still_open(s, p, latest, source, now):
                    continue
                headline = WORDING.get(p.kind, ("", "recovered"))[1]
                alert = _alert(s, config, source, src.id, "recovered",
                               f"{source.name}: recovered: {headline}",
                               f"Was: {p.detail}\nOpen since {p.opened_at:%Y-%m-%d %H:%M} UTC.",
                               p.document_id)
                p.closed_at = now
                p.recovered_alert_id = alert.id
                report.closed.append(f"{slug}: {headline}")
                logger.info("%s: recovered: %s", slug, headline)
    return report


def _still_open(s: Session, p: Problem, latest: Run, source: SourceConfig,
                now: datetime) -> bool:
    if p.kind == "fetch_failures":
        return latest.status != "ok"
    if p.kind == "listing_empty":
        return _listing_still_empty(s, p, latest)
    if p.kind == "text_drop":
        return _text_still_dropped(s, p)
    if p.kind == "stale":
        return latest.status != "ok" and source.expect_change_within is not None
    return True


def open_problems(storage: Storage, slug: str | None = None) -> list[tuple[Problem, Source]]:
    with storage.session() as s:
        q = (select(Problem, Source).join(Source, Problem.source_id == Source.id)
             .where(Problem.closed_at.is_(None)).order_by(Problem.id))
        if slug:
            q = q.where(Source.slug == slug)
        return [(p, src) for p, src in s.execute(q)]


def close_unfinished_runs(storage: Storage, slug: str, status: str, reason: str, *,
                          after_id: int = 0, statuses: Sequence[str] = ("running",)) -> list[int]:
    """Finish "running" runs of a source whose process is gone (killed, crashed, stopped)."""
    closed = []
    with storage.session() as s:
        rows = s.scalars(select(Run).join(Source).where(
            Source.slug == slug, Run.status.in_(tuple(statuses)), Run.id > after_id))
        for run in rows:
            run.status = status
            run.finished_at = utcnow()
            run.problems = [*run.problems, reason]
            closed.append(run.id)
    return closed


def record_failed_run(storage: Storage, slug: str, kind: str, reason: str,
                      started_at: datetime) -> int:
    """A crawl that died before it opened its run still leaves a failed run behind."""
    with storage.session() as s:
        src = Storage.source_row(s, slug, kind)
        run = Run(source_id=src.id, started_at=started_at, finished_at=utcnow(),
                  status="failed", baseline=False, counts={}, problems=[reason])
        s.add(run)
        s.flush()
        return run.id


def heartbeat(config: Config, storage: Storage, *, now: datetime | None = None) -> int:
    """Queue the daily "all quiet" message; return its alert id."""
    now = now or utcnow()
    since = now - timedelta(days=1)
    with storage.session() as s:
        checked = set(s.scalars(select(Check.document_id).where(Check.checked_at >= since)))
        checked |= set(s.scalars(select(Version.document_id).where(Version.fetched_at >= since)))
        runs = s.scalar(select(func.count(Run.id)).where(Run.started_at >= since)) or 0
        problems = s.scalar(select(func.count(Problem.id)).where(Problem.closed_at.is_(None)))
        state = (f"{problems} health problem{'s' if problems != 1 else ''} open (trustwatch "
                 "status)" if problems else "all quiet")
        alert = Alert(kind="health", title=f"trustwatch heartbeat: {state}, {len(checked)} "
                      "documents checked in the last 24 hours",
                      body=f"{runs} runs since {since:%Y-%m-%d %H:%M} UTC.",
                      created_at=now, channel=config.slack_channel, status="pending")
        s.add(alert)
        s.flush()
        return alert.id
