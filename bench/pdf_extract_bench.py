"""Compare pypdf and pdfminer.six for trustwatch's PDF extraction: speed and text quality.

Run from the repository root:

    python bench/pdf_extract_bench.py [--pages 200]

Inputs: a generated multi-page policy document (fpdf2, a TrueType font, justified text,
a running header and a "Page N of M" footer, ligature code points) whose exact words are
known, plus every fixture PDF under trustwatch/fixtures/ (when present). For each library
it reports seconds per page and, against the known words: order similarity (difflib ratio
over the word sequence), words glued together or split apart, and ligature code points
left in the text.
"""

from __future__ import annotations

import argparse
import difflib
import io
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
PARAGRAPHS = [
    (
        "The Illinois State Police shall not enter into any agreement giving federal "
        "immigration authorities direct access to an electronic database, except with a "
        "federal criminal warrant or where federal law requires it."
    ),
    (
        "LEADS users must confirm the secondary dissemination log is complete before any "
        "record leaves the agency; the gang member file may hold citizenship information, "
        "distinctive emblems and tattoo descriptions."
    ),
    (
        "Officers shall file the official certification within fifteen days; the office "
        "affirms that no fiscal efficiency justifies a waiver of the TRUST Act."
    ),
]
LIGATURES = re.compile("[\ufb00-\ufb06]")


def make_long_pdf(path: Path, pages: int) -> list[list[str]]:
    """Write a ``pages``-page PDF; return each page's body words in reading order.

    Every fourth page is laid out like a bill text: line numbers 1-25 in a left margin
    column beside the text lines (the numbers are not part of the reference words)."""
    from fpdf import FPDF

    class Policy(FPDF):
        def header(self) -> None:
            self.set_font("body", size=8)
            self.cell(0, 6, "Illinois State Police — LEADS Security Policy", align="C")
            self.ln(10)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("body", size=8)
            self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Policy()
    pdf.add_font("body", "", str(FONT))
    pdf.set_auto_page_break(False)
    reference: list[list[str]] = []
    for number in range(1, pages + 1):
        pdf.add_page()
        words: list[str] = []
        reference.append(words)
        if number % 4 == 0:
            pdf.set_font("body", size=10)
            line_words = " ".join(PARAGRAPHS).split()
            for line_no in range(1, 26):
                chunk = line_words[(line_no - 1) * 3 % len(line_words) :][:9]
                pdf.set_x(10)
                pdf.cell(10, 8, str(line_no))
                pdf.set_x(25)
                pdf.cell(0, 8, " ".join(chunk))
                pdf.ln(8)
                words.extend(chunk)
            continue
        pdf.set_font("body", size=14)
        heading = f"Section {number}. Data sharing controls"
        pdf.cell(0, 8, heading)
        pdf.ln(10)
        words.extend(heading.split())
        pdf.set_font("body", size=10)
        for index in range(5):
            text = PARAGRAPHS[(number + index) % len(PARAGRAPHS)]
            if index == 2:  # ligature code points as some producers embed them
                text = text.replace("fi", "\ufb01").replace("ff", "\ufb00")
            pdf.multi_cell(0, 5, text, align="J")
            pdf.ln(2)
            words.extend(LIGATURES.sub(lambda m: _unlig(m.group(0)), text).split())
    pdf.output(str(path))
    return reference


def _unlig(char: str) -> str:
    return {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl"}.get(
        char, char
    )


def pypdf_pages(body: bytes) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    return [page.extract_text() or "" for page in reader.pages]


def pdfminer_pages(body: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    out: list[str] = []
    for layout in extract_pages(io.BytesIO(body)):
        out.append("".join(el.get_text() for el in layout if isinstance(el, LTTextContainer)))
    return out


LIBRARIES: dict[str, Callable[[bytes], list[str]]] = {
    "pypdf": pypdf_pages,
    "pdfminer.six": pdfminer_pages,
}


def quality(pages: list[str], reference: list[list[str]]) -> dict[str, float]:
    """Order: mean per-page difflib ratio of body words (digits, header/footer words out)."""
    known = {w for page in reference for w in page}
    ratios: list[float] = []
    ligatures = unknown = glued = 0
    for text, ref in zip(pages, reference, strict=False):
        ligatures += len(LIGATURES.findall(text))
        got = LIGATURES.sub(lambda m: _unlig(m.group(0)), text).split()
        got = [w for w in got if not w.isdigit()]
        body = [w for w in got if w in known]
        for w in got:
            if w in known:
                continue
            unknown += 1
            if any(w.startswith(k) and w[len(k) :] in known for k in known if len(k) > 1):
                glued += 1
        ratios.append(difflib.SequenceMatcher(None, ref, body, autojunk=False).ratio())
    return {
        "order": round(statistics.mean(ratios), 4) if ratios else 0.0,
        "glued": glued,
        "other_tokens": unknown,
        "ligatures_left": ligatures,
    }


def bench(name: str, body: bytes, reference: list[list[str]] | None, repeat: int) -> None:
    for library, run in LIBRARIES.items():
        times = []
        pages: list[str] = []
        for _ in range(repeat):
            start = time.perf_counter()
            pages = run(body)
            times.append(time.perf_counter() - start)
        per_page = statistics.median(times) / max(1, len(pages))
        line = f"{name:42} {library:13} pages={len(pages):4} ms/page={per_page * 1000:7.2f}"
        if reference is not None:
            scores = quality(pages, reference)
            line += " " + " ".join(f"{key}={value}" for key, value in scores.items())
        print(line, flush=True)


def _title(body: bytes) -> str:
    from pypdf import PdfReader

    metadata = PdfReader(io.BytesIO(body)).metadata
    return str(metadata.title or "") if metadata else ""


def _fixture_sources() -> dict[str, list[list[str]]]:
    """Known words per page of each fixture PDF, from trustwatch/fixtures/pdf_src, by title."""
    out: dict[str, list[list[str]]] = {}
    for source in Path("trustwatch/fixtures/pdf_src").glob("*.txt"):
        head, _, body = source.read_text(encoding="utf-8").partition("\n---\n")
        title = re.search(r"^title: (.+)$", head, re.MULTILINE)
        if title:
            pages = re.split(r"^=== page ===$", body, flags=re.MULTILINE)
            out[title.group(1).strip()] = [p.replace("## ", " ").split() for p in pages]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        long_pdf = Path(tmp) / "long.pdf"
        reference = make_long_pdf(long_pdf, args.pages)
        bench(f"generated ({args.pages} pages)", long_pdf.read_bytes(), reference, args.repeat)
    sources = _fixture_sources()
    fixtures = [
        path
        for path in sorted(Path("trustwatch/fixtures").glob("**/*"))
        if path.is_file() and path.read_bytes()[:5] == b"%PDF-"
    ]
    for path in fixtures:
        body = path.read_bytes()
        reference = sources.get(_title(body))
        bench(str(path.relative_to("trustwatch/fixtures"))[-42:], body, reference, args.repeat)
    if not fixtures:
        print("no fixture PDFs found under trustwatch/fixtures/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
