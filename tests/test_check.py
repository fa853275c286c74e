"""`trustwatch check URL`: fetch one URL over real loopback HTTP, print its text and
matched terms, store nothing; robots.txt and fetch errors give one plain line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from trustwatch.cli import main

GANG_POLICY = "/LawEnforcement/GetFile/5d9e2b47-8a1c-4f63-a0d7-3b6c9e1f2a84"


def check(sites: Any, tmp_path: Path, url: str) -> Any:
    config = tmp_path / "watchlist.toml"
    config.write_text(sites.watchlist_toml(f"sqlite:///{tmp_path / 't.db'}"))
    return CliRunner().invoke(main, ["--config", str(config), "check", url])


def test_check_prints_text_and_matches_and_stores_nothing(sites: Any, tmp_path: Path) -> None:
    sites.version = 2
    result = check(sites, tmp_path, sites.urls["isp"] + GANG_POLICY)
    assert result.exit_code == 0, result.output
    assert "[page 2]" in result.output and "distinctive emblems or tattoos" in result.output
    assert "matched leads: 'distinctive emblems' (p. 2)" in result.output
    assert "application/pdf" in result.output
    assert not (tmp_path / "t.db").exists()  # stores nothing


def test_check_obeys_robots_txt(sites: Any, tmp_path: Path) -> None:
    sites.override("isp", "/robots.txt", body=b"User-agent: *\nDisallow: /Foia\n",
                   content_type="text/plain")
    result = check(sites, tmp_path, sites.urls["isp"] + "/Foia")
    assert result.exit_code == 1 and "robots.txt forbids" in result.output
    assert not [r for r in sites.requests if r.path == "/Foia"]


def test_check_reports_http_errors_in_one_line(sites: Any, tmp_path: Path) -> None:
    result = check(sites, tmp_path, sites.urls["isp"] + "/no/such/page")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "HTTP 404" in lines[0]
