"""The real scheduler, second-scale intervals, the loopback fixture sites."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.scheduler.proc import Schedule, isp_only, pid_alive, running_runs
from trustwatch.storage import Storage


@pytest.fixture
def sched_env(sites: Any, tmp_path: Path) -> Iterator[tuple[Any, Path, str]]:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    started: list[Schedule] = []
    yield sites, tmp_path, db
    for s in started:
        s.kill()


def _config(sites: Any, tmp_path: Path, db: str, every: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(isp_only(sites.watchlist_toml(db), f'every = "{every}"'))
    return path


def _runs(db: str) -> list[Any]:
    st = Storage.open(db)
    try:
        return sorted((r for r, _ in st.runs("isp", limit=100)), key=lambda r: r.id)
    finally:
        st.close()


def test_runs_on_time_without_overlap(sched_env: tuple[Any, Path, str]) -> None:
    sites, tmp, db = sched_env
    sched = Schedule(_config(sites, tmp, db, "3s"), "--jitter", "0", "--timeout", "60", cwd=tmp)
    try:
        sched.wait_for(lambda: len(sched.runs()) >= 3, timeout=60)
        rc, took = sched.stop()
    finally:
        sched.kill()
    assert rc == 0 and took < 15
    assert any(line.endswith(" stopped") for line in sched.lines)
    lines = sched.runs()
    assert all(m["status"] == "ok" and m["rc"] == "0" for m in lines), sched.lines
    # the first run starts at once (never crawled); the others on one 3-second grid
    for m in lines[1:]:  # slots count from local midnight: multiples of 3 seconds
        late = (int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"])) % 3
        assert late < 0.5, "a run started off its slot:\n" + "\n".join(sched.lines)
    # one scheduled run at a time: no two crawls of the source overlap
    runs = [r for r in _runs(db) if r.status != "running"]
    assert len(runs) >= 3
    for a, b in pairwise(runs):
        assert a.finished_at is not None and a.finished_at <= b.started_at
    slowest = max(float(m["secs"]) for m in lines)
    if slowest > 3:  # a run longer than the interval made the scheduler skip a slot
        assert any("maximum number of running instances" in line for line in sched.lines)


def test_hung_crawl_is_killed_and_next_run_happens(sched_env: tuple[Any, Path, str]) -> None:
    sites, tmp, db = sched_env
    sites.override("isp", "/Foia", delay=60)  # longer than the crawl timeout below
    sched = Schedule(_config(sites, tmp, db, "2s"), "--jitter", "0", "--timeout", "15", cwd=tmp)
    try:
        sched.wait_for(lambda: len(sched.runs()) >= 1, timeout=40)
        killed = sched.runs()[0]
        assert killed["status"] == "failed" and "timed out after 15s" in killed["rest"]
        assert 15 <= float(killed["secs"]) < 18
        assert not pid_alive(int(killed["pid"]))
        sites.clear_overrides()
        sched.wait_for(lambda: any(m["status"] == "ok" for m in sched.runs()), timeout=40)
        rc, _took = sched.stop()
    finally:
        sched.kill()
    assert rc == 0
    runs = _runs(db)
    assert runs[0].status == "failed"
    assert any("timed out after 15s; killed by the scheduler" in p for p in runs[0].problems)
    assert runs[-1].status == "ok"
    assert not [r for r in runs if r.status == "running"]


def test_sigterm_lets_the_running_crawl_finish(sched_env: tuple[Any, Path, str]) -> None:
    sites, tmp, db = sched_env
    sites.override("isp", "/Foia", delay=3)
    sched = Schedule(_config(sites, tmp, db, "1h"), "--timeout", "60", cwd=tmp)
    try:
        sched.wait_for(lambda: running_runs(db) > 0, timeout=30)
        rc, took = sched.stop()
    finally:
        sched.kill()
    assert rc == 0 and took < 20
    assert [m["status"] for m in sched.runs()] == ["ok"]
    assert [r.status for r in _runs(db)] == ["ok"]


def test_sigterm_after_grace_records_interrupted(sched_env: tuple[Any, Path, str]) -> None:
    sites, tmp, db = sched_env
    sites.override("isp", "/Foia", delay=6)
    sched = Schedule(_config(sites, tmp, db, "1h"), "--grace", "1", cwd=tmp)
    try:
        sched.wait_for(lambda: running_runs(db) > 0, timeout=30)
        started = datetime.now()
        rc, took = sched.stop()
    finally:
        sched.kill()
    assert rc == 0 and took < 20, (started, sched.lines)
    (line,) = sched.runs()
    assert line["status"] == "interrupted"
    assert not pid_alive(int(line["pid"]))
    assert [r.status for r in _runs(db)] == ["interrupted"]
