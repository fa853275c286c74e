"""trustwatch command line: parse, call, print. Exit 0 ok, 1 failed run, 2 usage/config."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click

from trustwatch.config import Config, ConfigError, load_config


class Ctx:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def storage(self) -> Any:
        from trustwatch.storage import Storage

        return Storage.open(self.config.database)


def handles_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Config and storage problems: one plain line, exit 2 (config) or 1 (run)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from trustwatch.storage import StorageError

        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"trustwatch: config error: {exc}", err=True)
            sys.exit(2)
        except StorageError as exc:
            click.echo(f"trustwatch: {exc}", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="watchlist.toml (default ./watchlist.toml, then $TRUSTWATCH_CONFIG, then the "
                   "built-in watchlist of the real sites)")
@click.version_option(package_name="trustwatch")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Watch ISP, AG and ILGA documents about LEADS and the TRUST Act; keep every version."""
    ctx.obj = Ctx(config_path)


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--no-alerts", is_flag=True, help="store and diff, but do not deliver alerts")
@click.pass_obj
@handles_errors
def crawl(obj: Ctx, sources: tuple[str, ...], no_alerts: bool) -> None:
    """Crawl SOURCES (default: all), store versions, record changes, deliver alerts."""
    from trustwatch.crawl import run_crawls
    from trustwatch.pipelines import summary_line

    config = obj.config
    slugs = list(sources) or list(config.sources)
    for slug in slugs:
        config.source(slug)  # unknown source -> exit 2 before any work
    from trustwatch.runtime import open_storage

    storage = open_storage(config.database)  # migrated once; the crawl reuses it
    from trustwatch.health import close_unfinished_runs, evaluate
    from trustwatch.locks import SourceBusy, acquire

    held, busy = [], False
    for slug in list(slugs):  # one writer per source; the locks end with this process
        try:
            held.append(acquire(config.database, slug))
        except SourceBusy as exc:
            click.echo(f"trustwatch: {exc}", err=True)
            slugs.remove(slug)
            busy = True
    if not slugs:
        sys.exit(1)
    for slug in slugs:  # we hold the lock, so a "running" run is a crawl that died
        close_unfinished_runs(storage, slug, "interrupted",
                              "the crawl process stopped before it finished")
    from trustwatch.storage import utcnow

    started = utcnow()
    progress = _progress(slugs)
    try:
        results = run_crawls(config, slugs, on_item=progress.advance if progress else None)
    finally:
        if progress:
            progress.stop()
    failed = False
    for r in results:
        click.echo(summary_line(r.slug, r.counts) + ("" if r.status == "ok" else
                                                     f" [{r.status}]"))
        for p in r.problems[:20]:
            click.echo(f"  ! {p}")
        if len(r.problems) > 20:
            click.echo(f"  ! … and {len(r.problems) - 20} more (trustwatch status)")
        failed |= r.status != "ok"
    for line in evaluate(config, storage, slugs).lines():
        click.echo(line)
    if not no_alerts:
        from trustwatch.alerts import deliver_outcome

        outcome = deliver_outcome(config, storage, new_since=started)
        if outcome.line:
            click.echo(outcome.line)
        failed |= not outcome.ok  # alerts stay pending; cron/monitoring should notice
    sys.exit(1 if failed or busy else 0)


class _Progress:
    def __init__(self, slugs: list[str]) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.p = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                          TextColumn("{task.completed} documents"), TimeElapsedColumn(),
                          transient=True)
        self.tasks = {s: self.p.add_task(f"crawling {s}", total=None) for s in slugs}
        self.p.start()

    def advance(self, slug: str, item: Any) -> None:
        if getattr(item, "role", "") != "index":
            self.p.advance(self.tasks[slug])

    def stop(self) -> None:
        self.p.stop()


def _progress(slugs: list[str]) -> _Progress | None:
    return _Progress(slugs) if sys.stderr.isatty() and sys.stdout.isatty() else None


