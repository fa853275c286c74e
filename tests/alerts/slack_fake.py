"""A loopback fake of the Slack Web API: real HTTP on 127.0.0.1 (port 0), driven by
slack-sdk itself. It records every request, keeps posted messages (with metadata, threads)
and plays scripted faults: 429 + Retry-After, 5xx (posted or not), slow answers, down
entirely, and Slack's own error answers (invalid_auth …).

Implements auth.test, chat.postMessage, conversations.history, conversations.replies and
conversations.list, and checks Block Kit payloads against Slack's limits like Slack does.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

TOKEN = "xoxb-trustwatch-test"
CHANNEL_ID = "C0TRUSTACT"
CHANNEL_NAME = "trust-act-watch"


@dataclass
class Fault:
    """What the next matching request gets instead of (or besides) a normal answer.

    kind: "429" (with retry_after), "500" (posted=True: Slack did the work anyway),
    "slow" (answer after `delay` seconds; the work is done first), "error" (ok=false,
    `error`), "drop" (close the connection without an answer, after doing the work).
    """

    kind: str
    method: str = "chat.postMessage"
    retry_after: int = 1
    posted: bool = False
    delay: float = 0.0
    error: str = ""


@dataclass
class Recorded:
    method: str
    params: dict[str, Any]
    status: int
    at: float
    token: str


@dataclass
class FakeSlack:
    token: str = TOKEN
    post_delay: float = 0.0  # every post takes this long (interleaves concurrent workers)
    requests: list[Recorded] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    port: int = 0
    _ts: int = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down entirely: the port refuses connections until start() again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the tests look at ---------------------------------------------------------------
    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method]

    def posts(self) -> list[dict[str, Any]]:
        return list(self.messages)

    def alert_ids(self) -> list[int]:
        return [int(m["metadata"]["event_payload"]["alert_id"]) for m in self.messages]

    # -- the API ------------------------------------------------------------------------------
    def _next_ts(self) -> str:
        self._ts += 1
        return f"{int(time.time())}.{self._ts:06d}"

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        method = urlsplit(h.path).path.rsplit("/", 1)[-1]
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        params: dict[str, Any] = {k: v[0] for k, v in parse_qs(urlsplit(h.path).query).items()}
        ctype = h.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw:
            params.update({k: v[0] for k, v in parse_qs(raw.decode()).items()})
        auth = h.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else str(params.get("token", ""))

        with self._lock:
            fault = None
            if self.faults and self.faults[0].method in (method, "*"):
                fault = self.faults.popleft()
        rec = Recorded(method, params, 0, time.time(), token)
        self.requests.append(rec)
        status, headers = 200, {}
        body: dict[str, Any] = {"ok": True}
        if fault is not None and fault.kind == "429":
            status, body = 429, {"ok": False, "error": "ratelimited"}
            headers["Retry-After"] = str(fault.retry_after)
        elif fault is not None and fault.kind == "500" and not fault.posted:
            status, body = 500, {}
        elif fault is not None and fault.kind == "error":
            body = {"ok": False, "error": fault.error}
        else:
            body = self._answer(method, params, token)
            if fault is not None and fault.kind == "500":
                status, body = 500, {}
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
        rec.status = status
        if fault is not None and fault.kind == "drop":
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        data = json.dumps(body).encode() if body else b"<html>Internal Server Error</html>"
        try:
            h.send_response(status)
            h.send_header("Content-Type", "application/json; charset=utf-8" if body else
                          "text/html")
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass

    def _answer(self, method: str, p: dict[str, Any], token: str) -> dict[str, Any]:
        if token != self.token:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {"ok": True, "url": "https://newsroom.slack.com/", "team": "Newsroom",
                    "user": "trustwatch", "team_id": "T0NEWS", "user_id": "U0TRUST",
                    "bot_id": "B0TRUST"}
        if method == "conversations.list":
            return {"ok": True, "channels": [{"id": CHANNEL_ID, "name": CHANNEL_NAME}],
                    "response_metadata": {"next_cursor": ""}}
        if method == "chat.postMessage":
            return self._post(p)
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, p)
        return {"ok": False, "error": "unknown_method"}

    def _channel(self, name: str) -> str | None:
        return CHANNEL_ID if name in (CHANNEL_ID, CHANNEL_NAME, "#" + CHANNEL_NAME) else None

    def _post(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        blocks = p.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not p.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        problems = block_kit_problems(blocks or [])
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        meta = p.get("metadata")
        if isinstance(meta, str):
            meta = json.loads(meta)
        if self.post_delay:
            time.sleep(self.post_delay)
        with self._lock:
            thread_ts = str(p.get("thread_ts") or "")
            if thread_ts and not any(m["ts"] == thread_ts for m in self.messages):
                return {"ok": False, "error": "thread_not_found"}
            msg = {"ts": self._next_ts(), "channel": channel, "text": p.get("text", ""),
                   "blocks": blocks or [], "metadata": meta, "thread_ts": thread_ts}
            self.messages.append(msg)
        return {"ok": True, "channel": channel, "ts": msg["ts"],
                "message": {"text": msg["text"], "ts": msg["ts"]}}

    def _history(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(str(p.get("channel", "")))
        if channel is None or not str(p.get("channel", "")).startswith("C"):
            return {"ok": False, "error": "channel_not_found"}  # history wants an ID
        oldest = float(p.get("oldest") or 0)
        with_meta = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        with self._lock:
            if method == "conversations.replies":
                parent = str(p.get("ts", ""))
                found = [m for m in self.messages if m["ts"] == parent or m["thread_ts"] == parent]
                if not any(m["ts"] == parent for m in found):
                    return {"ok": False, "error": "thread_not_found"}
            else:  # top level only, newest first, like Slack
                found = [m for m in reversed(self.messages) if not m["thread_ts"]]
        out = []
        for m in found:
            if float(m["ts"]) < oldest and m["ts"] != p.get("ts"):
                continue
            item: dict[str, Any] = {"type": "message", "ts": m["ts"], "text": m["text"]}
            if m["thread_ts"]:
                item["thread_ts"] = m["thread_ts"]
            if with_meta and m["metadata"]:
                item["metadata"] = m["metadata"]
            out.append(item)
        return {"ok": True, "messages": out, "has_more": False,
                "response_metadata": {"next_cursor": ""}}


def block_kit_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """Slack's limits, as its API enforces them (independent of trustwatch's own check)."""
    problems = []
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks > 50")
    for i, b in enumerate(blocks):
        t = b.get("type")
        if t == "header":
            text = b.get("text", {})
            if text.get("type") != "plain_text" or len(text.get("text", "")) > 150:
                problems.append(f"[{i}] header must be plain_text ≤ 150")
        elif t == "section":
            text = b.get("text", {})
            if not text.get("text") or len(text["text"]) >= 3000:
                problems.append(f"[{i}] section text must be 1–2999 characters")
        elif t == "context":
            els = b.get("elements", [])
            if not els or len(els) > 10:
                problems.append(f"[{i}] context needs 1–10 elements")
        elif t not in ("divider", "actions", "rich_text", "image"):
            problems.append(f"[{i}] unknown block type {t!r}")
    return problems
