"""The built archive in real headless Chromium: a real database from two real crawls of the
fixture sites (v1, then v2 with a page whose text holds script payloads), browsed from
file:// and through `trustwatch serve`. Chromium is required: CI installs it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

CHROMIUM = os.environ.get("TRUSTWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "change-page.png"
PAYLOAD_PATH = "/Rights-of-the-People/civil-rights/Immigration"
SCRIPT_TEXT = "<script>window.__pwned=1</script>"
IMG_TEXT = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, or a clear failure (never a skip) when it cannot start."""
    problem = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the [test] extra installs it
        pytest.fail(f"playwright is not installed ({exc}); pip install -e '.[test]'")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
                    "or set TRUSTWATCH_CHROMIUM; the archive browser test needs a real browser")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001 - say why, then fail
            problem = str(exc).splitlines()[0]
        if problem:
            pytest.fail(f"Chromium at {CHROMIUM} does not start: {problem}")
        yield b
        b.close()


@dataclass
class Crawled:
    root: Path
    config: Path
    archive: Path


def _payload_page(original: bytes) -> bytes:
    """The v2 Immigration page with script payloads as text, in the title, and as live
    markup in the captured bytes."""
    html = original.decode("utf-8")
    html = re.sub(r"<title>.*?</title>",
                  "<title>Immigration &lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;"
                  "</title>", html, count=1, flags=re.DOTALL)
    inject = ("<p>ICE notice: &lt;script&gt;window.__pwned=1&lt;/script&gt; and "
              "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt; were found in a form."
              "</p><script>window.__pwned=1</script><img src=x onerror=\"window.__pwned=1\">")
    assert "<h2>Immigration Services Fraud</h2>" in html
    return html.replace("<h2>Immigration Services Fraud</h2>",
                        inject + "<h2>Immigration Services Fraud</h2>", 1).encode("utf-8")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    from trustwatch.fixtures import FixtureSites

    root = tmp_path_factory.mktemp("crawled")
    db = f"sqlite:///{root / 'trustwatch.db'}"
    config = root / "watchlist.toml"
    with FixtureSites(version=1) as sites:
        config.write_text(sites.watchlist_toml(db, archive_dir=str(root / "archive")),
                          encoding="utf-8")
        first = run_cli("--config", str(config), "crawl", "--no-alerts", cwd=root)
        assert first.returncode == 0, first.stdout + first.stderr
        sites.version = 2
        with urllib.request.urlopen(sites.urls["ag"] + PAYLOAD_PATH, timeout=10) as resp:
            original = resp.read()
        sites.override("ag", PAYLOAD_PATH, body=_payload_page(original),
                       content_type="text/html; charset=utf-8")
        second = run_cli("--config", str(config), "crawl", "--no-alerts", cwd=root)
        assert second.returncode == 0, second.stdout + second.stderr
    built = run_cli("--config", str(config), "archive", "build", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "pages written" in built.stdout
    return Crawled(root, config, root / "archive")


def _watch(page: Any) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "requests": []}

    def on_dialog(d: Any) -> None:
        seen["dialogs"].append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("request", lambda r: seen["requests"].append(r.url))
    return seen


def _change_link(page: Any, title_part: str) -> Any:
    link = page.locator("ol.changes li p.title a", has_text=title_part).first
    assert link.count() == 1, f"no change titled {title_part!r} on {page.url}"
    return link


def test_index_to_change_page_to_raw_version(browser: Any, crawled: Crawled) -> None:
    page = browser.new_page()
    seen = _watch(page)
    page.goto((crawled.archive / "index.html").as_uri())
    assert page.title().startswith("Relevant changes")
    # the stylesheet loads under the strict CSP (same directory tree counts as 'self')
    assert page.evaluate("getComputedStyle(document.body).maxWidth") != "none"

    _change_link(page, "LEADS - Illinois State Police").click()
    page.wait_for_load_state()
    assert re.search(r"/changes/\d+\.html$", page.url)
    inserted = " ".join(page.locator("section.diff ins").all_inner_texts())
    deleted = " ".join(page.locator("section.diff del").all_inner_texts())
    marked = page.locator("section.diff mark").all_inner_texts()
    assert "LEADS Agreement" in inserted and "Enforcement and Removal Operations" in inserted
    assert "Secondary Dissemination" in deleted
    assert {"Enforcement and Removal Operations", "Immigration and Customs Enforcement",
            "Department of Homeland Security", "LEADS Agreement"} <= set(marked)
    # an inserted matched term is highlighted inside the insertion
    assert page.locator("section.diff ins mark", has_text="Enforcement and Removal "
                        "Operations").count() == 1
    assert page.evaluate("getComputedStyle(document.querySelector('section.diff mark'))"
                         ".backgroundColor") not in ("rgba(0, 0, 0, 0)", "transparent")
    provenance = page.locator("section.provenance").inner_text()
    assert "Before (version 1)" in provenance and "After (version 2)" in provenance
    assert "Final URL" in provenance and "HTTP status" in provenance

    after_sha = page.locator("section.provenance a.raw-link").nth(1).inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", after_sha)
    page.locator("a.raw-link", has_text="captured bytes (after)").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/raw/{after_sha}.txt")
    body = page.locator("body").inner_text()
    assert "<html" in body.lower() and "LEADS Agreement" in body  # markup shown as text
    assert page.evaluate("document.querySelectorAll('a, script, img').length") == 0
    assert hashlib.sha256((crawled.archive / "raw" / f"{after_sha}.txt").read_bytes()
                          ).hexdigest() == after_sha
    page.go_back()
    page.locator("a", has_text="version history of this document").click()
    page.wait_for_load_state()
    assert re.search(r"/documents/\d+\.html$", page.url)
    assert page.locator("ol.versions > li").count() == 2
    assert not seen["errors"] and not seen["dialogs"]
    assert all(u.startswith("file://") for u in seen["requests"])  # nothing leaves the disk
    page.close()


