"""What the golden files must keep meaning, plus engine properties the goldens don't show."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from trustwatch.diff import (
    Diff,
    Hunk,
    Span,
    diff_texts,
    from_json,
    label_at,
    line_label,
    render_terminal,
    to_json,
)

GOLDEN = Path(__file__).parent / "golden"


def golden_diff(case: str) -> Diff:
    folder = GOLDEN / case
    params_file = folder / "params.json"
    params = json.loads(params_file.read_text()) if params_file.exists() else {}
    return diff_texts(
        (folder / "old.txt").read_text(encoding="utf-8"),
        (folder / "new.txt").read_text(encoding="utf-8"),
        **params,
    )


def test_statute_edit_is_labelled_with_its_section() -> None:
    d = golden_diff("statute_section_edit")
    assert [h.label for h in d.hunks] == ["Sec. 15"]
    assert "direct access to any electronic database" in d.hunks[0].inserted
    assert d.hunks[0].deleted == "102-234 8-2-21"


def test_pdf_edit_is_labelled_with_its_page() -> None:
    d = golden_diff("pdf_page_edit")
    assert [h.label for h in d.hunks] == ["p. 1", "p. 2"]
    assert (
        d.hunks[1].inserted
        == ", including federal agencies such as DHS Enforcement and Removal Operations"
    )
    assert d.inserted_words == 11 and d.deleted_words == 1


def test_moved_paragraph_is_one_move() -> None:
    d = golden_diff("moved_paragraph")
    assert len(d.hunks) == 1
    (h,) = d.hunks
    assert h.moved and h.moved_from_line == 2 and h.new_line == 4
    assert h.inserted == h.deleted == ""
    assert d.inserted_words == d.deleted_words == 0


def test_whitespace_only_change_has_no_hunks() -> None:
    d = golden_diff("whitespace_only")
    assert d.hunks == () and not d.coarse


def test_insert_only_and_delete_only() -> None:
    ins = golden_diff("insert_only")
    assert all(s.op == "insert" for h in ins.hunks for s in h.spans)
    assert ins.deleted_words == 0 and ins.inserted_words > 0
    dele = golden_diff("delete_only")
    assert all(s.op == "delete" for h in dele.hunks for s in h.spans)
    assert dele.hunks[0].label == "p. 2"  # pure deletion: labelled from the old text
    assert dele.inserted_words == 0 and dele.deleted_words == 15


def test_tiny_time_limit_falls_back_to_whole_lines_and_says_so() -> None:
    d = golden_diff("long_coarse")
    assert d.coarse
    assert "Time limit" in d.note and "whole-line" in d.note
    exact = golden_diff_with_limit("long_coarse", 30.0)
    assert not exact.coarse and exact.note == ""
    assert exact.inserted_words < d.inserted_words  # word level finds the few edited words


def golden_diff_with_limit(case: str, limit: float) -> Diff:
    folder = GOLDEN / case
    return diff_texts(
        (folder / "old.txt").read_text(encoding="utf-8"),
        (folder / "new.txt").read_text(encoding="utf-8"),
        time_limit=limit,
    )


def test_deterministic() -> None:
    old = (GOLDEN / "long_coarse" / "old.txt").read_text(encoding="utf-8")
    new = (GOLDEN / "long_coarse" / "new.txt").read_text(encoding="utf-8")
    assert to_json(diff_texts(old, new)) == to_json(diff_texts(old, new))


def test_identical_and_empty_texts() -> None:
    assert diff_texts("", "").hunks == ()
    assert diff_texts("same\n", "same\n").hunks == ()
    d = diff_texts("", "New page\nICE")
    assert d.inserted_words == 3 and d.hunks[0].old_line == 1 and d.hunks[0].new_line == 1
    d = diff_texts("Old page", "")
    assert d.deleted_words == 2 and d.inserted_words == 0


def test_rewrapped_paragraph_is_whitespace_only() -> None:
    assert diff_texts("one two three four\n", "one two\nthree   four\n").hunks == ()


def test_words_align_on_whole_words() -> None:
    d = diff_texts(
        "The agency shares data with ICE daily.", "The agency shares records with ERO daily."
    )
    (h,) = d.hunks
    assert h.deleted == "data ICE" and h.inserted == "records ERO"
    assert [s.op for s in h.spans] == [
        "equal",
        "delete",
        "insert",
        "equal",
        "delete",
        "insert",
        "equal",
    ]
    # no partial words: "abc" -> "abd" is a whole-word replacement
    assert diff_texts("abc", "abd").hunks[0].spans == (Span("delete", "abc"), Span("insert", "abd"))


def test_spans_rebuild_both_block_texts() -> None:
    d = golden_diff("html_page_edit")
    h = d.hunks[0]
    assert h.old_text.startswith("The Illinois TRUST Act") and "electronic" not in h.old_text
    assert h.new_text.endswith("access to electronic databases.")


def test_moved_block_of_several_lines_is_one_hunk() -> None:
    paras = [f"Paragraph number {n} has a few words in it." for n in range(8)]
    new = paras[:1] + paras[4:7] + paras[1:4] + paras[7:]
    d = diff_texts("\n".join(paras), "\n".join(new))
    assert len(d.hunks) == 1 and d.hunks[0].moved
    assert d.hunks[0].new_text.count("\n") == 2  # three lines moved together


def test_short_repeated_lines_are_not_moves() -> None:
    d = diff_texts(
        "Yes\nA long enough paragraph here.\nNo", "No\nA long enough paragraph here.\nYes"
    )
    assert not any(h.moved for h in d.hunks)


def test_labels() -> None:
    assert line_label("[page 12]") == "p. 12"
    assert (
        line_label("Sec. 15. Prohibition on enforcing federal civil immigration laws.") == "Sec. 15"
    )
    assert line_label("Sec. 10-5.1. Definitions.") == "Sec. 10-5.1"
    assert line_label("(5 ILCS 805/25)") == "Sec. 25"
    assert line_label("(a) A law enforcement agency") is None
    assert line_label("Section 5. The Illinois TRUST Act is amended") is None
    text = "intro\n[page 2]\nbody\n(5 ILCS 805/15)\nSec. 15. Title.\nmore"
    assert label_at(text, 0) == ""
    assert label_at(text, text.index("body")) == "p. 2"
    assert label_at(text, text.index("more")) == "Sec. 15"


def test_json_round_trip_and_errors() -> None:
    d = golden_diff("statute_section_edit")
    obj = json.loads(json.dumps(to_json(d)))
    assert from_json(obj) == d
    with pytest.raises(ValueError):
        from_json({"hunks": [{"spans": [["bogus", "x"]]}]})
    with pytest.raises(ValueError):
        from_json({"version": 99, "hunks": []})


def test_render_plain_and_colour() -> None:
    d = diff_texts("The agency shares data with ICE.", "The agency shares records with ICE.")
    plain = render_terminal(d, color=False)
    assert "[-data-]{+records+}" in plain and "\x1b" not in plain
    coloured = render_terminal(d, color=True)
    assert "\x1b[32mrecords" in coloured and "\x1b[31;9mdata" in coloured


def test_render_neutralises_terminal_escapes() -> None:
    d = diff_texts("safe", "safe \x1b]0;pwned\x07 \x1b[2J text")
    out = render_terminal(d, color=False)
    assert "\x1b" not in out and "\x07" not in out


def test_render_trims_long_unchanged_text() -> None:
    words = " ".join(f"w{n}" for n in range(200))
    d = diff_texts(words, words.replace("w100", "CHANGED"))
    out = render_terminal(d, color=False, context=5)
    assert "[-w100-]{+CHANGED+}" in out and "w10 " not in out and "…" in out


def test_hunk_is_frozen() -> None:
    h = Hunk("", (), "", "", 1, 1)
    with pytest.raises(AttributeError):
        h.label = "x"  # type: ignore[misc]


def test_consecutive_edited_lines_are_separate_hunks_with_their_own_labels() -> None:
    d = golden_diff("pdf_consecutive_lines")
    assert [(h.label, h.old_line, h.new_line) for h in d.hunks] == [
        ("p. 1", 3, 3),
        ("p. 1", 4, 4),
        ("p. 2", 6, 6),
        ("p. 2", 7, 7),
    ]
    assert d.hunks[1].deleted == "shall not" and d.hunks[1].inserted == "may to DHS"


def test_large_document_stays_fast() -> None:
    # guards against accidental quadratic behaviour; the real numbers are in bench/
    paras = [
        f"Sec. {n}. Paragraph {n} about records, terminals, agencies and rule {n * 7}."
        for n in range(20000)
    ]
    edited = list(paras)
    for n in range(0, 20000, 400):
        edited[n] = edited[n].replace("records", "ICE records")
    old, new = "\n".join(paras), "\n".join(edited)
    t0 = time.perf_counter()
    d = diff_texts(old, new)
    assert time.perf_counter() - t0 < 2.0
    assert len(d.hunks) == 50 and d.inserted_words == 50 and not d.coarse
    assert d.hunks[1].label == "Sec. 400"
