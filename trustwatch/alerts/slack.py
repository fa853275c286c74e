"""Deliver the outbox to Slack, each alert once.

How "once" holds:

* **Claim** an alert before touching Slack: an atomic ``UPDATE … WHERE status='pending'
  AND lease free`` that sets a lease (PostgreSQL first picks the row with ``SELECT … FOR
  UPDATE SKIP LOCKED`` so concurrent workers skip each other's rows instead of queueing).
  An alert is only claimable when no earlier alert of the same document is still pending,
  so a document's alerts reach Slack in order and a reply always finds its thread.
* **Mark the post started** (commit) before ``chat.postMessage``; the message carries
  ``metadata`` ``{"event_type": "trustwatch_alert", "event_payload": {"alert_id": …,
  "key": …}}`` with a per-alert random key.
* **Mark sent** only after Slack answers ok, keeping its ``ts``.
* If a run dies between Slack's answer and that commit, or the answer never arrives (a
  timeout, a 5xx, a dropped connection), the alert keeps ``post_started_at``. Before
  posting it again, the channel's history (or the thread's replies) since that moment is
  searched for the key; if found, the alert is marked sent with that ``ts`` instead.
* slack-sdk's retry handlers retry what cannot duplicate: 429s (Slack did not process
  them; Retry-After honoured up to a cap), and connection errors and 5xx only for
  read-only methods or when the connection was refused. An ambiguous ``chat.postMessage``
  is retried here, through the history check.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryState,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from trustwatch.alerts.message import build_message, limit_problems, load_facts
from trustwatch.config import Config
from trustwatch.storage import Alert, Storage, utcnow

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
EVENT_TYPE = "trustwatch_alert"
TIMEOUT = 10  # seconds per Slack request
MAX_RETRY = 2  # slack-sdk retries per handler, per request
MAX_RETRY_AFTER = 30  # seconds; a longer Retry-After ends the run, the next run tries again
POST_TRIES = 3  # tries of one alert per run when Slack's answer was lost (each checked first)
POST_PAUSE = 1.0  # seconds before the second such try, doubling
LEASE = timedelta(minutes=5)  # a claim outlives the slowest single delivery many times over
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=1)  # bounded: an alert is never more than an hour from a try
CLOCK_SKEW = timedelta(minutes=2)  # history is searched from a little before the post began
HISTORY_PAGES = 10
READ_ONLY = frozenset({"auth.test", "conversations.history", "conversations.replies",
                       "conversations.list"})
# answers that mean the token or the channel is wrong: nothing will work until a human acts
SETUP_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "no_permission", "missing_scope", "channel_not_found", "not_in_channel", "is_archived",
    "restricted_action", "team_access_not_granted", "ekm_access_denied", "org_login_required",
    "enterprise_is_restricted", "access_denied",
})


# -- errors -----------------------------------------------------------------------------------

class SlackSetupError(Exception):
    """Token or channel problem: stop, keep every alert pending."""


class SlackOutage(Exception):
    """Slack (or the way to it) is down or slow: stop the run, back off, try next run."""

    def __init__(self, message: str, *, maybe_posted: bool, retry_after: float = 0) -> None:
        super().__init__(message)
        self.maybe_posted = maybe_posted
        self.retry_after = retry_after


class SlackRejected(Exception):
    """Slack refused this one message (bad blocks, too long…): mark it failed, go on."""


class LeaseLost(Exception):
    """Another worker holds this alert now; leave it alone."""


# -- client -----------------------------------------------------------------------------------

def _method(request: HttpRequest) -> str:
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _never_sent(error: Exception | None) -> bool:
    """Connection refused: the request cannot have reached Slack."""
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionRefusedError)


class SafeConnectionErrorRetry(ConnectionErrorRetryHandler):
    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return super()._can_retry(state=state, request=request, response=response,
                                  error=error) and (_method(request) in READ_ONLY
                                                    or _never_sent(error))


class SafeServerErrorRetry(ServerErrorRetryHandler):
    """A 5xx to chat.postMessage may still have posted: that one goes through history."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return _method(request) in READ_ONLY and super()._can_retry(
            state=state, request=request, response=response, error=error)


def retry_after(headers: Any) -> float:
    for k, v in dict(headers or {}).items():
        if k.lower() == "retry-after":
            v = v[0] if isinstance(v, list) else v
            try:
                return float(v)
            except (TypeError, ValueError):
                return 1.0
    return 0.0


