"""Each health condition, produced by a fixture change and cleared by the fix, alerts once.

One watchlist, one source per condition, crawled together by the real `trustwatch crawl`:
  ag    site down: every start page answers 500 (three runs in a row)
  press redesign: the press-release listing comes back without document links
  isp   text-layer loss: a PDF is replaced by an image-only scan
  foia  stale: expect_change_within = "5s" and the page does not change
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import run_cli
from trustwatch.fixtures import FixtureSites
from trustwatch.fixtures.server import FIXTURES_DIR
from trustwatch.health import open_problems
from trustwatch.storage import Storage

ISP_FOLLOW = r"""follow = ['/LawEnforcement/GetFile/', '/Media/PressReleaseFile/', '\.pdf$']"""
SECURITY_PDF = "/LawEnforcement/GetFile/a3c1f0e2-5b7d-4e0a-9c61-2f8d4b7e9a10"
SCANNED_PDF = FIXTURES_DIR / "isp/v1/LawEnforcement/GetFile/0b7e5c13-2d48-4a9f-b1e6-8c3a7d2f9e05"
AG_PAGES = [
    "/Safer-Communities/Resources-for-Law-Enforcement/Law-Enforcement-And-Immigration/",
    "/Safer-Communities/Resources-for-Law-Enforcement/Law-Enforcement-Guidance/",
    "/Rights-of-the-People/civil-rights/Immigration",
    "/news-room/",
]
REDESIGNED = (b"<html><head><title>Press Releases</title></head><body><main><h1>Press Releases"
              b"</h1><p>Our newsroom has moved. Search for releases below.</p></main></body></html>")


def watchlist(sites: FixtureSites, db: str) -> str:
    isp, ag = sites.urls["isp"], sites.urls["ag"]
    ag_urls = ", ".join(f'"{ag}{p}"' for p in AG_PAGES)
    return f"""
[trustwatch]
database = "{db}"
user_agent = "trustwatch-test (+mailto:newsroom@example.org)"

[crawl]
delay = 0
concurrency_per_host = 4
timeout = 10

[sources.isp]
start_urls = ["{isp}/LawEnforcement/LEADS"]

[sources.press]
kind = "isp"
name = "ISP press releases"
start_urls = ["{isp}/Media/PressReleases"]
{ISP_FOLLOW}

[sources.ag]
start_urls = [{ag_urls}]

[sources.foia]
kind = "isp"
name = "ISP FOIA page"
start_urls = ["{isp}/Foia"]
expect_change_within = "5s"
"""


def foia_edit(n: int) -> bytes:
    body = (FIXTURES_DIR / "isp/v1/Foia").read_bytes()
    return body.replace(b"</main>", f"<p>FOIA office hours changed, notice {n}.</p></main>"
                        .encode(), 1)


def alerts(db: str) -> list[tuple[str, str, str]]:
    st = Storage.open(db)
    try:
        slugs = {s.id: s.slug for s in st.sources()}
        return [(a.kind, slugs.get(a.source_id or 0, ""), a.title) for a in st.alerts()
                if a.kind in ("health", "recovered")]
    finally:
        st.close()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Crawl six times through faults and fixes; snapshot alerts and status after each."""
    tmp = tmp_path_factory.mktemp("health")
    db = f"sqlite:///{tmp / 'tw.db'}"
    out: dict[str, Any] = {"db": db, "alerts": [], "status": []}
    with FixtureSites(version=1) as sites:
        cfg = tmp / "watchlist.toml"
        cfg.write_text(watchlist(sites, db))

        def crawl() -> None:
            r = run_cli("--config", str(cfg), "crawl", cwd=tmp)
            assert r.returncode in (0, 1), r.stderr
            out["alerts"].append(alerts(db))
            s = run_cli("--config", str(cfg), "status", cwd=tmp)
            out["status"].append((s.returncode, s.stdout))

        crawl()  # 1: baseline, all healthy
        for page in AG_PAGES:
            sites.override("ag", page, status=500, body=b"<h1>Service Unavailable</h1>")
        sites.override("isp", "/Media/PressReleases", body=REDESIGNED)
        sites.override("isp", SECURITY_PDF, body=SCANNED_PDF.read_bytes(),
                       content_type="application/pdf")
        time.sleep(3)  # foia's last version is now older than its 5s
        crawl()  # 2: redesign, text loss and stale open; ag failed once
        crawl()  # 3: ag failed twice; nothing new
        crawl()  # 4: ag failed three times: site down opens
        sites.clear_overrides()
        sites.override("isp", "/Foia", body=foia_edit(1))
        crawl()  # 5: everything fixed: four recoveries
        sites.override("isp", "/Foia", body=foia_edit(2))
        crawl()  # 6: still fine: nothing new
        out["open_after"] = open_problems(Storage.open(db))
    yield out


def _new(snapshots: list[list[tuple[str, str, str]]], step: int) -> list[tuple[str, str, str]]:
    """Alerts queued by crawl number `step` (1-based)."""
    before = snapshots[step - 2] if step > 1 else []
    return snapshots[step - 1][len(before):]


def test_baseline_is_healthy(scenario: dict[str, Any]) -> None:
    assert _new(scenario["alerts"], 1) == []
    assert scenario["status"][0][0] == 0


@pytest.mark.parametrize(("slug", "opened_at", "words"), [
    ("ag", 4, "fetches failing"),
    ("press", 2, "a listing yields no documents"),
    ("isp", 2, "a document lost most of its text"),
    ("foia", 2, "no changes for longer than expected"),
])
def test_condition_alerts_once_and_recovers_once(scenario: dict[str, Any], slug: str,
                                                  opened_at: int, words: str) -> None:
    snaps = scenario["alerts"]
    health = [(step, a) for step in range(1, 7) for a in _new(snaps, step)
              if a[1] == slug and a[0] == "health"]
    recovered = [(step, a) for step in range(1, 7) for a in _new(snaps, step)
                 if a[1] == slug and a[0] == "recovered"]
    assert [step for step, _ in health] == [opened_at], snaps[-1]
    assert words in health[0][1][2]
    assert [step for step, _ in recovered] == [5], snaps[-1]
    assert "recovered" in recovered[0][1][2]


def test_status_exits_non_zero_while_a_problem_is_open(scenario: dict[str, Any]) -> None:
    codes = [code for code, _ in scenario["status"]]
    assert codes == [0, 1, 1, 1, 0, 0], scenario["status"]
    text = scenario["status"][3][1]
    assert "4 health problems open" in text and "! health since" in text
    assert "next run" in text
    assert scenario["open_after"] == []


def test_nothing_is_repeated(scenario: dict[str, Any]) -> None:
    kinds = [a[0] for a in scenario["alerts"][-1]]
    assert kinds.count("health") == 4 and kinds.count("recovered") == 4
    assert _new(scenario["alerts"], 3) == [] and _new(scenario["alerts"], 6) == []
