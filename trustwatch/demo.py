"""`trustwatch demo`: the bundled copy of the three sites on loopback, crawled at version 1
(the baseline), then at version 2; prints what changed, the alerts and the archive path.
Each crawl is a child process, exactly as the scheduler runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import click


def _run(args: list[str], env: dict[str, str]) -> int:
    cmd = [sys.executable, "-m", "trustwatch", *args]
    proc = subprocess.run(cmd, check=False, env=env, text=True, capture_output=True)
    out = (proc.stdout + proc.stderr).rstrip()
    if out:
        click.echo(out)
    return proc.returncode


def run_demo(workdir: str) -> int:
    from trustwatch.fixtures import FixtureSites

    start = time.monotonic()
    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):  # the demo always starts fresh
        (root / name).unlink(missing_ok=True)
    db = f"sqlite:///{root / 'demo.db'}"
    env = {k: v for k, v in os.environ.items() if k not in ("TRUSTWATCH_DB", "TRUSTWATCH_CONFIG")}
    with FixtureSites(version=1) as sites:
        config = root / "watchlist.toml"
        config.write_text(sites.watchlist_toml(db, archive_dir=str(root / "archive")),
                          encoding="utf-8")
        base = ["--config", str(config)]
        click.secho(f"Fixture sites on loopback: {', '.join(sites.urls.values())}", bold=True)
        click.secho("\n== Crawl 1: version 1 of the sites (the baseline, no per-document "
                    "alerts)", bold=True)
        _run([*base, "crawl"], env)
        sites.version = 2
        click.secho("\n== Crawl 2: version 2 (a new ERO agreement, a gang-file criterion, a new "
                    "AG report, a new bill action …)", bold=True)
        _run([*base, "crawl"], env)
    click.secho("\n== Changes with matched terms", bold=True)
    _run([*base, "changes"], env)
    archive = root / "archive"
    if _has_command("archive"):
        _run([*base, "archive", "build", str(archive)], env)
        click.secho(f"\nArchive: {archive / 'index.html'}", bold=True)
    click.echo(f"\nDemo database: {root / 'demo.db'}  (try: trustwatch --config {config} "
               "changes --all)")
    click.echo(f"Demo finished in {time.monotonic() - start:.1f}s")
    return 0


def _has_command(name: str) -> bool:
    from trustwatch.cli import main

    return name in main.commands  # type: ignore[attr-defined]