class BoundedRateLimitRetry(RateLimitErrorRetryHandler):
    """Waits Retry-After (slack-sdk sleeps it) unless it is longer than a run should wait."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        return super()._can_retry(state=state, request=request, response=response,
                                  error=error) and (
            response is not None and retry_after(response.headers) <= MAX_RETRY_AFTER)


def api_url() -> str:
    url = os.environ.get("TRUSTWATCH_SLACK_API_URL") or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def make_client(token: str | None = None, base_url: str | None = None,
                timeout: float | None = None) -> WebClient:
    return WebClient(
        token=token or os.environ["SLACK_BOT_TOKEN"], base_url=base_url or api_url(),
        timeout=timeout or TIMEOUT,  # type: ignore[arg-type]  # urllib takes float seconds
        retry_handlers=[SafeConnectionErrorRetry(max_retry_count=MAX_RETRY),
                        SafeServerErrorRetry(max_retry_count=MAX_RETRY),
                        BoundedRateLimitRetry(max_retry_count=MAX_RETRY)])


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 0)
        err = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        return f"HTTP {status}" + (f" {err}" if err else "")
    reason = getattr(exc, "reason", None)
    text = str(reason if reason is not None else exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def classify(exc: BaseException, method: str) -> BaseException:
    """Map what slack-sdk raised to what the outbox should do about it."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        err = str(data.get("error") or "")
        if status == 429 or err == "ratelimited":
            wait = retry_after(exc.response.headers) or 60.0
            return SlackOutage(f"rate limited by Slack (Retry-After {wait:g}s)",
                               maybe_posted=False, retry_after=wait)
        if status >= 500 or status == 408 or not data:
            return SlackOutage(f"Slack answered HTTP {status}",
                               maybe_posted=method not in READ_ONLY)
        if err in SETUP_ERRORS:
            return SlackSetupError(err)
        if err in ("fatal_error", "internal_error", "service_unavailable", "request_timeout"):
            return SlackOutage(f"Slack error {err}", maybe_posted=method not in READ_ONLY)
        return SlackRejected(err or f"HTTP {status}")
    if isinstance(exc, (URLError, OSError, HTTPException, socket.timeout, TimeoutError)):
        refused = _never_sent(exc)
        what = "timed out" if isinstance(getattr(exc, "reason", exc), (socket.timeout,
                                                                       TimeoutError)) else \
            "unreachable"
        return SlackOutage(f"Slack {what} ({_describe(exc)})",
                           maybe_posted=not refused and method not in READ_ONLY)
    return exc


# -- outbox rows ------------------------------------------------------------------------------

@dataclass
class Claimed:
    id: int
    document_id: int | None
    key: str
    post_started_at: datetime | None
    channel_id: str
    thread_ts: str
    attempts: int
    thread_key: str = ""


def _claimable(now: datetime, force: bool) -> list[Any]:
    earlier = aliased(Alert)
    # in order per thread (a document, or a bill's documents), so a reply finds its parent
    blocked = exists().where(earlier.thread_key == Alert.thread_key, Alert.thread_key != "",
                             earlier.id < Alert.id, earlier.status == "pending")
    cond = [Alert.status == "pending",
            or_(Alert.claimed_until.is_(None), Alert.claimed_until < now), ~blocked]
    if not force:
        cond.append(or_(Alert.next_attempt_at.is_(None), Alert.next_attempt_at <= now))
    return cond


def claim_next(storage: Storage, worker: str, *, force: bool = False) -> Claimed | None:
    """Lease the oldest deliverable alert; None when nothing is left for this worker."""
    for _ in range(50):  # lost races only; each loop sees a newer state
        now = utcnow()
        cond = _claimable(now, force)
        with storage.session() as s:
            q = select(Alert.id).where(*cond).order_by(Alert.id).limit(1)
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True, of=Alert)
            aid = s.scalar(q)
            if aid is None:
                return None
            key = uuid.uuid4().hex
            res = s.execute(update(Alert).where(Alert.id == aid, *cond).values(
                claimed_by=worker, claimed_until=now + LEASE, attempts=Alert.attempts + 1,
                delivery_key=case((Alert.delivery_key == "", key), else_=Alert.delivery_key),
            ).execution_options(synchronize_session=False))
            if getattr(res, "rowcount", 0) != 1:
                continue
            a = s.get(Alert, aid, populate_existing=True)
            assert a is not None
            return Claimed(id=a.id, document_id=a.document_id, key=a.delivery_key,
                           post_started_at=a.post_started_at, channel_id=a.channel_id,
                           thread_ts=a.thread_ts, attempts=a.attempts, thread_key=a.thread_key)
    return None


