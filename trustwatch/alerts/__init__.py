"""Outbox delivery: Slack when SLACK_BOT_TOKEN is set, else the console (alerts stay pending).

Channels are a plain registry: ``slack`` sends (trustwatch.alerts.slack), ``console`` shows
the same Block Kit message as terminal text (trustwatch.alerts.console)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from trustwatch.alerts.console import render_console
from trustwatch.config import Config
from trustwatch.storage import Storage


@dataclass(frozen=True)
class Outcome:
    """One delivery run: the summary line, and whether it failed (exit 1)."""

    line: str
    ok: bool


def deliver(config: Config, storage: Storage, *, new_since: datetime | None = None) -> str:
    """Deliver pending alerts; return one summary line (empty when nothing was pending).
    Without a token, only alerts created since ``new_since`` are printed again."""
    return deliver_outcome(config, storage, new_since=new_since).line


def deliver_outcome(config: Config, storage: Storage, *, force: bool = False,
                    new_since: datetime | None = None) -> Outcome:
    """``force`` (``alerts retry``): every pending alert now, ignoring the retry backoff."""
    pending = storage.alerts("pending")
    if not pending:
        return Outcome("", True)
    if not os.environ.get("SLACK_BOT_TOKEN"):
        shown = [a for a in pending if new_since is None or a.created_at >= new_since]
        for alert in shown:
            print(render_console(storage, alert, config))
            print()
        older = len(pending) - len(shown)
        return Outcome(f"alerts: {len(shown)} new shown above"
                       + (f", {older} older still pending" if older else "")
                       + "; set SLACK_BOT_TOKEN to send them to Slack", True)
    from trustwatch.alerts.slack import deliver_report

    report = deliver_report(config, storage, force=force)
    return Outcome(report.line, report.ok)
