"""PDFs: per-page markers, running header/footer removal, no text layer, corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fpdf import FPDF

from trustwatch.extract import ExtractionError, extract
from trustwatch.extract.pdf import extract_pdf


class _Policy(FPDF):
    """A policy document with a running header and a "Page N of M" footer."""

    running_header = "Illinois State Police — LEADS"

    def header(self) -> None:
        if self.running_header:
            self.set_font("body", size=8)
            self.cell(0, 6, self.running_header)
            self.ln(10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("body", size=8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def make_pdf(
    path: Path,
    pages: list[list[str]],
    header: str = "Illinois State Police — LEADS",
    title: str = "",
) -> bytes:
    pdf = _Policy()
    pdf.running_header = header
    pdf.add_font("body", "", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if title:
        pdf.set_title(title)
    for lines in pages:
        pdf.add_page()
        pdf.set_font("body", size=11)
        for line in lines:
            pdf.cell(0, 7, line)
            pdf.ln(8)
    pdf.output(str(path))
    return path.read_bytes()


def test_pages_get_markers_and_running_headers_and_footers_are_removed(tmp_path: Path) -> None:
    body = make_pdf(
        tmp_path / "policy.pdf",
        [
            ["LEADS Security Policy", "1. Purpose"],
            ["2. Scope", "All personnel with a LEADS Agreement."],
            ["3. Authorized Use"],
        ],
        title="LEADS Security Policy",
    )
    result = extract(body, "application/pdf")
    assert result.kind == "pdf"
    assert result.pages == 3
    assert result.title == "LEADS Security Policy"
    assert result.text.splitlines() == [
        "[page 1]",
        "LEADS Security Policy",
        "1. Purpose",
        "[page 2]",
        "2. Scope",
        "All personnel with a LEADS Agreement.",
        "[page 3]",
        "3. Authorized Use",
    ]
    assert not result.no_text_layer


def test_page_number_footer_is_removed_from_a_single_page(tmp_path: Path) -> None:
    body = make_pdf(tmp_path / "one.pdf", [["VOICES Act Guidance"]], header="")
    assert extract_pdf(body).text == "[page 1]\nVOICES Act Guidance"


def test_title_falls_back_to_the_first_line(tmp_path: Path) -> None:
    body = make_pdf(tmp_path / "untitled.pdf", [["Press release", "Body"]], header="")
    assert extract_pdf(body).title == "Press release"


def test_ligatures_are_expanded(tmp_path: Path) -> None:
    body = make_pdf(tmp_path / "lig.pdf", [["the o\ufb03cial \ufb01le"]], header="")
    assert "the official file" in extract_pdf(body).text


def test_bill_text_line_numbers_and_running_headers_are_dropped(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    printed = [("AN ACT concerning", "State government."), ("Be it enacted", "by the People")]
    for page, lines in enumerate(printed, start=1):
        pdf.add_page()
        pdf.cell(0, 8, f"SB1881 - {page + 1} - LRB104 06329 BDA 16364 b")
        pdf.ln(10)
        for number, words in enumerate(lines, start=1):
            pdf.cell(10, 8, str(number))
            pdf.cell(0, 8, words)
            pdf.ln(8)
    (tmp_path / "bill.pdf").write_bytes(bytes(pdf.output()))
    text = extract_pdf((tmp_path / "bill.pdf").read_bytes()).text
    assert text.splitlines() == [
        "[page 1]",
        "AN ACT concerning",
        "State government.",
        "[page 2]",
        "Be it enacted",
        "by the People",
    ]


def test_pages_without_text_are_flagged(tmp_path: Path) -> None:
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")  # a "scan": marks, no text
    (tmp_path / "scan.pdf").write_bytes(bytes(pdf.output()))
    result = extract_pdf((tmp_path / "scan.pdf").read_bytes())
    assert result.no_text_layer
    assert "no text layer on pages 1-2" in result.notes
    assert result.text == "[page 1]\n[page 2]"


def test_one_page_without_text_is_noted_but_not_flagged(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.cell(0, 8, "Cover letter")
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    (tmp_path / "mixed.pdf").write_bytes(bytes(pdf.output()))
    result = extract_pdf((tmp_path / "mixed.pdf").read_bytes())
    assert not result.no_text_layer
    assert "no text layer on page 2" in result.notes


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.4\nthis is not a pdf body",
        b"%PDF-1.7\n" + b"\x00" * 64,
        b"not a pdf at all",
    ],
)
def test_corrupt_pdf_raises_one_plain_line(body: bytes) -> None:
    with pytest.raises(ExtractionError) as error:
        extract_pdf(body)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(("corrupt PDF:", "not a PDF:"))


def test_truncated_pdf_raises(tmp_path: Path) -> None:
    body = make_pdf(tmp_path / "t.pdf", [["LEADS"], ["Agreement"]])
    with pytest.raises(ExtractionError, match="^corrupt PDF: "):
        extract(body[: len(body) // 3], "application/pdf")


FIXTURES = Path(__file__).resolve().parents[2] / "trustwatch" / "fixtures"


def test_large_pdfs_are_read_in_a_child_process_with_the_same_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import trustwatch.extract as ex
    from trustwatch.extract.pdf import extract_pdf, extract_pdf_isolated

    body = (FIXTURES / "isp" / "v2" / "LawEnforcement" / "GetFile" /
            "5d9e2b47-8a1c-4f63-a0d7-3b6c9e1f2a84").read_bytes()
    assert extract_pdf_isolated(body) == extract_pdf(body)
    monkeypatch.setattr(ex, "ISOLATE_BYTES", 1)  # route extract() through the child
    assert ex.extract(body, "application/pdf") == extract_pdf(body)


def test_isolated_pdf_reader_is_stopped_at_its_time_limit() -> None:
    from trustwatch.extract.pdf import extract_pdf_isolated

    body = (FIXTURES / "isp" / "v2" / "LawEnforcement" / "GetFile" /
            "5d9e2b47-8a1c-4f63-a0d7-3b6c9e1f2a84").read_bytes()
    with pytest.raises(ExtractionError, match="took longer than"):
        extract_pdf_isolated(body, time_limit=0.001)


def test_isolated_corrupt_pdf_is_one_plain_error() -> None:
    from trustwatch.extract.pdf import extract_pdf_isolated

    with pytest.raises(ExtractionError, match="corrupt PDF"):
        extract_pdf_isolated(b"%PDF-1.7\n1 0 obj << >> truncated")


def test_spawned_children_do_not_rerun_the_cli() -> None:
    """multiprocessing's spawn re-imports `python -m trustwatch`'s main module as
    __mp_main__; that import must not start the command line again."""
    import runpy

    runpy.run_module("trustwatch.__main__", run_name="__mp_main__")  # no SystemExit
