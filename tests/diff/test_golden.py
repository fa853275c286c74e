"""Golden files for the diff engine: ``golden/<case>/old.txt`` + ``new.txt`` -> ``expected.json``
(``to_json``) and ``expected.txt`` (plain terminal rendering), both reviewed by eye.

Regenerate after an intended change with ``TRUSTWATCH_REGEN_GOLDEN=1 pytest tests/diff``
and review the git diff of the expected files before committing them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trustwatch.diff import diff_texts, from_json, render_terminal, to_json

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "old.txt").exists())
REGEN = os.environ.get("TRUSTWATCH_REGEN_GOLDEN") == "1"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    folder = GOLDEN / case
    params_file = folder / "params.json"
    params = json.loads(_read(params_file)) if params_file.exists() else {}
    diff = diff_texts(_read(folder / "old.txt"), _read(folder / "new.txt"), **params)
    got_json = to_json(diff)
    got_text = render_terminal(diff, color=False)
    if REGEN:
        (folder / "expected.json").write_text(
            json.dumps(got_json, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (folder / "expected.txt").write_text(got_text, encoding="utf-8")
    assert got_json == json.loads(_read(folder / "expected.json"))
    assert got_text == _read(folder / "expected.txt")
    assert from_json(got_json) == diff


def test_all_required_cases_present() -> None:
    required = {
        "html_page_edit",
        "statute_section_edit",
        "pdf_page_edit",
        "moved_paragraph",
        "whitespace_only",
        "insert_only",
        "delete_only",
        "long_coarse",
    }
    assert required <= set(CASES)
