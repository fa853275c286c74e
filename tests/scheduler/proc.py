"""The real `trustwatch schedule` in a child process, its log lines collected as they come."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

# "isp: ok in 3.4s, started 04:51:08.212 CST, pid 29184, exit 0: fetched 13, ..."
RUN_LINE = re.compile(r" (?P<slug>[a-z_]+): (?P<status>\w+) in (?P<secs>[\d.]+)s, started "
                      r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d\.\d+) \S+, pid (?P<pid>\d+), "
                      r"exit (?P<rc>-?\d+): (?P<rest>.*)$")


def isp_only(toml: str, *extra: str) -> str:
    """The fixture watchlist with only the ISP source, crawling only its small FOIA page (a
    quick crawl), plus extra lines in [sources.isp]."""
    head = toml[:toml.index("[sources.ag]")].rstrip()
    lines = [re.sub(r'^start_urls = \["(http://[^/"]+)/.*$', r'start_urls = ["\1/Foia"]', ln)
             for ln in head.splitlines()]
    return "\n".join(lines) + "\n" + "\n".join(extra) + "\n"


class Schedule:
    def __init__(self, config: Path, *args: str, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items()
               if k not in ("TRUSTWATCH_DB", "TRUSTWATCH_CONFIG", "SLACK_BOT_TOKEN")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trustwatch", "--config", str(config), "schedule", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def runs(self, slug: str = "isp") -> list[re.Match[str]]:
        return [m for m in map(RUN_LINE.search, list(self.lines)) if m and m["slug"] == slug]

    def wait_for(self, predicate: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if callable(predicate) and predicate():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("timed out; scheduler log:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took to stop)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return rc, time.monotonic() - t0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def running_runs(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(
                "select count(*) from runs where status = 'running'")).scalar() or 0)
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    finally:
        engine.dispose()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
