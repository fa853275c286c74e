"""Alerts as plain terminal text (no token, or the demo)."""

from __future__ import annotations

from trustwatch.storage import Alert, Storage


def render_console(storage: Storage, alert: Alert) -> str:
    if alert.change_id is None:
        return f"[{alert.kind}] {alert.title}\n  {alert.body}".rstrip()
    found = storage.change(alert.change_id)
    if found is None:
        return f"[{alert.kind}] change {alert.change_id} (missing)"
    ch, doc, src = found
    lines = [f"[{src.slug}] {ch.kind}: {doc.title or doc.url}", f"  {doc.url}"]
    if ch.summary:
        lines.append(f"  {ch.summary}")
    lines.append(f"  trustwatch diff {ch.id}")
    return "\n".join(lines)
