"""Relevance: every built-in term matches, the decoys don't, and diffs count changed words only."""

from __future__ import annotations

from pathlib import Path

import pytest

from trustwatch.diff import diff_texts
from trustwatch.relevance import TERM_GROUPS, Match, Relevance, summarise


@pytest.fixture(scope="module")
def rel() -> Relevance:
    return Relevance()


def terms(rel: Relevance, text: str) -> list[str]:
    return [term for _, term, _, _ in rel.find(text)]


# (text that must match, group, canonical term)
POSITIVES = [
    ("The Illinois TRUST Act bars it.", "trust_act", "TRUST Act"),
    ("SB1881 IL TRUST ACT CHANGES", "trust_act", "TRUST Act"),
    ("amends 5 ILCS 805/15", "trust_act", "5 ILCS 805"),
    ("the Way Forward Act amended it", "trust_act", "Way Forward Act"),
    ("the VOICES Act requires", "trust_act", "VOICES Act"),
    ("any Immigration Detainers received", "trust_act", "immigration detainer"),
    ("a civil immigration warrant", "trust_act", "civil immigration warrant"),
    ("except with a federal criminal warrant", "trust_act", "federal criminal warrant"),
    (
        "based on citizenship or immigration status",
        "trust_act",
        "citizenship or immigration status",
    ),
    ("giving direct access to", "trust_act", "direct access"),
    ("to any electronic databases", "trust_act", "electronic database"),
    ("a data-sharing agreement", "trust_act", "data-sharing"),
    ("on data sharing with", "trust_act", "data-sharing"),
    ("shared with ICE since 2008", "immigration_agencies", "ICE"),
    ("ICE's field office", "immigration_agencies", "ICE"),
    (
        "U.S. Immigration and Customs Enforcement",
        "immigration_agencies",
        "Immigration and Customs Enforcement",
    ),
    ("ERO Chicago", "immigration_agencies", "ERO"),
    (
        "Enforcement and Removal Operations signed",
        "immigration_agencies",
        "Enforcement and Removal Operations",
    ),
    ("HSI agents", "immigration_agencies", "HSI"),
    (
        "Homeland Security Investigations",
        "immigration_agencies",
        "Homeland Security Investigations",
    ),
    ("CBP officers", "immigration_agencies", "CBP"),
    ("DHS components", "immigration_agencies", "DHS"),
    (
        "the Department of Homeland Security",
        "immigration_agencies",
        "Department of Homeland Security",
    ),
    ("the Immigration Violator File", "immigration_agencies", "Immigration Violator File"),
    ("Form I-247A detainer", "immigration_agencies", "I-247"),
    ("an I-200 warrant", "immigration_agencies", "I-200"),
    ("an I-205 warrant", "immigration_agencies", "I-205"),
    ("queries through LEADS", "leads", "LEADS"),
    ("the Law Enforcement Agencies Data System", "leads", "Law Enforcement Agencies Data System"),
    ("the gang member file", "leads", "gang member file"),
    ("a street gang", "leads", "street gang"),
    ("distinctive emblems", "leads", "distinctive emblems"),
    ("visible Tattoos", "leads", "tattoo"),
    ("a signed LEADS Agreement", "leads", "LEADS Agreement"),
    ("see the Addendum", "leads", "addendum"),
    ("both addenda", "leads", "addendum"),
    ("secondary dissemination log", "leads", "secondary dissemination"),
    ("country of birth", "leads", "country of birth"),
    ("place of birth", "leads", "place of birth"),
    ("alien registration", "leads", "alien"),
]


@pytest.mark.parametrize(("text", "group", "term"), POSITIVES)
def test_positive(rel: Relevance, text: str, group: str, term: str) -> None:
    assert (group, term) in [(g, t) for g, t, _, _ in rel.find(text)]


def test_every_listed_term_has_a_positive() -> None:
    covered = {term for _, _, term in POSITIVES}
    listed = {t for ts in TERM_GROUPS.values() for t in ts}
    assert listed == covered


DECOYS = [
    "ice cream",
    "an Ice storm",
    "zero",
    "Hero",
    "Illinois Trust Code",
    "a trust fund",
    "a land trust",
    "the Trust Act",  # TRUST is an acronym: title case is not the TRUST Act
    "Homeland",
    "CBPs",  # an acronym does not take a plural
    "he leads the team",
    "Leads",
    "notice office police",  # "ice" inside words
    "ICEBERG",
    "I-2470",
    "tattooed",
    "alienate",
    "direct accessibility",
    "data shared",
    "5 ILCS 8050",
]


@pytest.mark.parametrize("text", DECOYS)
def test_decoy(rel: Relevance, text: str) -> None:
    assert terms(rel, text) == []


def test_phrase_across_line_break(rel: Relevance) -> None:
    text = "DHS Enforcement and\nRemoval Operations signed a LEADS\nAgreement in 2024."
    assert terms(rel, text) == ["DHS", "Enforcement and Removal Operations", "LEADS Agreement"]


def test_longest_phrase_wins_and_no_overlaps(rel: Relevance) -> None:
    found = rel.find("the LEADS Agreements and LEADS")
    assert [(t, s, e) for _, t, s, e in found] == [("LEADS Agreement", 4, 20), ("LEADS", 25, 30)]


