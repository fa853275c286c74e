"""Alerts as terminal text (no token, or the demo): the Slack message, block by block."""

from __future__ import annotations

from trustwatch.alerts.message import build_message, load_facts, render_text
from trustwatch.config import Config
from trustwatch.storage import Alert, Storage


def render_console(storage: Storage, alert: Alert, config: Config | None = None) -> str:
    """What Slack would show for this alert, as plain text."""
    config = config or Config()
    with storage.session() as s:
        row = s.get(Alert, alert.id)
        if row is None:
            return f"[{alert.kind}] alert {alert.id} (missing)"
        reply = bool(row.document_id) and _has_earlier(storage, row)
        msg = build_message(load_facts(s, row, config, reply=reply))
    return render_text(msg)


def _has_earlier(storage: Storage, alert: Alert) -> bool:
    """A later alert for a document would go to that document's thread."""
    from sqlalchemy import func, select

    with storage.session() as s:
        n = s.scalar(select(func.count(Alert.id)).where(Alert.document_id == alert.document_id,
                                                        Alert.id < alert.id))
    return bool(n)
