"""The benchmark harness cannot rot: its smoke mode (N = 10, trustwatch only) runs and
finds exactly the edited documents. No timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke",
                        "--out", str(out), "--work", str(work)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["n"] == 10
    passes = {p["name"]: p for p in results["tools"]["trustwatch"]["passes"]}
    assert set(passes) == {"first", "unchanged", "changed"}
    for p in passes.values():
        assert p["measure"]["rc"] == 0, p
        assert p["missed_count"] == 0 and p["spurious_count"] == 0, p
    assert passes["first"]["detected"] == 10
    assert passes["unchanged"]["detected"] == 0
    assert passes["changed"]["truth"] == 1 and passes["changed"]["detected"] == 1
    assert passes["unchanged"]["not_modified"] >= 10  # conditional requests were sent
    assert (out / "results.md").read_text().startswith("# trustwatch side-by-side benchmark")