def _assert_inert(page: Any, seen: dict[str, list[str]]) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert seen["dialogs"] == []
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0


def test_script_payloads_never_execute(browser: Any, crawled: Crawled) -> None:
    page = browser.new_page()
    seen = _watch(page)
    page.goto((crawled.archive / "index.html").as_uri())
    link = _change_link(page, "Immigration <img")
    assert IMG_TEXT in link.inner_text()  # the title's payload is visible text
    _assert_inert(page, seen)
    link.click()
    page.wait_for_load_state()
    _assert_inert(page, seen)
    assert IMG_TEXT in page.locator("h1").inner_text()
    inserted = " ".join(page.locator("section.diff ins").all_inner_texts())
    assert SCRIPT_TEXT in inserted and IMG_TEXT in inserted
    assert "ICE" in page.locator("section.diff mark").all_inner_texts()
    # the raw capture holds live <script> and <img onerror>: shown as text, never run
    page.locator("a.raw-link", has_text="captured bytes (after)").click()
    page.wait_for_load_state()
    assert page.url.endswith(".txt")
    assert "<script>window.__pwned=1</script>" in page.locator("body").inner_text()
    _assert_inert(page, seen)
    page.go_back()
    page.locator("a.text-link").nth(1).click()
    page.wait_for_load_state()
    assert SCRIPT_TEXT in page.locator("body").inner_text()
    _assert_inert(page, seen)
    assert seen["errors"] == []
    page.close()


def test_serve_answers_on_loopback_with_inert_headers(browser: Any, crawled: Crawled) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "trustwatch", "--config", str(crawled.config), "serve",
         "--port", "0"], cwd=crawled.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, line + (proc.stderr.read() if proc.stderr else "")
        base = found.group(0)
        with urllib.request.urlopen(base + "index.html", timeout=10) as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
        raw = next((crawled.archive / "raw").glob("*.txt")).name
        with urllib.request.urlopen(f"{base}raw/{raw}", timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("text/plain")
            assert "sandbox" in resp.headers["Content-Security-Policy"]

        page = browser.new_page()
        seen = _watch(page)
        page.goto(base)  # / serves index.html
        _change_link(page, "Immigration <img").click()
        page.wait_for_load_state()
        assert page.url.startswith(base + "changes/")
        assert SCRIPT_TEXT in " ".join(page.locator("section.diff ins").all_inner_texts())
        _assert_inert(page, seen)
        page.locator("a.raw-link", has_text="captured bytes (after)").click()
        page.wait_for_load_state()
        assert "<script>window.__pwned=1</script>" in page.locator("body").inner_text()
        _assert_inert(page, seen)
        page.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()


def test_demo_builds_the_archive_and_its_change_page_renders(browser: Any,
                                                             tmp_path: Path) -> None:
    """The screenshot in docs/ comes from here (TRUSTWATCH_UPDATE_SCREENSHOTS=1 refreshes it)."""
    result = run_cli("demo", "--dir", str(tmp_path / "demo"), cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    index = tmp_path / "demo" / "archive" / "index.html"
    assert f"Archive: {index}" in result.stdout
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(index.as_uri())
    _change_link(page, "LEADS - Illinois State Police").click()
    page.wait_for_load_state()
    assert page.locator("section.diff ins mark").count() >= 3
    shot = tmp_path / "change-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("TRUSTWATCH_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    # a phone-sized viewport needs no sideways scrolling
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
    page.close()
