"""Diff engine vs difflib on a manual-sized text, in one run.

Builds a deterministic ~1.8 MB manual-like text (chapters, numbered sections, paragraphs,
``[page N]`` markers), applies 5 and 500 scattered word edits, and times (plus, for
information, the same text cut into ~100-character PDF-like lines with 500 edits)

* difflib: ``difflib.unified_diff`` over the lines, fully consumed (the line-level baseline);
* trustwatch: ``trustwatch.diff.diff_texts`` (line alignment + word-level diff, labels).

Prints a Markdown table and writes ``bench/results/diff.json``. Targets (issue 4):
trustwatch ≤ 1.5× difflib at 500 edits and ≤ 0.1 s at 5 edits.

    python bench/diff_bench.py [--size 1800000] [--repeat 9] [--seed 2025]
"""

from __future__ import annotations

import argparse
import difflib
import gc
import json
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trustwatch.diff import diff_texts

RESULTS = Path(__file__).resolve().parent / "results" / "diff.json"
EDIT_COUNTS = (5, 500)
TARGET_RATIO_500 = 1.5
TARGET_SECONDS_5 = 0.1

_SYLLABLES = (
    "an",
    "ar",
    "be",
    "ca",
    "co",
    "de",
    "di",
    "en",
    "er",
    "es",
    "fi",
    "ga",
    "in",
    "is",
    "la",
    "le",
    "li",
    "lo",
    "ma",
    "me",
    "mi",
    "na",
    "ne",
    "no",
    "on",
    "or",
    "pa",
    "pe",
    "po",
    "ra",
    "re",
    "ri",
    "ro",
    "sa",
    "se",
    "si",
    "so",
    "ta",
    "te",
    "ti",
    "to",
    "ur",
    "va",
    "ve",
    "vi",
)
_COMMON = (
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "that",
    "for",
    "on",
    "by",
    "with",
    "as",
    "or",
    "be",
    "any",
    "shall",
    "may",
    "agency",
    "data",
    "record",
    "records",
    "law",
    "enforcement",
    "officer",
    "user",
    "system",
    "access",
    "terminal",
    "information",
    "request",
    "file",
    "entry",
    "inquiry",
    "criminal",
    "history",
    "state",
    "federal",
    "local",
    "policy",
    "manual",
    "section",
    "agreement",
    "secondary",
    "dissemination",
    "validation",
    "hit",
    "confirmation",
)


def build_manual(size: int, seed: int) -> str:
    """A LEADS-manual-like text of about ``size`` characters, one block per line."""
    rng = random.Random(seed)
    vocab = list(_COMMON) + [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(3000)
    ]
    weights = [30] * len(_COMMON) + [1] * (len(vocab) - len(_COMMON))

    def sentence() -> str:
        words = rng.choices(vocab, weights, k=rng.randint(8, 26))
        return words[0].capitalize() + " " + " ".join(words[1:]) + "."

    lines: list[str] = []
    length = 0
    page = 1
    page_chars = 0
    chapter = section = 0
    lines.append("[page 1]")
    while length < size:
        if chapter == 0 or rng.random() < 0.08:
            chapter += 1
            section = 0
            lines.append(f"CHAPTER {chapter}. {' '.join(rng.choices(vocab, k=3)).upper()}")
        if rng.random() < 0.3:
            section += 1
            title = " ".join(rng.choices(vocab, k=rng.randint(2, 6))).capitalize()
            lines.append(f"Sec. {chapter}-{section}. {title}.")
        para = " ".join(sentence() for _ in range(rng.randint(2, 7)))
        if rng.random() < 0.15:
            para = f"({rng.choice('abcdefgh')}) {para}"
        lines.append(para)
        length += len(para) + 1
        page_chars += len(para) + 1
        if page_chars > 3500:
            page += 1
            page_chars = 0
            lines.append(f"[page {page}]")
    return "\n".join(lines) + "\n"


def as_pdf_lines(text: str, width: int = 100) -> str:
    """The same text cut into ~``width``-character lines, as PDF extraction yields them."""
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            cut = line.rfind(" ", 0, width)
            cut = cut if cut > 0 else width
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def scatter_edits(text: str, edits: int, seed: int) -> str:
    """``edits`` word replacements/insertions/deletions spread evenly over the text."""
    rng = random.Random(seed * 1000 + edits)
    lines = text.split("\n")
    body = [n for n, line in enumerate(lines) if line and not line.startswith("[page")]
    stride = len(body) / edits
    for k in range(edits):
        n = body[int(k * stride + rng.random() * stride)]
        words = lines[n].split(" ")
        w = rng.randrange(len(words))
        op = rng.random()
        if op < 0.6:
            words[w] = rng.choice(["immigration", "ICE", "shared", "federal", "removed"])
        elif op < 0.8:
            words.insert(w, rng.choice(["not", "only", "also", "ERO", "never"]))
        elif len(words) > 1:
            del words[w]
        lines[n] = " ".join(words)
    return "\n".join(lines)