@main.command()
@click.argument("url")
@click.pass_obj
@handles_errors
def check(obj: Ctx, url: str) -> None:
    """Fetch and extract one URL; print its text and term matches. Stores nothing."""
    from trustwatch.extract import ExtractionError, extract, normalise
    from trustwatch.fetch import FetchError, fetch_once
    from trustwatch.relevance import Relevance

    config = obj.config
    try:
        resp = fetch_once(url, user_agent=config.user_agent, timeout=config.crawl.timeout,
                          max_bytes=config.crawl.max_bytes)
    except FetchError as exc:
        click.echo(f"trustwatch: {url}: {exc}", err=True)
        sys.exit(1)
    try:
        ex = extract(resp.body, resp.content_type, resp.url)
    except ExtractionError as exc:
        click.echo(f"trustwatch: {url}: cannot read: {exc}", err=True)
        sys.exit(1)
    text = normalise(ex.text)
    click.echo(f"# {ex.title or url}")
    click.echo(f"# {resp.status} {resp.content_type} {len(resp.body)} bytes, {ex.kind}"
               + (f", {ex.pages} pages" if ex.pages else ""))
    for note in ex.notes:
        click.echo(f"# note: {note}")
    click.echo(text)
    matches = Relevance(config.terms).for_text(text)
    click.echo("")
    if not matches:
        click.echo("matched terms: none")
    for m in matches:
        where = f" ({m.label})" if m.label else ""
        click.echo(f"matched {m.group}: {m.term!r}{where}: {m.excerpt}")


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _terms(matches: list[dict[str, str]]) -> str:
    return ", ".join(dict.fromkeys(m["term"] for m in matches))


@main.command()
@click.option("--source", "source", help="only this source")
@click.option("--since", help="only changes detected on or after this date (YYYY-MM-DD)")
@click.option("--all", "show_all", is_flag=True,
              help="include changes without matched terms and first-crawl baselines")
@click.pass_obj
@handles_errors
def changes(obj: Ctx, source: str | None, since: str | None, show_all: bool) -> None:
    """List detected changes: id, time, source, kind, title, matched terms."""
    since_dt = _parse_date(since)
    storage = obj.storage()
    rows = storage.changes(source=source, since=since_dt, relevant_only=not show_all)
    if not show_all:
        rows = [r for r in rows if not r[0].baseline]
    if not rows:
        click.echo("no changes" + ("" if show_all else " with matched terms (try --all)"))
        return
    for ch, doc, src in rows:
        when = ch.detected_at.strftime("%Y-%m-%d %H:%M")
        title = (doc.title or doc.url)[:70]
        mark = f" [{ch.review}]" if ch.review else ""
        click.echo(f"{ch.id:>5}  {when}  {src.slug:<5} {ch.kind:<8} {title}  "
                   f"{_terms(ch.matches) or '-'}{mark}")


@main.command()
@click.pass_obj
@handles_errors
def status(obj: Ctx) -> None:
    """Per source: last run, result, documents, last change, health problems, next run.

    Exits 1 while a health problem is open, so cron or monitoring can watch it."""
    from trustwatch.crawl import last_runs
    from trustwatch.health import open_problems
    from trustwatch.scheduler import next_run

    config = obj.config
    storage = obj.storage()
    runs = last_runs(storage)
    docs = storage.documents()
    problems = open_problems(storage)
    for slug in config.sources:
        nxt = next_run(config.source(slug), config.timezone)
        when = f"next run {nxt:%Y-%m-%d %H:%M %Z}" if nxt else "no next run"
        if slug not in runs:
            click.echo(f"{slug}: never crawled, {when} (when trustwatch schedule runs)")
            continue
        run, src = runs[slug]
        n = sum(1 for d in docs if d.state == "active" and d.source_id == src.id)
        chs = storage.changes(source=slug, relevant_only=False)
        last = chs[-1][0].detected_at.strftime("%Y-%m-%d %H:%M") if chs else "none"
        dur = ((run.finished_at - run.started_at).total_seconds() if run.finished_at else None)
        click.echo(f"{slug}: last run {run.started_at:%Y-%m-%d %H:%M} UTC, {run.status}"
                   + (f" in {dur:.1f}s" if dur is not None else "")
                   + f", {n} documents, last change {last}, {when}")
        for p, _s in (row for row in problems if row[1].slug == slug):
            click.echo(f"  ! health since {p.opened_at:%Y-%m-%d %H:%M} UTC: {p.detail}")
        for line in run.problems[:5]:
            click.echo(f"  - {line}")
        if len(run.problems) > 5:
            click.echo(f"  - … and {len(run.problems) - 5} more notes from that run")
    if problems:
        click.echo(f"{len(problems)} health problem{'s' if len(problems) != 1 else ''} open")
    sys.exit(1 if problems else 0)


