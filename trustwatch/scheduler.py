"""`trustwatch schedule`: APScheduler in the foreground, one job per source.

Scrapy's reactor cannot restart, so every run is a child process
(``python -m trustwatch --config … crawl SOURCE``) in its own process group, killed as a
group when it outlives its timeout. ``every`` slots count from local midnight of
2024-01-01 in the configured time zone ("every 6h" runs at 00:00, 06:00, 12:00, 18:00), so
``trustwatch status`` can say when the next run is without asking the scheduler. A source
whose last run is older than its last slot (or that never ran) is crawled at start.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from trustwatch.config import Config, SourceConfig
from trustwatch.storage import Storage, utcnow

logger = logging.getLogger("trustwatch.scheduler")

ANCHOR = datetime(2024, 1, 1)  # local midnight that `every` slots count from
TERM_WAIT = 10.0  # seconds a crawl gets to record itself after SIGTERM before SIGKILL
BUSY_MARK = "already being crawled"  # the crawl command's words when the source is locked


@dataclass(frozen=True)
class ScheduleOptions:
    timeout: float = 3600.0  # seconds one crawl may take before its process group is killed
    grace: float = 30.0  # on SIGTERM/Ctrl-C, seconds a running crawl may take to finish
    jitter: int | None = None  # seconds; None: 5% of the interval, at most 5 minutes
    heartbeat: str | None = None  # "HH:MM" local time of the daily all-quiet message


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT to leave the scheduler's loop."""


def default_jitter(source: SourceConfig) -> int:
    if source.every is None:
        return 60
    return int(min(300.0, source.every.total_seconds() * 0.05))


def trigger_for(source: SourceConfig, tz: str, jitter: int | None = None) -> BaseTrigger:
    """The APScheduler trigger of a source's `every` or `cron`, in the configured zone."""
    zone = ZoneInfo(tz)
    j = default_jitter(source) if jitter is None else jitter
    if source.cron:
        return _cron(source.cron, zone, j)
    every = source.every or timedelta(hours=6)
    return _Slots(IntervalTrigger(seconds=every.total_seconds(),
                                  start_date=ANCHOR.replace(tzinfo=zone), timezone=zone,
                                  jitter=j or None))


class _Slots(BaseTrigger):
    """An interval trigger that stays on its anchored slots: IntervalTrigger counts from the
    previous fire time, so a catch-up run at start would shift every later run."""

    def __init__(self, inner: IntervalTrigger) -> None:
        self.inner = inner

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        if previous_fire_time is not None:
            now = max(now, previous_fire_time + timedelta(microseconds=1))
        fire: datetime | None = self.inner.get_next_fire_time(None, now)
        return fire

    def __str__(self) -> str:
        return str(self.inner)


def _cron(expr: str, zone: ZoneInfo, jitter: int) -> CronTrigger:
    """CronTrigger.from_crontab, with jitter (from_crontab takes none)."""
    minute, hour, day, month, dow = expr.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow,
                       timezone=zone, jitter=jitter or None)


def next_run(source: SourceConfig, tz: str, now: datetime | None = None) -> datetime | None:
    """The next slot of a source (before jitter)."""
    zone = ZoneInfo(tz)
    now = (now or datetime.now(zone)).astimezone(zone)
    fire: datetime | None = trigger_for(source, tz, 0).get_next_fire_time(None, now)
    return fire


def misfire_grace(source: SourceConfig) -> int:
    if source.every is None:
        return 600
    return int(min(3600.0, max(1.0, source.every.total_seconds() / 2)))


def _describe(source: SourceConfig) -> str:
    if source.cron:
        return f"cron '{source.cron}'"
    secs = int(source.every.total_seconds()) if source.every else 0
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"every {secs // size}{unit}"
    return f"every {secs}s"