def _thread_parent(storage: Storage, claimed: Claimed, channel: str) -> str:
    """ts of the first change alert of this thread (a document, or all documents of one
    bill) in this channel ('' if none); later changes and health notes reply to it."""
    if not claimed.thread_key:
        return ""
    with storage.session() as s:
        return s.scalar(select(Alert.slack_ts).where(
            Alert.thread_key == claimed.thread_key, Alert.id != claimed.id,
            Alert.status == "sent", Alert.slack_ts != "", Alert.channel == channel,
            Alert.kind == "change", Alert.thread_ts == "",
        ).order_by(Alert.id).limit(1)) or ""


def _mark_post_started(storage: Storage, claimed: Claimed, worker: str, channel_id: str,
                       thread_ts: str) -> None:
    with storage.session() as s:
        res = s.execute(update(Alert).where(
            Alert.id == claimed.id, Alert.claimed_by == worker, Alert.status == "pending",
        ).values(post_started_at=case((Alert.post_started_at.is_(None), utcnow()),
                                      else_=Alert.post_started_at),  # the earliest try counts
                 channel_id=channel_id, thread_ts=thread_ts, claimed_until=utcnow() + LEASE).execution_options(synchronize_session=False))
        if getattr(res, "rowcount", 0) != 1:
            raise LeaseLost(f"alert {claimed.id} was taken over by another worker")


def _mark_sent(storage: Storage, claimed: Claimed, ts: str, channel_id: str,
               thread_ts: str) -> None:
    # no claimed_by check: if a lease ran out, the truth is still that this ts was posted
    with storage.session() as s:
        s.execute(update(Alert).where(Alert.id == claimed.id, Alert.status == "pending").values(
            status="sent", slack_ts=ts, channel_id=channel_id, thread_ts=thread_ts,
            sent_at=utcnow(), last_error="", claimed_by="", claimed_until=None,
            next_attempt_at=None).execution_options(synchronize_session=False))


def _release(storage: Storage, claimed: Claimed, worker: str, *, error: str,
             status: str = "pending", next_at: datetime | None = None,
             keep_post_marker: bool = True, count_attempt: bool = True) -> None:
    values: dict[str, Any] = {"claimed_by": "", "claimed_until": None,
                              "last_error": error[:2000], "status": status,
                              "next_attempt_at": next_at}
    if not keep_post_marker:
        values["post_started_at"] = None
    if not count_attempt:
        values["attempts"] = Alert.attempts - 1
    with storage.session() as s:
        s.execute(update(Alert).where(Alert.id == claimed.id, Alert.claimed_by == worker,
                                      Alert.status == "pending")
                  .values(**values).execution_options(synchronize_session=False))


def backoff(attempts: int, retry_after_s: float = 0) -> timedelta:
    wait = BACKOFF_BASE * (2 ** max(0, min(attempts - 1, 16)))
    return max(min(wait, BACKOFF_CAP), timedelta(seconds=retry_after_s))


# -- Slack calls ------------------------------------------------------------------------------

def _call(client: WebClient, method: str, **kwargs: Any) -> Any:
    calls = {"auth.test": client.auth_test, "chat.postMessage": client.chat_postMessage,
             "conversations.history": client.conversations_history,
             "conversations.replies": client.conversations_replies,
             "conversations.list": client.conversations_list}
    try:
        return calls[method](**kwargs)
    except Exception as exc:
        mapped = classify(exc, method)
        if mapped is exc:
            raise
        raise mapped from exc


def resolve_channel(client: WebClient, storage: Storage, channel: str) -> str:
    """The channel's ID (history needs it): as configured, learned from an earlier post,
    or looked up by name; '' when none of those works (posting by name still does)."""
    bare = channel.lstrip("#")
    if bare[:1] in "CGD" and bare[1:].isalnum() and bare.upper() == bare and len(bare) >= 9:
        return bare
    with storage.session() as s:
        known = s.scalar(select(Alert.channel_id).where(Alert.channel == channel,
                                                        Alert.channel_id != "")
                         .order_by(Alert.id.desc()).limit(1))
    if known:
        return known
    cursor = ""
    for _ in range(HISTORY_PAGES):
        try:
            resp = _call(client, "conversations.list", limit=200, exclude_archived=True,
                         types="public_channel,private_channel", cursor=cursor)
        except (SlackSetupError, SlackRejected, SlackOutage) as exc:
            logger.info("cannot list Slack channels to find %s: %s", channel, exc)
            return ""
        for c in resp.get("channels", []):
            if c.get("name") == bare:
                return str(c.get("id", ""))
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    return ""