@main.command()
@click.pass_obj
@handles_errors
def bills(obj: Ctx) -> None:
    """Watched bills: last action, text versions, statute sections they amend."""
    from trustwatch.bills import watched_bills

    rows = watched_bills(obj.config, obj.storage())
    if not rows:
        click.echo("no bills captured yet (run: trustwatch crawl ilga)")
        return
    for b in rows:
        click.echo(f"{b.bill}  {b.title}" + (f"  [discovered: {b.discovered}]"
                                             if b.discovered else ""))
        click.echo(f"  last action: {b.last_action or 'unknown'}")
        if b.statutes:
            click.echo(f"  amends: {', '.join(b.statutes)}")
        if b.shell_rewrite:
            click.echo("  shell bill: an amendment replaces everything after the enacting "
                       "clause")
        click.echo(f"  text versions: {', '.join(b.versions) or 'none captured'}")
        click.echo(f"  status: {b.web_url}")


REVIEW_MARKS = ("reviewed", "newsworthy", "noise")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _plain(text: str) -> str:
    """Scraped text for a terminal: no control sequences, one line."""
    return " ".join(_CONTROL.sub("\ufffd", text).split())


def _when(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "-"
    from zoneinfo import ZoneInfo

    local = moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")
    return f"{local} ({moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"


def _read_document(path: str) -> tuple[str, str]:
    """(normalised text, title) of a local text, HTML or PDF file, as the crawl would read it."""
    import mimetypes
    from pathlib import Path

    from trustwatch.extract import ExtractionError, extract, normalise

    p = Path(path)
    try:
        ex = extract(p.read_bytes(), mimetypes.guess_type(p.name)[0] or "", p.resolve().as_uri())
    except (ExtractionError, OSError) as exc:
        click.echo(f"trustwatch: {path}: cannot read: {exc}", err=True)
        sys.exit(1)
    return normalise(ex.text), ex.title


@main.command("diff")
@click.argument("change_id", required=False, type=int)
@click.option("--files", nargs=2, type=click.Path(exists=True, dir_okay=False), metavar="OLD NEW",
              help="diff two local files (text, HTML or PDF) instead of a stored change")
@click.option("--context", default=25, show_default=True, type=click.IntRange(0),
              help="unchanged words shown either side of an edit (0: whole lines)")
@click.pass_obj
@handles_errors
def diff_cmd(obj: Ctx, change_id: int | None, files: tuple[str, str] | None,
             context: int) -> None:
    """Print a change's word diff (CHANGE_ID from `changes`), or diff two local files."""
    from trustwatch.archive.build import document_title
    from trustwatch.diff import diff_texts, from_json, render_terminal

    color = sys.stdout.isatty()
    if (change_id is None) == (not files):
        raise click.UsageError("give either CHANGE_ID or --files OLD NEW")
    if files:
        (old, old_title), (new, new_title) = (_read_document(f) for f in files)
        click.echo(click.style(f"--- {files[0]}" + (f"  ({_plain(old_title)})" if old_title
                                                     else ""), bold=color))
        click.echo(click.style(f"+++ {files[1]}" + (f"  ({_plain(new_title)})" if new_title
                                                     else ""), bold=color))
        click.echo(render_terminal(diff_texts(old, new), color=color, context=context), nl=False)
        return
    assert change_id is not None
    storage = obj.storage()
    row = storage.change(change_id)
    if row is None:
        click.echo(f"trustwatch: no change with id {change_id} (see `trustwatch changes --all`)",
                   err=True)
        sys.exit(1)
    ch, doc, src = row
    version = storage.version(ch.version_id) if ch.version_id else None
    prev = storage.version(ch.prev_version_id) if ch.prev_version_id else None
    if ch.diff:
        d = from_json(ch.diff)
    else:  # a new or removed document: its whole text, added or gone
        d = diff_texts(storage.text(prev) if prev else "", storage.text(version) if version else "")
    tz = obj.config.timezone
    name = obj.config.sources[src.slug].name if src.slug in obj.config.sources else src.slug
    flags = [ch.kind] + (["relevant"] if ch.relevant else []) + (
        ["baseline"] if ch.baseline else []) + ([f"marked {ch.review}"] if ch.review else [])
    title = _plain(document_title(doc, [v for v in (version, prev) if v is not None]))
    labels = list(dict.fromkeys(h.label for h in d.hunks if h.label)) or list(
        dict.fromkeys(m.get("label", "") for m in ch.matches if m.get("label")))
    click.echo(click.style(f"change {ch.id} · {' · '.join(flags)} · {src.slug} ({name})",
                           bold=color))
    click.echo(f"title:  {title or '-'}")
    click.echo(f"url:    {_plain(doc.url)}")
    for side, v in (("before", prev), ("after", version)):
        if v is not None:
            click.echo(f"{side + ':':<7} version {v.seq}, captured {_when(v.fetched_at, tz)}, "
                       f"HTTP {v.http_status}, sha256 {v.raw_sha256[:16]}…")
    if labels:
        click.echo(f"where:  {', '.join(_plain(x) for x in labels)}")
    if ch.summary:
        click.echo(f"terms:  {_plain(ch.summary)}")
    click.echo("")
    click.echo(render_terminal(d, color=color, context=context), nl=False)


@main.command()
@click.argument("change_id", type=int)
@click.argument("mark", type=click.Choice(REVIEW_MARKS))
@click.pass_obj
@handles_errors
def mark(obj: Ctx, change_id: int, mark: str) -> None:
    """Record an editor's review mark on a change (shown in the archive)."""
    from trustwatch.storage import Change, utcnow

    storage = obj.storage()
    with storage.session() as s:
        ch = s.get(Change, change_id)
        if ch is None:
            click.echo(f"trustwatch: no change with id {change_id} (see `trustwatch changes "
                       "--all`)", err=True)
            sys.exit(1)
        before = ch.review
        ch.review = mark  # editorial metadata: the one in-place update on a change
        ch.reviewed_at = utcnow()
    click.echo(f"change {change_id}: {mark}" + (f" (was {before})" if before and
                                               before != mark else ""))


@main.group()
def archive() -> None:
    """The static diff archive editors browse and link to."""


@archive.command("build")
@click.argument("outdir", required=False, type=click.Path(file_okay=False))
@click.pass_obj
@handles_errors
def archive_build(obj: Ctx, outdir: str | None) -> None:
    """Write or update the archive in OUTDIR (default: archive_dir from the config)."""
    from trustwatch.archive import build_archive

    config = obj.config
    report = build_archive(obj.storage(), outdir or config.archive_dir, tz=config.timezone,
                           archive_url=config.archive_url)
    click.echo(report.line())


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="port on 127.0.0.1 (0: any free port)")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="archive directory (default: archive_dir from the config)")
@click.pass_obj
@handles_errors
def serve(obj: Ctx, port: int, directory: str | None) -> None:
    """Serve the built archive on 127.0.0.1 until stopped."""
    from pathlib import Path

    from trustwatch.archive.serve import make_server

    root = Path(directory or obj.config.archive_dir)
    if not (root / "index.html").is_file():
        click.echo(f"trustwatch: no archive in {root}; run `trustwatch archive build` first",
                   err=True)
        sys.exit(1)
    try:
        server = make_server(root, port)
    except OSError as exc:
        click.echo(f"trustwatch: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                   err=True)
        sys.exit(1)
    bound = server.server_address[1]
    click.echo(f"Serving {root.resolve()} at http://127.0.0.1:{bound}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.group()
def export() -> None:
    """Evidence files of everything captured."""


@export.command("warc")
@click.argument("outfile", type=click.Path(dir_okay=False))
@click.pass_obj
@handles_errors
def export_warc_cmd(obj: Ctx, outfile: str) -> None:
    """Write every captured response (versions and checks) to a gzipped WARC file."""
    from trustwatch.export import export_warc

    click.echo(export_warc(obj.storage(), outfile).line())


@main.command()
@click.option("--timeout", default=3600.0, show_default=True, type=click.FloatRange(min=1),
              help="seconds one crawl may run before its process group is killed")
@click.option("--grace", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="on SIGTERM or Ctrl-C, seconds a running crawl may take to finish")
@click.option("--jitter", type=click.IntRange(min=0),
              help="random seconds added to each run [default: 5% of the interval, at most "
                   "300; cron: 60]")
@click.option("--heartbeat", metavar="HH:MM",
              help="also send a daily all-quiet message at this local time (off by default)")
@click.option("-v", "--verbose", is_flag=True, help="also log each crawl's own output")
@click.pass_obj
@handles_errors
def schedule(obj: Ctx, timeout: float, grace: float, jitter: int | None,
             heartbeat: str | None, verbose: bool) -> None:
    """Run the scheduler in the foreground until stopped: each source on its `every`/`cron`."""
    import logging
    import re

    from trustwatch.scheduler import ScheduleOptions, Scheduler

    if heartbeat and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", heartbeat):
        raise click.BadParameter(f"not a time of day: {heartbeat!r} (use HH:MM)",
                                 param_hint="--heartbeat")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    for noisy in ("apscheduler", "alembic", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = obj.config
    obj.storage().close()  # migrate (and fail with one clear line) before scheduling
    options = ScheduleOptions(timeout=timeout, grace=grace, jitter=jitter, heartbeat=heartbeat)
    sys.exit(Scheduler(config, options).run())


@main.group()
def alerts() -> None:
    """The Slack outbox: what is pending, sent or failed."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]),
              help="only alerts with this status")
@click.pass_obj
@handles_errors
def alerts_list(obj: Ctx, status: str | None) -> None:
    """Show the outbox: id, status, kind, attempts, time, title, Slack ts or last error."""
    rows = obj.storage().alerts(status)
    if not rows:
        click.echo("no alerts" + (f" {status}" if status else ""))
        return
    for a in rows:
        when = a.created_at.strftime("%Y-%m-%d %H:%M")
        tail = f"ts {a.slack_ts}" if a.status == "sent" else (a.last_error or "")
        if a.status == "pending" and a.next_attempt_at:
            tail += f" (next try {a.next_attempt_at:%Y-%m-%d %H:%M} UTC)"
        click.echo(f"{a.id:>5}  {a.status:<7} {a.kind:<9} {a.attempts:>2}x  {when}  "
                   f"{(a.title or '-')[:60]}" + (f"  {tail}" if tail else ""))


@alerts.command("retry")
@click.option("--failed", "include_failed", is_flag=True,
              help="also put alerts Slack rejected back in the queue first")
@click.pass_obj
@handles_errors
def alerts_retry(obj: Ctx, include_failed: bool) -> None:
    """Deliver every pending alert now (ignoring the retry backoff); exit 1 if Slack fails."""
    import os

    from trustwatch.alerts import deliver_outcome

    config = obj.config
    storage = obj.storage()
    if include_failed:
        from trustwatch.alerts.slack import requeue_failed

        n = requeue_failed(storage)
        if n:
            click.echo(f"{n} failed alert{'s' if n != 1 else ''} queued again")
    if not os.environ.get("SLACK_BOT_TOKEN"):
        n = len(storage.alerts("pending"))
        click.echo(f"trustwatch: SLACK_BOT_TOKEN is not set: {n} alert{'s' if n != 1 else ''} "
                   "kept pending", err=True)
        sys.exit(1 if n else 0)
    outcome = deliver_outcome(config, storage, force=True)
    click.echo(outcome.line or "no pending alerts", err=not outcome.ok)
    sys.exit(0 if outcome.ok else 1)


@main.command()
@click.option("--dir", "workdir", default="trustwatch-demo", show_default=True,
              type=click.Path(file_okay=False), help="where the demo keeps its database")
def demo(workdir: str) -> None:
    """Crawl the bundled fixture sites (version 1, then 2) on loopback and show what changed."""
    from trustwatch.demo import run_demo

    sys.exit(run_demo(workdir))


if __name__ == "__main__":  # pragma: no cover
    main()