def run_difflib(old: str, new: str) -> int:
    out = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="")
    return sum(1 for _ in out)


def run_trustwatch(old: str, new: str) -> int:
    return len(diff_texts(old, new, time_limit=30.0).hunks)


def time_pair(old: str, new: str, repeat: int) -> tuple[float, int, float, int]:
    """Median wall times of difflib and trustwatch over ``repeat`` runs each, interleaved
    (difflib, trustwatch, difflib, …) so both see the same machine load; gc before each."""
    times: dict[str, list[float]] = {"difflib": [], "trustwatch": []}
    sizes = {"difflib": 0, "trustwatch": 0}
    for _ in range(repeat):
        for name, fn in (("difflib", run_difflib), ("trustwatch", run_trustwatch)):
            gc.collect()
            t0 = time.perf_counter()
            sizes[name] = fn(old, new)
            times[name].append(time.perf_counter() - t0)
    return (
        statistics.median(times["difflib"]),
        sizes["difflib"],
        statistics.median(times["trustwatch"]),
        sizes["trustwatch"],
    )


def peak_memory(fn: Callable[[str, str], int], old: str, new: str) -> float:
    """Peak Python allocation in MB during one run (tracemalloc; inputs not counted)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(old, new)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_800_000, help="characters of text")
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per case")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    paragraphs = build_manual(args.size, args.seed)
    cases = [("paragraphs", paragraphs, edits) for edits in EDIT_COUNTS]
    cases.append(("pdf lines", as_pdf_lines(paragraphs), EDIT_COUNTS[-1]))
    rows: list[dict[str, Any]] = []
    for shape, old, edits in cases:
        new = scatter_edits(old, edits, args.seed)
        run_trustwatch(old, new)  # warm-up: imports, regex compilation
        d_time, d_lines, t_time, t_hunks = time_pair(old, new, args.repeat)
        rows.append(
            {
                "shape": shape,
                "lines": old.count("\n") + 1,
                "edits": edits,
                "difflib_seconds": round(d_time, 4),
                "trustwatch_seconds": round(t_time, 4),
                "ratio": round(t_time / d_time, 3),
                "difflib_peak_mb": round(peak_memory(run_difflib, old, new), 1),
                "trustwatch_peak_mb": round(peak_memory(run_trustwatch, old, new), 1),
                "difflib_output_lines": d_lines,
                "trustwatch_hunks": t_hunks,
            }
        )
    by_edits = {r["edits"]: r for r in rows if r["shape"] == "paragraphs"}
    targets = {
        "ratio_at_500_max": TARGET_RATIO_500,
        "seconds_at_5_max": TARGET_SECONDS_5,
        "ratio_at_500_met": by_edits[500]["ratio"] <= TARGET_RATIO_500,
        "seconds_at_5_met": by_edits[5]["trustwatch_seconds"] <= TARGET_SECONDS_5,
    }
    report = {
        "text_chars": len(paragraphs),
        "seed": args.seed,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rows": rows,
        "targets": targets,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"text: {len(paragraphs):,} chars; median of {args.repeat} interleaved runs\n")
    print(
        "| text shape | lines | edits | difflib s | trustwatch s | ratio | difflib peak MB "
        "| trustwatch peak MB | hunks |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['shape']} | {r['lines']:,} | {r['edits']} "
            f"| {r['difflib_seconds']:.4f} | {r['trustwatch_seconds']:.4f} "
            f"| {r['ratio']:.2f}× | {r['difflib_peak_mb']:.1f} | {r['trustwatch_peak_mb']:.1f} "
            f"| {r['trustwatch_hunks']} |"
        )
    print(
        f"\ntargets: ratio at 500 ≤ {TARGET_RATIO_500}: "
        f"{'met' if targets['ratio_at_500_met'] else 'NOT met'}; "
        f"time at 5 ≤ {TARGET_SECONDS_5} s: {'met' if targets['seconds_at_5_met'] else 'NOT met'}"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
