"""Never two writers on one source: the lock, and a second `trustwatch crawl` meeting it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.scheduler.proc import isp_only
from trustwatch.locks import SourceBusy, acquire, lock_path


def test_lock_is_exclusive_and_released(db_url: str) -> None:
    first = acquire(db_url, "isp")
    try:
        with pytest.raises(SourceBusy, match="isp is already being crawled"):
            acquire(db_url, "isp")
        acquire(db_url, "ag").release()  # other sources are free
    finally:
        first.release()
    acquire(db_url, "isp").release()


def test_sqlite_lock_lives_next_to_the_database(tmp_path: Path) -> None:
    assert lock_path(f"sqlite:///{tmp_path / 'tw.db'}", "isp") == tmp_path / "tw.db.isp.lock"


def test_second_crawl_of_the_same_source_exits_1(sites: Any, db_url: str,
                                                  tmp_path: Path) -> None:
    cfg = tmp_path / "watchlist.toml"
    cfg.write_text(isp_only(sites.watchlist_toml(db_url)))
    sites.override("isp", "/Foia", delay=4)
    cmd = [sys.executable, "-m", "trustwatch", "--config", str(cfg), "crawl", "isp", "--no-alerts"]
    first = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the first crawl holds the lock
            try:
                acquire(db_url, "isp").release()
            except SourceBusy:
                break
            time.sleep(0.1)
        second = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                check=False)
        assert second.returncode == 1
        assert "isp is already being crawled by another process" in second.stderr
        _out, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
