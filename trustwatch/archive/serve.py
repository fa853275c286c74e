"""``trustwatch serve``: the built archive over HTTP on loopback, with headers that keep
captured content inert (a strict CSP everywhere, a sandbox for captured files, nosniff)."""

from __future__ import annotations

import functools
import posixpath
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from trustwatch.archive.build import CSP

# captured bytes and extracted texts: never a page, never script, even if a browser sniffs
CAPTURED_CSP = "default-src 'none'; sandbox"


class ArchiveHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class declares it a plain attribute
        ".html": "text/html; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".txt": "text/plain",
        ".pdf": "application/pdf",
        ".png": "image/png",
        "": "application/octet-stream",
    }

    def end_headers(self) -> None:
        path = posixpath.normpath(self.path.split("?", 1)[0].split("#", 1)[0])
        # captured text never runs as a page; PDFs keep the browser's viewer (a sandbox CSP
        # would block it) and still get no network access
        captured = path.startswith(("/raw/", "/text/")) and not path.endswith(".pdf")
        self.send_header("Content-Security-Policy", CAPTURED_CSP if captured else CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def guess_type(self, path: str | Any) -> str:
        p = str(path)
        if "/text/" in p.replace("\\", "/") and p.endswith(".txt"):
            return "text/plain; charset=utf-8"  # extracted texts are always UTF-8
        return super().guess_type(path)

    def list_directory(self, path: str | Any) -> Any:
        self.send_error(404, "No directory listings")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a quiet server; the command prints its URL once


def make_server(directory: str | Path, port: int = 8000,
                host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server for ``directory`` (port 0 picks a free port)."""
    handler = functools.partial(ArchiveHandler, directory=str(Path(directory).resolve()))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_archive(directory: str | Path, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve until interrupted."""
    server = make_server(directory, port, host)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