def find_posted(client: WebClient, channel_id: str, key: str, since: datetime,
                thread_ts: str) -> tuple[str, str] | None:
    """(ts, channel) of the message carrying this key, if an earlier attempt posted it."""
    if not channel_id:
        raise SlackSetupError("channel_not_resolved")
    oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
    cursor = ""
    for _ in range(HISTORY_PAGES):
        args: dict[str, Any] = {"channel": channel_id, "oldest": oldest, "limit": 200,
                                "include_all_metadata": True, "cursor": cursor}
        if thread_ts:
            resp = _call(client, "conversations.replies", ts=thread_ts, **args)
        else:
            resp = _call(client, "conversations.history", **args)
        for m in resp.get("messages", []):
            meta = m.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and \
                    (meta.get("event_payload") or {}).get("key") == key:
                return str(m["ts"]), channel_id
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            break
    return None


# -- delivery ---------------------------------------------------------------------------------

@dataclass
class Report:
    sent: int = 0
    recovered: int = 0  # found already in Slack after an interrupted attempt, not re-posted
    failed: int = 0
    pending: int = 0
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem and not self.failed

    @property
    def line(self) -> str:
        done = f"alerts: {self.sent} sent to Slack"
        if self.recovered:
            done += f" ({self.recovered} found already posted, not sent twice)"
        if self.failed:
            done += f", {self.failed} rejected by Slack (trustwatch alerts list)"
        if self.problem:
            n = self.pending
            return f"{self.problem}: {n} alert{'s' if n != 1 else ''} kept pending" + (
                f" ({self.sent} sent)" if self.sent else "")
        if self.pending:
            done += f", {self.pending} pending (waiting to retry)"
        return done


def _pending_count(storage: Storage) -> int:
    with storage.session() as s:
        return int(s.scalar(select(func.count(Alert.id)).where(Alert.status == "pending")) or 0)


def _note_all_pending(storage: Storage, error: str) -> None:
    with storage.session() as s:
        s.execute(update(Alert).where(Alert.status == "pending", Alert.claimed_by == "")
                  .values(last_error=error).execution_options(synchronize_session=False))


def _setup_line(err: str, channel: str) -> str:
    if err in ("invalid_auth", "not_authed", "token_revoked", "token_expired",
               "account_inactive"):
        return f"Slack rejected the token ({err})"
    if err in ("channel_not_found", "not_in_channel", "is_archived"):
        return f"Slack cannot post to {channel} ({err}; invite the bot or fix slack_channel)"
    if err == "channel_not_resolved":
        return (f"cannot check {channel} for a half-finished post before re-posting (give "
                "slack_channel as a channel ID, or grant channels:read)")
    return f"Slack refused ({err})"


def deliver_one(client: WebClient, storage: Storage, config: Config, claimed: Claimed,
                worker: str, channel_id: str) -> tuple[str, bool]:
    """Post one claimed alert (or find that an earlier attempt did). (ts, recovered)."""
    channel = config.slack_channel
    thread_ts = claimed.thread_ts or _thread_parent(storage, claimed, channel)
    if claimed.post_started_at is not None:  # an earlier try may have reached Slack
        found = find_posted(client, claimed.channel_id or channel_id, claimed.key,
                            claimed.post_started_at, thread_ts)
        if found is not None:
            _mark_sent(storage, claimed, found[0], found[1], thread_ts)
            return found[0], True
    with storage.session() as s:
        alert = s.get(Alert, claimed.id)
        assert alert is not None
        msg = build_message(load_facts(s, alert, config, reply=bool(thread_ts)))
    problems = limit_problems(msg)
    if problems:  # never send what Slack would reject or cut
        raise SlackRejected("message over Slack limits: " + "; ".join(problems))
    channel_id = channel_id or claimed.channel_id
    _mark_post_started(storage, claimed, worker, channel_id, thread_ts)
    args: dict[str, Any] = {
        "channel": channel_id or channel, "text": msg.text, "blocks": msg.blocks,
        "unfurl_links": False, "unfurl_media": False,
        "metadata": {"event_type": EVENT_TYPE,
                     "event_payload": {"alert_id": claimed.id, "key": claimed.key}}}
    if thread_ts:
        args["thread_ts"] = thread_ts
    try:
        resp = _call(client, "chat.postMessage", **args)
    except SlackRejected as exc:
        if not thread_ts or str(exc) != "thread_not_found":
            raise
        # the thread's first message was deleted in Slack: post at the top level instead
        logger.info("alert %s: thread %s is gone; posting at the top level", claimed.id,
                    thread_ts)
        thread_ts = ""
        args.pop("thread_ts")
        resp = _call(client, "chat.postMessage", **args)
    ts = str(resp["ts"])
    _mark_sent(storage, claimed, ts, str(resp.get("channel") or channel_id), thread_ts)
    return ts, False


