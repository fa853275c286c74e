"""The archive builder without a browser: pages, escaping, CSP, captured files, and
incremental rebuilds (only the pages a new change touches are rewritten)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.archive.rows import (
    PAYLOAD_IMG,
    PAYLOAD_SCRIPT,
    POLICY_V2,
    PRESS_V1,
    add_payload_change,
    populate,
    run,
)
from trustwatch.archive import build_archive
from trustwatch.archive.build import CSP, raw_extension
from trustwatch.storage import Storage, sha256

INDEX_PAGES = {"index.html", "all.html", "source/isp.html", "kind/new.html",
               "kind/changed.html", "kind/removed.html", "review/reviewed.html",
               "review/newsworthy.html", "review/noise.html"}


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    st = Storage.open(db_url)
    yield st
    st.close()


def pages(out: Path) -> dict[str, int]:
    """Every archive page with its mtime in ns."""
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns
            for p in out.rglob("*.html")}


def test_build_writes_every_page_with_csp_and_relative_links(storage: Storage,
                                                             tmp_path: Path) -> None:
    populate(storage)
    out = tmp_path / "archive"
    report = build_archive(storage, out, tz="America/Chicago")
    built = pages(out)
    assert INDEX_PAGES <= set(built)
    changes = storage.changes(relevant_only=False)
    for ch, doc, _ in changes:
        assert f"changes/{ch.id}.html" in built
        assert f"documents/{doc.id}.html" in built
    assert set(report.written) == set(built) | {"static/style.css"}
    for rel in built:
        html = (out / rel).read_text(encoding="utf-8")
        assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html
        assert 'name="viewport"' in html
        assert "<script" not in html.lower()
        for href in re.findall(r'href="([^"]+)"', html):
            assert not href.startswith(("/", "http:", "https:", "file:")), (rel, href)
            target = (out / rel).parent / href.split("#")[0]
            assert target.resolve().is_file(), f"{rel}: broken link {href}"

    # the changed policy: newest first on the index, ERO inserted and marked, labelled Sec. 1
    index = (out / "index.html").read_text(encoding="utf-8")
    changed = next(ch for ch, _, _ in changes if ch.kind == "changed")
    assert f'href="changes/{changed.id}.html"' in index
    assert "baseline" not in re.sub(r"<p class=\"intro\">.*?</p>", "", index, flags=re.DOTALL)
    html = (out / f"changes/{changed.id}.html").read_text(encoding="utf-8")
    assert "<ins><mark>Enforcement and Removal Operations</mark> (<mark>ERO</mark>)" in html
    assert '<span class="where">Sec. 1</span>' in html
    assert '"v1"' in html.replace("&#34;", '"') and "Mon, 03 Mar 2025 00:00:00 GMT" in html


def test_captured_bytes_are_inert_files_named_by_their_hash(storage: Storage,
                                                            tmp_path: Path) -> None:
    populate(storage)
    out = tmp_path / "archive"
    build_archive(storage, out)
    raw = sorted((out / "raw").iterdir())
    assert raw and all(p.suffix == ".txt" for p in raw)  # HTML captured: plain text only
    for p in raw:
        assert sha256(p.read_bytes()) == p.stem
    assert POLICY_V2 in [p.read_bytes() for p in raw]
    texts = list((out / "text").iterdir())
    assert any(b"Enforcement and Removal Operations" in p.read_bytes() for p in texts)
    assert raw_extension("application/pdf", "") == ".pdf"
    assert raw_extension("application/octet-stream", "pdf") == ".pdf"
    assert raw_extension("text/html", "html") == ".txt"
    assert raw_extension("text/xml", "xml") == ".txt"


def test_scraped_markup_is_escaped_everywhere(storage: Storage, tmp_path: Path) -> None:
    populate(storage)
    add_payload_change(storage)
    out = tmp_path / "archive"
    build_archive(storage, out)
    escaped_script = "&lt;script&gt;window.__pwned=1&lt;/script&gt;"
    found = 0
    for p in out.rglob("*.html"):
        html = p.read_text(encoding="utf-8")
        assert PAYLOAD_SCRIPT not in html and PAYLOAD_IMG not in html
        assert "<img" not in html and "onerror=" not in html.replace("onerror=&#34;", "")
        found += escaped_script in html
    assert found == 1  # the change page's diff
    # the payload in the title is text on the index, not an element
    assert "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in (
        out / "index.html").read_text(encoding="utf-8")


def test_rebuild_rewrites_only_the_pages_a_new_change_touches(storage: Storage,
                                                              tmp_path: Path) -> None:
    populate(storage)
    out = tmp_path / "archive"
    build_archive(storage, out)
    before = pages(out)
    raw_before = {p.name: p.stat().st_mtime_ns for p in (out / "raw").iterdir()}

    again = build_archive(storage, out)  # nothing new: nothing written
    assert again.written == [] and again.raw_written == 0
    assert pages(out) == before

    add_payload_change(storage)  # one new change, to the press release
    ch, doc, _ = storage.changes(relevant_only=False)[-1]
    report = build_archive(storage, out)
    after = pages(out)
    touched = {f"changes/{ch.id}.html", f"documents/{doc.id}.html"}
    assert touched <= set(report.written)
    assert {"index.html", "all.html"} <= set(report.written)
    assert set(report.written) <= touched | INDEX_PAGES
    untouched = [rel for rel in before if rel not in touched | INDEX_PAGES]
    assert untouched
    for rel in untouched:
        assert after[rel] == before[rel], f"{rel} was rewritten"
    assert report.raw_written == 2  # the new capture and its extracted text
    for name, mtime in raw_before.items():
        assert (out / "raw" / name).stat().st_mtime_ns == mtime  # raw files written once

    manifest = json.loads((out / ".manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["pages"]) >= set(after)


def test_review_mark_rewrites_its_change_page_and_a_deleted_page_comes_back(
        storage: Storage, tmp_path: Path) -> None:
    from trustwatch.storage import Change, utcnow

    populate(storage)
    out = tmp_path / "archive"
    build_archive(storage, out)
    ch, doc, _ = next(r for r in storage.changes() if not r[0].baseline)
    with storage.session() as s:
        row = s.get(Change, ch.id)
        assert row is not None
        row.review, row.reviewed_at = "newsworthy", utcnow()
    report = build_archive(storage, out)
    assert set(report.written) <= {f"changes/{ch.id}.html", f"documents/{doc.id}.html"} | \
        INDEX_PAGES
    assert f"changes/{ch.id}.html" in report.written
    assert f'href="../changes/{ch.id}.html"' in (out / "review/newsworthy.html").read_text(
        encoding="utf-8")
    (out / "all.html").unlink()
    assert build_archive(storage, out).written == ["all.html"]


def test_new_document_page_shows_its_text_with_terms_marked(storage: Storage,
                                                            tmp_path: Path) -> None:
    run(storage, {"https://isp.illinois.gov/Media/PressReleaseFile/1": PRESS_V1}, 1)
    run(storage, {"https://isp.illinois.gov/Media/PressReleaseFile/1": PRESS_V1,
                  "https://isp.illinois.gov/LawEnforcement/GetFile/b": POLICY_V2}, 2)
    out = tmp_path / "archive"
    build_archive(storage, out)
    new = next(ch for ch, _, _ in storage.changes() if ch.kind == "new" and not ch.baseline)
    html = (out / f"changes/{new.id}.html").read_text(encoding="utf-8")
    assert "New document text" in html and "<mark>ICE</mark>" in html
    assert "Before</th>" in html and "—" in html
