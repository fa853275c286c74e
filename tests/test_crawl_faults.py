"""Bad input over real loopback HTTP: a broken page, a corrupt PDF, a timeout, a server
error, a too-large file. The run records each, says it in one plain line, keeps every
stored version, and goes on with the rest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from trustwatch.storage import Storage

POLICY = "/LawEnforcement/GetFile/5d9e2b47-8a1c-4f63-a0d7-3b6c9e1f2a84"
SECURITY = "/LawEnforcement/GetFile/a3c1f0e2-5b7d-4e0a-9c61-2f8d4b7e9a10"
AG_PAGE = "/Safer-Communities/Resources-for-Law-Enforcement/Law-Enforcement-Guidance/"


def setup(sites: Any, tmp_path: Path, **crawl: Any) -> tuple[Path, str]:
    db = f"sqlite:///{tmp_path / 't.db'}"
    text = sites.watchlist_toml(db)
    for key, value in crawl.items():
        text = re.sub(rf"^{key} = .*\n", "", text, flags=re.MULTILINE)
        text = text.replace("[crawl]\n", f"[crawl]\n{key} = {value}\n", 1)
    config = tmp_path / "watchlist.toml"
    config.write_text(text)
    return config, db


def crawl(config: Path, tmp_path: Path, *sources: str) -> Any:
    return run_cli("--config", str(config), "crawl", "--no-alerts", *sources, cwd=tmp_path)


def versions_by_path(db: str) -> dict[str, int]:
    st = Storage.open(db)
    out = {d.url.split("?")[0].split("/", 3)[-1]: len(st.versions(d.id)) for d in st.documents()}
    st.close()
    return out


def test_corrupt_pdf_and_server_error_keep_versions_and_the_run_goes_on(sites: Any,
                                                                        tmp_path: Path) -> None:
    config, db = setup(sites, tmp_path)
    assert crawl(config, tmp_path, "isp").returncode == 0
    before = versions_by_path(db)
    sites.version = 2
    sites.override("isp", POLICY, body=b"%PDF-1.7\n%broken\n1 0 obj <<", status=200,
                   content_type="application/pdf")
    sites.override("isp", SECURITY, status=503)
    result = crawl(config, tmp_path, "isp")
    out = result.stdout
    assert "failed 2" in out
    problem_lines = [line for line in out.splitlines() if line.startswith("  ! ")]
    assert any(POLICY in line and "cannot read" in line for line in problem_lines)
    assert any(SECURITY in line and "503" in line for line in problem_lines)
    assert all("Traceback" not in line for line in out.splitlines())
    after = versions_by_path(db)
    assert all(after[p] >= n for p, n in before.items())  # nothing lost
    assert "new 2" in out  # the rest of v2 was still captured (ERO agreement, press release)
    # the failing documents are failed checks, not removals, however often it happens
    for _ in range(2):
        crawl(config, tmp_path, "isp")
    st = Storage.open(db)
    kinds = [(doc.url, ch.kind) for ch, doc, _ in st.changes(relevant_only=False)]
    assert not [u for u, k in kinds if k == "removed" and (POLICY in u or SECURITY in u)]


def test_timeout_is_a_failed_check_in_one_line(sites: Any, tmp_path: Path) -> None:
    config, db = setup(sites, tmp_path, timeout=1)
    assert crawl(config, tmp_path, "ag").returncode == 0
    sites.override("ag", AG_PAGE, delay=3)
    result = crawl(config, tmp_path, "ag")
    assert result.returncode == 1  # a listing failed: the run failed, loudly
    lines = [line for line in result.stdout.splitlines() if "timeout" in line]
    assert lines and AG_PAGE in lines[0]
    assert "removals not checked" in result.stdout
    st = Storage.open(db)
    assert all(d.state == "active" for d in st.documents())


def test_too_large_response_is_recorded_not_half_stored(sites: Any, tmp_path: Path) -> None:
    config, db = setup(sites, tmp_path, max_bytes=100_000)
    sites.override("isp", POLICY, body=b"%PDF-1.4\n" + b"0" * 200_000,
                   content_type="application/pdf")
    result = crawl(config, tmp_path, "isp")
    assert any(POLICY in line and "too large" in line for line in result.stdout.splitlines())
    st = Storage.open(db)
    assert not [d for d in st.documents() if POLICY in d.url]  # no truncated capture stored


def test_robots_txt_is_obeyed(sites: Any, tmp_path: Path) -> None:
    config, _db = setup(sites, tmp_path)
    sites.override("isp", "/robots.txt", body=b"User-agent: *\nDisallow: /LawEnforcement/GetFile/\n",
                   content_type="text/plain")
    result = crawl(config, tmp_path, "isp")
    fetched = [r.path for r in sites.requests if r.site == "isp"]
    assert not [p for p in fetched if p.startswith("/LawEnforcement/GetFile/")]
    assert "forbidden by robots.txt" in result.stdout
    ua = {r.headers.get("User-Agent") for r in sites.requests if r.site == "isp"}
    assert ua == {"trustwatch-test (+mailto:newsroom@example.org)"}