def deliver_report(config: Config, storage: Storage, *, force: bool = False,
                   worker: str | None = None, client: WebClient | None = None) -> Report:
    """Deliver what is due (``force``: everything pending, ignoring backoff)."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    client = client or make_client()
    report = Report()
    try:
        _call(client, "auth.test")
    except SlackSetupError as exc:
        report.problem = _setup_line(str(exc), config.slack_channel)
    except SlackOutage as exc:
        report.problem = f"Slack is unavailable: {exc}"
    if report.problem:
        _note_all_pending(storage, report.problem)
        report.pending = _pending_count(storage)
        return report
    channel_id = resolve_channel(client, storage, config.slack_channel)
    while True:
        claimed = claim_next(storage, worker, force=force)
        if claimed is None:
            break
        tries = 0
        while True:
            tries += 1
            try:
                _ts, recovered = deliver_one(client, storage, config, claimed, worker,
                                             channel_id)
                if recovered:
                    report.recovered += 1
                else:
                    report.sent += 1
                if not channel_id:
                    channel_id = resolve_channel(client, storage, config.slack_channel)
                break
            except SlackOutage as exc:
                if exc.maybe_posted and tries < POST_TRIES:
                    logger.info("alert %s: %s; checking Slack before trying again",
                                claimed.id, exc)
                    time.sleep(POST_PAUSE * 2 ** (tries - 1))
                    claimed = _reload(storage, claimed)
                    continue
                when = utcnow() + backoff(claimed.attempts, exc.retry_after)
                _release(storage, claimed, worker, error=str(exc), next_at=when,
                         keep_post_marker=exc.maybe_posted or claimed.post_started_at is not None)
                report.problem = f"Slack is unavailable: {exc}"
            except SlackSetupError as exc:
                _release(storage, claimed, worker, error=_setup_line(str(exc),
                                                                     config.slack_channel),
                         count_attempt=False)
                report.problem = _setup_line(str(exc), config.slack_channel)
            except SlackRejected as exc:
                logger.warning("alert %s rejected by Slack: %s", claimed.id, exc)
                _release(storage, claimed, worker, error=f"Slack rejected it: {exc}",
                         status="failed",
                         keep_post_marker=claimed.post_started_at is not None)
                report.failed += 1
            except LeaseLost as exc:
                logger.warning("%s", exc)
            except BaseException:  # noqa: BLE001 - re-raised after freeing the row
                # our own failure (or an interrupt): free the row, keep the post marker so
                # the next try looks in Slack before posting again
                try:
                    _release(storage, claimed, worker, error="interrupted during delivery",
                             next_at=None)
                finally:
                    raise
            break
        if report.problem:
            break
    if report.problem:
        _note_all_pending(storage, report.problem)
    report.pending = _pending_count(storage)
    return report


def _reload(storage: Storage, claimed: Claimed) -> Claimed:
    with storage.session() as s:
        a = s.get(Alert, claimed.id)
        assert a is not None
        return Claimed(id=a.id, document_id=a.document_id, key=a.delivery_key,
                       post_started_at=a.post_started_at, channel_id=a.channel_id,
                       thread_ts=a.thread_ts, attempts=a.attempts, thread_key=a.thread_key)


def deliver_slack(config: Config, storage: Storage, pending: list[Alert] | None = None) -> str:
    """After a crawl: deliver what is due; one summary line. ``pending`` is informational —
    rows are claimed from the database, where other workers may have taken some."""
    return deliver_report(config, storage).line


def requeue_failed(storage: Storage) -> int:
    """Put alerts Slack rejected back in the queue (after fixing what was wrong)."""
    with storage.session() as s:
        res = s.execute(update(Alert).where(Alert.status == "failed").values(
            status="pending", next_attempt_at=None, claimed_by="", claimed_until=None)
            .execution_options(synchronize_session=False))
        return int(getattr(res, "rowcount", 0) or 0)


__all__ = ["Report", "SlackOutage", "SlackRejected", "SlackSetupError", "backoff",
           "claim_next", "deliver_one", "deliver_report", "deliver_slack", "find_posted",
           "make_client", "requeue_failed", "resolve_channel"]
