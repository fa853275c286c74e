"""Outbox delivery: Slack when SLACK_BOT_TOKEN is set, else the console (alerts stay pending).

Channels are a plain registry: ``slack`` sends (trustwatch.alerts.slack), ``console`` shows
the same Block Kit message as terminal text (trustwatch.alerts.console)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from trustwatch.alerts.console import render_console
from trustwatch.config import Config
from trustwatch.storage import Storage


@dataclass(frozen=True)
class Outcome:
    """One delivery run: the summary line, and whether it failed (exit 1)."""

    line: str
    ok: bool


def deliver(config: Config, storage: Storage) -> str:
    """Deliver pending alerts; return one summary line (empty when nothing was pending)."""
    return deliver_outcome(config, storage).line


def deliver_outcome(config: Config, storage: Storage, *, force: bool = False) -> Outcome:
    """``force`` (``alerts retry``): every pending alert now, ignoring the retry backoff."""
    pending = storage.alerts("pending")
    if not pending:
        return Outcome("", True)
    if not os.environ.get("SLACK_BOT_TOKEN"):
        for alert in pending:
            print(render_console(storage, alert, config))
            print()
        return Outcome(f"alerts: {len(pending)} pending, shown above; set SLACK_BOT_TOKEN to "
                       "send them to Slack", True)
    from trustwatch.alerts.slack import deliver_report

    report = deliver_report(config, storage, force=force)
    return Outcome(report.line, report.ok)
