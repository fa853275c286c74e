"""Outbox delivery: Slack when SLACK_BOT_TOKEN is set, else the console (alerts stay pending)."""

from __future__ import annotations

import os

from trustwatch.alerts.console import render_console
from trustwatch.config import Config
from trustwatch.storage import Storage


def deliver(config: Config, storage: Storage) -> str:
    """Deliver pending alerts; return one summary line (empty when nothing was pending)."""
    pending = storage.alerts("pending")
    if not pending:
        return ""
    if not os.environ.get("SLACK_BOT_TOKEN"):
        for alert in pending:
            print(render_console(storage, alert))
        return (f"alerts: {len(pending)} pending, shown above; set SLACK_BOT_TOKEN to send "
                "them to Slack")
    from trustwatch.alerts.slack import deliver_slack

    return deliver_slack(config, storage, pending)