def test_extra_terms_from_config() -> None:
    rel = Relevance({"trust_act": ["Keep Illinois Families Together"], "local": ["287(g)"]})
    assert terms(rel, "the keep illinois families together act") == [
        "Keep Illinois Families Together"
    ]
    assert rel.find("a 287(g) agreement")[0][:2] == ("local", "287(g)")
    with pytest.raises(ValueError):
        Relevance({"x": [""]})
    with pytest.raises(TypeError):
        Relevance({"x": "ICE"})  # type: ignore[dict-item]


def test_for_diff_counts_only_changed_words(rel: Relevance) -> None:
    old = "[page 3]\nDHS Enforcement and Operations signed.\nICE agents detained people under LEADS rules."
    new = "[page 3]\nDHS Enforcement and Removal Operations signed.\nICE officers held people under LEADS rules."
    matches = rel.for_diff(diff_texts(old, new))
    assert [(m.side, m.term, m.label) for m in matches] == [
        ("inserted", "Enforcement and Removal Operations", "p. 3"),
    ]
    assert "Enforcement and Removal Operations" in matches[0].excerpt


def test_for_diff_inserted_and_deleted_with_labels(rel: Relevance) -> None:
    old = "(5 ILCS 805/15)\nSec. 15. Prohibition.\n(a) No agency may share LEADS data.\n(b) Other."
    new = (
        "(5 ILCS 805/15)\nSec. 15. Prohibition.\n(a) No agency may share data with ICE.\n(b) Other."
    )
    matches = rel.for_diff(diff_texts(old, new))
    assert {(m.side, m.term, m.label) for m in matches} == {
        ("inserted", "ICE", "Sec. 15"),
        ("deleted", "LEADS", "Sec. 15"),
    }
    assert summarise(matches) == "added 'ICE' (Sec. 15); removed 'LEADS' (Sec. 15)"


def test_for_diff_ignores_unchanged_mention_recut_by_the_word_diff(rel: Relevance) -> None:
    old = "alpha beta ICE gamma delta."
    new = "one two three ICE four five six."
    d = diff_texts(old, new)
    # semantic cleanup folds the unchanged "ICE" into both the deletion and the insertion
    assert "ICE" in d.hunks[0].deleted and "ICE" in d.hunks[0].inserted
    assert rel.for_diff(d) == []
    # but a mention that really was added alongside counts
    d = diff_texts(old, "one two three ICE four ICE six.")
    assert [(m.side, m.term) for m in rel.for_diff(d)] == [("inserted", "ICE")]


def test_for_diff_ignores_moves(rel: Relevance) -> None:
    a = "Intro paragraph goes here.\nICE shares data with LEADS users.\nClosing paragraph here."
    b = "ICE shares data with LEADS users.\nIntro paragraph goes here.\nClosing paragraph here."
    d = diff_texts(a, b)
    assert d.hunks and all(h.moved for h in d.hunks)
    assert rel.for_diff(d) == []


def test_for_text_labels_and_excerpt(rel: Relevance) -> None:
    text = "[page 1]\nCover\n[page 2]\n" + "filler " * 60 + "shared with ICE under " + "more " * 60
    (m,) = rel.for_text(text)
    assert (m.group, m.term, m.side, m.label) == ("immigration_agencies", "ICE", "text", "p. 2")
    assert "shared with ICE under" in m.excerpt and len(m.excerpt) <= 220
    assert "\n" not in m.excerpt


def test_summarise() -> None:
    ms = [
        Match("immigration_agencies", "ERO", "inserted", "p. 3", ""),
        Match("immigration_agencies", "ERO", "inserted", "p. 4", ""),
        Match("leads", "LEADS", "deleted", "Sec. 15", ""),
        Match("trust_act", "TRUST Act", "text", "", ""),
    ]
    assert (
        summarise(ms) == "added 'ERO' (p. 3, p. 4); removed 'LEADS' (Sec. 15); mentions 'TRUST Act'"
    )
    assert summarise([]) == ""


def test_for_diff_on_a_pdf_with_labels(rel: Relevance) -> None:
    folder = Path(__file__).parent / "diff" / "golden" / "pdf_consecutive_lines"
    d = diff_texts(
        (folder / "old.txt").read_text(encoding="utf-8"),
        (folder / "new.txt").read_text(encoding="utf-8"),
    )
    assert (
        summarise(rel.for_diff(d)) == "added 'DHS' (p. 1); added 'ICE' (p. 2); added 'ERO' (p. 2)"
    )


def test_rewording_inside_a_sentence_that_names_a_term_is_relevant() -> None:
    from trustwatch.diff import diff_texts
    from trustwatch.relevance import Relevance

    old = ("Law enforcement agencies may not enter into or maintain any agreement that gives "
           "federal immigration agents direct access to any electronic database, unless "
           "presented with a federal criminal warrant.\nThe office is open on Mondays.")
    new = ("Law enforcement agencies may not give federal immigration agents direct access to "
           "any electronic database, whether by written agreement or otherwise, unless "
           "presented with a federal criminal warrant.\nThe office is open on Mondays.")
    r = Relevance()
    d = diff_texts(old, new)
    assert r.for_diff(d) == []  # no term itself was inserted or deleted
    context = r.for_context(d)
    assert {m.term for m in context} >= {"direct access", "electronic database"}
    assert all(m.side == "context" for m in context)


def test_edit_in_a_sentence_without_terms_is_not_context_relevant() -> None:
    from trustwatch.diff import diff_texts
    from trustwatch.relevance import Relevance

    old = "The TRUST Act applies to all agencies.\nThe office is open on Mondays."
    new = "The TRUST Act applies to all agencies.\nThe office is open on Tuesdays."
    assert Relevance().for_context(diff_texts(old, new)) == []
