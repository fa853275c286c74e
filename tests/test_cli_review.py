"""Review commands through click's CliRunner: diff (stored change and local files), mark,
archive build, export warc; on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.archive.rows import POLICY, add_payload_change, populate, run, watchlist
from trustwatch.cli import main
from trustwatch.storage import Change, Check, Storage, Version

FIXTURES = Path(__file__).resolve().parents[1] / "trustwatch" / "fixtures"


@pytest.fixture
def storage(db_url: str) -> Iterator[Storage]:
    st = Storage.open(db_url)
    populate(st)
    yield st
    st.close()


@pytest.fixture
def cli(storage: Storage, db_url: str, tmp_path: Path) -> Iterator[tuple[CliRunner, list[str]]]:
    yield CliRunner(), ["--config", str(watchlist(tmp_path, db_url))]


def _changed(storage: Storage) -> Change:
    return next(ch for ch, _, _ in storage.changes() if ch.kind == "changed")


def test_diff_of_a_change_has_provenance_header_and_plain_markers_when_piped(
        cli: tuple[CliRunner, list[str]], storage: Storage) -> None:
    runner, cfg = cli
    ch = _changed(storage)
    result = runner.invoke(main, [*cfg, "diff", str(ch.id)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert out.splitlines()[0].startswith(f"change {ch.id} · changed · relevant · isp")
    assert "title:  LEADS Security Policy" in out
    assert f"url:    {POLICY}" in out
    assert "before: version 1, captured 2025-03-04 09:02:00 CST (2025-03-04T15:02:00Z)" in out
    assert "after:  version 2, captured 2025-03-05 09:02:00 CST" in out
    assert "where:  Sec. 1" in out
    assert "added 'Enforcement and Removal Operations' (Sec. 1)" in out
    assert "+ Enforcement and Removal Operations (ERO) of ICE signed a LEADS Agreement." in out
    assert "+11 words, -0 words" in out


def test_diff_of_a_new_document_shows_its_text_as_added(cli: tuple[CliRunner, list[str]],
                                                        storage: Storage) -> None:
    runner, cfg = cli
    new = [ch for ch, _, _ in storage.changes(relevant_only=False) if ch.kind == "new"][-1]
    result = runner.invoke(main, [*cfg, "diff", str(new.id)])
    assert result.exit_code == 0, result.output
    assert "· new ·" in result.output and "\n+ " in result.output


def test_diff_unknown_change_is_one_line_exit_1(cli: tuple[CliRunner, list[str]]) -> None:
    runner, cfg = cli
    result = runner.invoke(main, [*cfg, "diff", "9999"])
    assert result.exit_code == 1
    assert result.output.strip() == \
        "trustwatch: no change with id 9999 (see `trustwatch changes --all`)"


def test_diff_needs_a_change_or_files(cli: tuple[CliRunner, list[str]], tmp_path: Path) -> None:
    runner, cfg = cli
    assert runner.invoke(main, [*cfg, "diff"]).exit_code == 2
    f = tmp_path / "a.txt"
    f.write_text("x", encoding="utf-8")
    assert runner.invoke(main, [*cfg, "diff", "1", "--files", str(f), str(f)]).exit_code == 2
    assert runner.invoke(main, [*cfg, "diff", "--files", str(f), str(tmp_path / "nope")]
                         ).exit_code == 2


def test_diff_files_text_html_and_pdf(tmp_path: Path) -> None:
    runner = CliRunner()
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("Sec. 15. Prohibition.\nNo agency may give access.\n", encoding="utf-8")
    new.write_text("Sec. 15. Prohibition.\nNo agency may give direct access to ICE.\n",
                   encoding="utf-8")
    result = runner.invoke(main, ["diff", "--files", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "--- " + str(old) in result.output and "+++ " + str(new) in result.output
    assert "@@ Sec. 15" in result.output
    assert re.search(r"\{\+[^}]*direct access to ICE", result.output)  # plain markers

    leads = [FIXTURES / "isp" / f"v{n}" / "LawEnforcement" / "LEADS" for n in (1, 2)]
    html_old, html_new = tmp_path / "leads1.html", tmp_path / "leads2.html"
    html_old.write_bytes(leads[0].read_bytes())
    html_new.write_bytes(leads[1].read_bytes())
    result = runner.invoke(main, ["diff", "--files", str(html_old), str(html_new)])
    assert result.exit_code == 0, result.output
    assert "Enforcement and Removal Operations" in result.output
    assert "<div" not in result.output  # extracted text, not markup

    pdfs = sorted((FIXTURES / "ag" / "v1" / "Page-Attachments").glob(
        "TRUST Act Compliance Report 202*.pdf"))
    result = runner.invoke(main, ["diff", "--files", str(pdfs[0]), str(pdfs[1])])
    assert result.exit_code == 0, result.output
    assert "@@ p. 1" in result.output


def test_diff_files_unreadable_is_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    result = CliRunner().invoke(main, ["diff", "--files", str(empty), str(empty)])
    assert result.exit_code == 1
    assert result.output.startswith(f"trustwatch: {empty}: cannot read")


def test_mark_sets_review_and_time(cli: tuple[CliRunner, list[str]], storage: Storage) -> None:
    runner, cfg = cli
    ch = _changed(storage)
    result = runner.invoke(main, [*cfg, "mark", str(ch.id), "newsworthy"])
    assert result.exit_code == 0 and result.output == f"change {ch.id}: newsworthy\n"
    result = runner.invoke(main, [*cfg, "mark", str(ch.id), "noise"])
    assert result.output == f"change {ch.id}: noise (was newsworthy)\n"
    row = storage.change(ch.id)
    assert row is not None and row[0].review == "noise" and row[0].reviewed_at is not None
    assert "[noise]" in runner.invoke(main, [*cfg, "changes"]).output
    assert runner.invoke(main, [*cfg, "mark", "9999", "noise"]).exit_code == 1
    assert runner.invoke(main, [*cfg, "mark", str(ch.id), "great"]).exit_code == 2


def test_archive_build_defaults_to_archive_dir(cli: tuple[CliRunner, list[str]],
                                               tmp_path: Path, storage: Storage) -> None:
    runner, cfg = cli
    result = runner.invoke(main, [*cfg, "archive", "build"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "archive" / "index.html").is_file()
    assert f"-> {tmp_path / 'archive' / 'index.html'}" in result.output
    ch = _changed(storage)
    runner.invoke(main, [*cfg, "mark", str(ch.id), "reviewed"])
    result = runner.invoke(main, [*cfg, "archive", "build", str(tmp_path / "archive")])
    assert "captured files added" in result.output
    assert f"changes/{ch.id}.html" in (tmp_path / "archive" / "review" / "reviewed.html"
                                      ).read_text(encoding="utf-8")


def test_serve_without_an_archive_is_one_line_exit_1(cli: tuple[CliRunner, list[str]]) -> None:
    runner, cfg = cli
    result = runner.invoke(main, [*cfg, "serve", "--port", "0"])
    assert result.exit_code == 1 and "no archive in" in result.output


def _sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def test_export_warc_verifies_with_warcio(cli: tuple[CliRunner, list[str]], storage: Storage,
                                          tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    runner, cfg = cli
    # a capture whose stored headers still claim the transfer encoding of the wire
    run(storage, {POLICY: b"<html><body><p>LEADS policy, gzip on the wire</p></body></html>"},
        3, headers={"Content-Type": ["text/html"], "Content-Encoding": ["gzip"],
                    "Transfer-Encoding": ["chunked"], "Content-Length": ["17"]})
    add_payload_change(storage)
    out = tmp_path / "evidence" / "trustwatch.warc.gz"
    result = runner.invoke(main, [*cfg, "export", "warc", str(out)])
    assert result.exit_code == 0, result.output

    with storage.session() as s:
        versions = list(s.scalars(select(Version)))
        checks = list(s.scalars(select(Check).where(Check.raw_sha256.is_not(None))))
        expected = sorted([(v.final_url, Storage.read_blob(s, v.raw_sha256),
                            v.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for v in versions]
                          + [(c.final_url, Storage.read_blob(s, c.raw_sha256),
                              c.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ")) for c in checks])
    assert checks, "the fixture should hold unchanged captures with bytes"
    assert f"wrote {len(expected)} response records ({len(versions)} versions, " \
           f"{len(checks)} checks)" in result.output

    warcio = "import sys; from warcio.cli import main; main(sys.argv[1:])"
    check = subprocess.run([sys.executable, "-c", warcio, "check", "-v", str(out)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == len(expected) + 1  # + warcinfo

    found = []
    with out.open("rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type != "response":
                continue
            body = rec.content_stream().read()
            assert rec.rec_headers.get_header("WARC-Payload-Digest") == _sha1_b32(body)
            headers = rec.http_headers
            assert headers.get_statuscode() == "200"
            assert headers.get_header("Content-Encoding") is None
            assert headers.get_header("Transfer-Encoding") is None
            assert headers.get_header("Content-Length") == str(len(body))
            found.append((rec.rec_headers.get_header("WARC-Target-URI"), body,
                          rec.rec_headers.get_header("WARC-Date")))
    assert sorted(found) == expected
