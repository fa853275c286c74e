"""End to end: the real CLI crawls the loopback fixture sites v1 -> v2 -> v3 over HTTP and
records exactly the expected changes — nothing missed, no noise."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.conftest import run_cli
from trustwatch.storage import Storage

EXPECTED = tomllib.loads((Path(__file__).parent / "expected_changes.toml").read_text())


def recorded(storage: Storage, run_ids: set[int]) -> list[tuple[str, str, str, bool]]:
    return sorted((src.slug, unquote(urlsplit(doc.url).path), ch.kind, ch.relevant)
                  for ch, doc, src in storage.changes(relevant_only=False)
                  if ch.run_id in run_ids)


def expected(version: str) -> list[tuple[str, str, str, bool]]:
    return sorted((e["source"], e["path"], e["kind"], e["relevant"]) for e in EXPECTED[version])


def crawl(config: Path, tmp_path: Path) -> Any:
    result = run_cli("--config", str(config), "crawl", "--no-alerts", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_three_versions_record_exactly_the_expected_changes(sites: Any, db_url: str,
                                                             tmp_path: Path) -> None:
    config = tmp_path / "watchlist.toml"
    config.write_text(sites.watchlist_toml(db_url, archive_dir=str(tmp_path / "archive")))
    storage = Storage.open(db_url)
    runs_seen: set[int] = set()

    def new_runs() -> set[int]:
        ids = {run.id for run, _ in storage.runs(limit=100)} - runs_seen
        runs_seen.update(ids)
        return ids

    out = crawl(config, tmp_path)
    assert "isp: fetched" in out.stdout and "ilga: fetched" in out.stdout
    first = new_runs()
    baseline = storage.changes(relevant_only=False)
    assert baseline and all(ch.kind == "new" and ch.baseline for ch, _, _ in baseline)
    assert {run.run_id for run, _, _ in baseline} <= first
    assert not [a for a in storage.alerts() if a.kind == "change"]  # baseline: no alerts

    for version in (2, 3):
        sites.version = version
        crawl(config, tmp_path)
        assert recorded(storage, new_runs()) == expected(f"v{version}")

    # relevant changes after the baseline each have exactly one pending alert
    relevant_ids = {ch.id for ch, _, _ in storage.changes() if not ch.baseline}
    alert_ids = [a.change_id for a in storage.alerts() if a.kind == "change"]
    assert sorted(alert_ids) == sorted(relevant_ids)
    storage.close()

    # what an editor sees afterwards
    cfg = ("--config", str(config))
    listed = run_cli(*cfg, "changes", cwd=tmp_path).stdout
    assert "Enforcement and Removal Operations" in listed and "DUI" not in listed
    assert "DUI" in run_cli(*cfg, "changes", "--all", cwd=tmp_path).stdout
    assert "ilga" not in run_cli(*cfg, "changes", "--source", "isp", cwd=tmp_path).stdout
    bills = run_cli(*cfg, "bills", cwd=tmp_path)
    assert bills.returncode == 0, bills.stderr
    hb3055 = bills.stdout.split("HB3055", 1)[1].split("\nHB", 1)[0]
    assert "[discovered: 5 ILCS 805]" in hb3055 and "amends: 5 ILCS 805/15" in hb3055
    assert "10400HB3055ham001.htm" in hb3055 and "shell bill" in hb3055
    assert "SB1500" not in bills.stdout  # the Trust Code decoy is never watched
    status = run_cli(*cfg, "status", cwd=tmp_path)
    for slug in ("isp", "ag", "ilga"):
        assert f"{slug}: last run" in status.stdout


def test_unchanged_recrawl_uses_validators_and_records_nothing(sites: Any, tmp_path: Path
                                                               ) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    config = tmp_path / "watchlist.toml"
    config.write_text(sites.watchlist_toml(db))
    crawl(config, tmp_path)
    first_bytes = sum(r.bytes_sent for r in sites.requests)
    n = len(sites.requests)
    out = crawl(config, tmp_path)
    again = sites.requests[n:]
    conditional = [r for r in again if "If-None-Match" in r.headers
                   or "If-Modified-Since" in r.headers]
    assert conditional and all(r.status == 304 for r in conditional)
    # the server's own validators are sent back, never our clock
    for r in conditional:
        if "If-Modified-Since" in r.headers:
            assert r.headers["If-Modified-Since"].endswith("GMT")
            assert "2025" in r.headers["If-Modified-Since"]
    assert "new 0, changed 0, removed 0, failed 0" in out.stdout
    assert sum(r.bytes_sent for r in again) < first_bytes * 0.5
    storage = Storage.open(db)
    assert all(ch.baseline for ch, _, _ in storage.changes(relevant_only=False))
