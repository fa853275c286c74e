"""trustwatch command line: parse, call, print. Exit 0 ok, 1 failed run, 2 usage/config."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timezone
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
    obj.storage().close()  # migrate once, before Scrapy starts
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
    if not no_alerts:
        from trustwatch.alerts import deliver

        storage = obj.storage()
        report = deliver(config, storage)
        if report:
            click.echo(report)
    sys.exit(1 if failed else 0)


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
    from trustwatch.fetch import FetchError, fetch_once
    from trustwatch.extract import ExtractionError, extract, normalise
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
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


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
    """Per source: last run, result, documents, last change, problems."""
    from trustwatch.crawl import last_runs

    config = obj.config
    storage = obj.storage()
    runs = last_runs(storage)
    docs = storage.documents()
    problems = False
    for slug in config.sources:
        n = sum(1 for d in docs if d.state == "active" and runs.get(slug) and
                d.source_id == runs[slug][1].id)
        if slug not in runs:
            click.echo(f"{slug}: never crawled")
            continue
        run, _src = runs[slug]
        chs = storage.changes(source=slug, relevant_only=False)
        last = chs[-1][0].detected_at.strftime("%Y-%m-%d %H:%M") if chs else "none"
        dur = ((run.finished_at - run.started_at).total_seconds() if run.finished_at else None)
        click.echo(f"{slug}: last run {run.started_at:%Y-%m-%d %H:%M} UTC, {run.status}"
                   + (f" in {dur:.1f}s" if dur is not None else "")
                   + f", {n} documents, last change {last}")
        for p in run.problems:
            click.echo(f"  ! {p}")
        problems |= run.status != "ok" or bool(run.problems)
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


@main.command()
@click.option("--dir", "workdir", default="trustwatch-demo", show_default=True,
              type=click.Path(file_okay=False), help="where the demo keeps its database")
def demo(workdir: str) -> None:
    """Crawl the bundled fixture sites (version 1, then 2) on loopback and show what changed."""
    from trustwatch.demo import run_demo

    sys.exit(run_demo(workdir))


if __name__ == "__main__":  # pragma: no cover
    main()