class Scheduler:
    """Runs each source's crawls on its schedule until SIGTERM or Ctrl-C."""

    def __init__(self, config: Config, options: ScheduleOptions | None = None) -> None:
        self.config = config
        self.options = options or ScheduleOptions()
        self.zone = ZoneInfo(config.timezone)
        self._lock = threading.Lock()
        self._active: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._stop_deadline: float | None = None
        self._storage: Storage | None = None
        self._due_now: set[str] = set()

    # -- the crawl of one source ------------------------------------------------------------
    def crawl_command(self, slug: str) -> list[str]:
        cmd = [sys.executable, "-m", "trustwatch"]
        if self.config.path != "<built-in>":
            cmd += ["--config", str(Path(self.config.path).resolve())]
        return [*cmd, "crawl", slug]

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = Storage.open(self.config.database)
        return self._storage

    def _last_run_id(self, slug: str) -> int:
        runs = self.storage.runs(slug, limit=1)
        return runs[0][0].id if runs else 0

    def run_crawl(self, slug: str) -> str:
        """One scheduled run: a child process with a timeout. Returns the log line."""
        if self._stopping.is_set():
            return f"{slug}: not started, stopping"
        before = self._last_run_id(slug)
        started, t0 = utcnow(), time.monotonic()
        outcome = ""
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(self.crawl_command(slug), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            with self._lock:
                self._active[slug] = proc
            try:
                outcome = self._wait(proc, t0)
            finally:
                with self._lock:
                    self._active.pop(slug, None)
            out.seek(0)
            output = out.read().decode("utf-8", "replace")
        duration = time.monotonic() - t0
        for line in output.splitlines():
            logger.debug("%s| %s", slug, line)
        line = self._record(slug, proc, outcome, before, started, duration, output)
        level = logging.INFO if line.split(": ", 1)[1].startswith("ok ") else logging.WARNING
        logger.log(level, "%s", line)
        return line

    def _wait(self, proc: subprocess.Popen[bytes], t0: float) -> str:
        outcome, term_at = "", 0.0
        while True:
            try:
                proc.wait(timeout=0.2)
                return outcome
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            deadline = self._stop_deadline
            if not outcome and now - t0 >= self.options.timeout:
                outcome = "timeout"
                _kill_group(proc, signal.SIGKILL)  # hung: no second chances
            elif deadline is not None and now >= deadline:
                if not term_at:
                    outcome = outcome or "stopped"
                    term_at = now
                    _kill_group(proc, signal.SIGTERM)  # Scrapy closes the run as interrupted
                elif now - term_at >= TERM_WAIT:
                    _kill_group(proc, signal.SIGKILL)

    def _record(self, slug: str, proc: subprocess.Popen[bytes], outcome: str, before: int,
                started: datetime, duration: float, output: str) -> str:
        from trustwatch.health import close_unfinished_runs, record_failed_run

        rc = proc.returncode
        local = started.astimezone(self.zone)
        when = f"{local:%H:%M:%S}.{local.microsecond // 1000:03d} {local:%Z}"
        head = f"{slug}: %s in {duration:.1f}s, started {when}, pid {proc.pid}, exit {rc}"
        source = self.config.source(slug)
        if outcome == "timeout":
            reason = f"crawl timed out after {self.options.timeout:g}s; killed by the scheduler"
            if not close_unfinished_runs(self.storage, slug, "failed", reason, after_id=before):
                record_failed_run(self.storage, slug, source.kind, reason, started)
            self._health(slug)
            return head % "failed" + f": {reason}"
        if outcome == "stopped":
            # after SIGTERM Scrapy drops queued requests, whatever the run recorded itself as
            close_unfinished_runs(self.storage, slug, "interrupted",
                                  "the scheduler stopped; crawl interrupted", after_id=before,
                                  statuses=("running", "ok", "failed"))
            return head % "interrupted" + ": the scheduler stopped"
        if rc != 0 and BUSY_MARK in output:
            return head % "skipped" + ": another crawl of this source is running"
        runs = [r for r, _ in self.storage.runs(slug, limit=1) if r.id > before]
        last_out = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "")
        if not runs or runs[0].status == "running":
            reason = f"crawl process exited with code {rc}: {last_out[:300]}"
            if not close_unfinished_runs(self.storage, slug, "failed", reason, after_id=before):
                record_failed_run(self.storage, slug, source.kind, reason, started)
            self._health(slug)
            return head % "failed" + f": {reason}"
        c = runs[0].counts  # the crawl's summary words, without importing Scrapy here
        counts = ", ".join(f"{label} {int(c.get(key, 0))}" for key, label in (
            ("fetched", "fetched"), ("not_modified", "not modified"), ("new", "new"),
            ("changed", "changed"), ("removed", "removed"), ("failed", "failed")))
        return head % runs[0].status + ": " + counts

    def _health(self, slug: str) -> None:
        """The child died before its own health check: do it here, under the source lock."""
        from trustwatch.alerts import deliver
        from trustwatch.health import evaluate
        from trustwatch.locks import SourceBusy, source_lock

        try:
            with source_lock(self.config.database, slug):
                evaluate(self.config, self.storage, [slug])
                report = deliver(self.config, self.storage)
                if report:
                    logger.info("%s", report)
        except SourceBusy:
            logger.info("%s: health check left to the crawl now running", slug)
        except Exception:
            logger.exception("%s: health check failed", slug)

    def heartbeat(self) -> None:
        from trustwatch.alerts import deliver
        from trustwatch.health import heartbeat

        heartbeat(self.config, self.storage)
        report = deliver(self.config, self.storage)
        logger.info("heartbeat queued%s", f"; {report}" if report else "")

    # -- the scheduler ----------------------------------------------------------------------
    def _overdue(self, slug: str, source: SourceConfig, now: datetime) -> bool:
        runs = self.storage.runs(slug, limit=1)
        if not runs:
            return True
        nxt = trigger_for(source, self.config.timezone, 0).get_next_fire_time(
            None, runs[0][0].started_at.astimezone(self.zone))
        return nxt is not None and nxt <= now

    def build(self) -> BlockingScheduler:
        workers = max(2, len(self.config.sources) + 1)
        sched = BlockingScheduler(timezone=self.zone,
                                  executors={"default": ThreadPoolExecutor(workers)})
        now = datetime.now(self.zone)
        for i, (slug, source) in enumerate(self.config.sources.items()):
            extra: dict[str, Any] = {}
            if self._overdue(slug, source, now):
                extra["next_run_time"] = now + timedelta(seconds=i)  # a little apart
                self._due_now.add(slug)
            sched.add_job(self.run_crawl, trigger_for(source, self.config.timezone,
                                                      self.options.jitter),
                          args=[slug], id=slug, name=f"crawl {slug}", coalesce=True,
                          max_instances=1, misfire_grace_time=misfire_grace(source), **extra)
        if self.options.heartbeat:
            hour, minute = (int(x) for x in self.options.heartbeat.split(":"))
            sched.add_job(self.heartbeat, CronTrigger(hour=hour, minute=minute,
                                                      timezone=self.zone),
                          id="heartbeat", name="heartbeat", coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
        return sched

    def run(self) -> int:
        """Block until SIGTERM/SIGINT; then let running crawls finish within the grace."""
        sched = self.build()
        for job in sched.get_jobs():
            what = (_describe(self.config.source(job.id)) if job.id in self.config.sources
                    else f"daily at {self.options.heartbeat}")
            when = ("now" if job.id in self._due_now else
                    f"{job.next_run_time:%Y-%m-%d %H:%M:%S %Z}")
            logger.info("%s: %s, next run %s", job.id, what, when)
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            try:
                sched.start()
            except _Stop:
                pass
            self._stopping.set()
            self._stop_deadline = time.monotonic() + self.options.grace
            sched.shutdown(wait=False)
            with self._lock:
                running = sorted(self._active)
            if running:
                logger.info("stopping: waiting up to %gs for %s", self.options.grace,
                            ", ".join(running))
            while True:
                with self._lock:
                    if not self._active:
                        break
                try:
                    time.sleep(0.2)
                except _Stop:
                    self._stop_deadline = time.monotonic()  # asked twice: stop now
            # job threads record what they stopped; wait for them to finish writing
            sched.shutdown(wait=True) if sched.running else _join_executor(sched)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if self._storage is not None:
                self._storage.close()
        logger.info("stopped")
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        raise _Stop()


def _join_executor(sched: BlockingScheduler) -> None:
    executor = sched._executors.get("default")
    if executor is not None:
        executor._pool.shutdown(wait=True)


def _kill_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)  # the crawl is its own group leader (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
