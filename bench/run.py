"""Side-by-side benchmarks: trustwatch vs urlwatch, webchanges and changedetection.io.

One command (from the repo root, with trustwatch installed in this interpreter):

    python bench/run.py                 # N = 500, all peers, scaling, 50 MB PDF, traps
    python bench/run.py --smoke         # N = 10, trustwatch only (tests/test_bench_smoke.py)
    python bench/run.py --tools trustwatch,urlwatch --no-scaling --no-bigpdf

Peers are installed on first use, each in its own virtualenv under bench/.peers/ (ignored);
scratch state lives in bench/.work/ (ignored). Results: bench/results/results.md and
results.json (``--out`` to write elsewhere).

Each tool gets an identical copy of the loopback site (bench/site.py) and three passes:
first crawl (all new), unchanged re-crawl, re-crawl with 10% of the documents edited.
Measured per pass: wall time and CPU time (the child's rusage from wait4, start-up
included), peak RSS, bytes the server wrote, storage on disk afterwards, and the changes
each tool reported vs the truth. changedetection.io runs in its batch mode (`-b -r all`:
check every watch, then exit), so it is measured like the others, start-up included.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / ".peers"
WORK = BENCH / ".work"
RESULTS = BENCH / "results"

PEER_PACKAGES = {  # tool -> pip requirement (pinned so a fresh clone measures the same)
    "urlwatch": "urlwatch==2.29",
    "webchanges": "webchanges==3.37.0",
    "changedetection": "changedetection.io",
}
PASSES = ("first", "unchanged", "changed")
CHANGED_FRACTION = 0.10
CONCURRENCY = 8


def load_site() -> ModuleType:
    """bench/site.py by path: the name `site` would clash with the standard library's."""
    spec = importlib.util.spec_from_file_location("bench_site", BENCH / "site.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_site"] = mod
    spec.loader.exec_module(mod)
    return mod


bench_site = load_site()


class Unavailable(Exception):
    """A peer that cannot be installed or run here; recorded, and the bench goes on."""


# -- measuring ------------------------------------------------------------------------------
@dataclass
class Measure:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    rc: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


_LAUNCHER = r"""
import json, os, signal, subprocess, sys, threading, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["log"], "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(job["cmd"], cwd=job["cwd"], env=job["env"], stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        timer = threading.Timer(job["timeout"], lambda: os.killpg(p.pid, signal.SIGKILL))
        timer.start()
        _pid, status, ru = os.wait4(p.pid, 0)
        timer.cancel()
        wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kb": ru.ru_maxrss,
                      "rc": os.waitstatus_to_exitcode(status)}), flush=True)
"""
_launcher: subprocess.Popen[str] | None = None


def _launch(job: dict[str, Any]) -> dict[str, Any]:
    """Run a job through a small long-lived launcher process.

    Linux carries a process's peak RSS across fork and exec, so a tool started straight from
    this process (which holds the generated site) would report our memory as its own. The
    launcher is started before the site exists and stays small.
    """
    global _launcher
    if _launcher is None or _launcher.poll() is not None:
        _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
    assert _launcher.stdin and _launcher.stdout
    _launcher.stdin.write(json.dumps(job) + "\n")
    _launcher.stdin.flush()
    return json.loads(_launcher.stdout.readline())  # type: ignore[no-any-return]


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None,
            log: Path | None = None, timeout: float = 1800) -> tuple[Measure, str]:
    """Run cmd, return its wall time, CPU (user+sys of it and its children) and peak RSS."""
    out_path = log or cwd / "last.log"
    r = _launch({"cmd": cmd, "cwd": str(cwd), "env": {**os.environ, **(env or {})},
                 "log": str(out_path), "timeout": timeout})
    m = Measure(r["wall"], r["cpu"], r["maxrss_kb"] / 1024, r["rc"])
    return m, out_path.read_text(errors="replace")


def dir_bytes(path: Path, skip: tuple[str, ...] = ()) -> int:
    total = 0
    for f in path.rglob("*"):
        if f.is_file() and f.name not in skip and not f.name.endswith(".log"):
            total += f.stat().st_size
    return total


# -- tools ----------------------------------------------------------------------------------
@dataclass
class PassResult:
    name: str
    measure: Measure
    requests: int
    not_modified: int
    bytes_total: int
    bytes_body: int
    storage_bytes: int
    truth: int
    detected: int
    missed: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    rc_note: str = ""
    load_1m: float = 0.0  # machine load average when the pass ended (other work inflates wall)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["measure"] = self.measure.to_dict()
        d["missed_count"] = len(self.missed)
        d["spurious_count"] = len(self.spurious)
        d["missed"] = self.missed[:20]
        d["spurious"] = self.spurious[:20]
        return d


class Tool:
    name = "tool"
    version = ""

    def __init__(self, work: Path) -> None:
        self.work = work

    def install(self) -> None: ...

    def setup(self, urls: list[str], index_urls: list[str]) -> None: ...

    def run(self, label: str) -> tuple[Measure, set[str]]:
        raise NotImplementedError

    def storage(self) -> int:
        return dir_bytes(self.work, skip=self.config_files)

    config_files: tuple[str, ...] = ()

    def close(self) -> None: ...


def _venv(name: str, requirement: str) -> Path:
    """bench/.peers/NAME: a virtualenv with `requirement`, created on first use."""
    venv = PEERS / name
    marker = venv / ".installed"
    if marker.exists() and marker.read_text().strip() == requirement:
        return venv
    PEERS.mkdir(parents=True, exist_ok=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", requirement],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-3:]
        raise Unavailable(f"pip install {requirement} failed: {' | '.join(tail)}")
    marker.write_text(requirement)
    return venv


class Trustwatch(Tool):
    name = "trustwatch"
    config_files = ("watchlist.toml",)

    def install(self) -> None:
        from importlib.metadata import version

        self.version = version("trustwatch")

    def setup(self, urls: list[str], index_urls: list[str]) -> None:
        self.db = self.work / "trustwatch.db"
        starts = ", ".join(f'"{u}"' for u in index_urls)
        (self.work / "watchlist.toml").write_text(f"""\
[trustwatch]
database = "sqlite:///{self.db}"
archive_dir = "{self.work / 'archive'}"
user_agent = "trustwatch-bench (+mailto:newsroom@example.org)"

[crawl]
delay = 0
concurrency_per_host = {CONCURRENCY}
timeout = 120

[sources.bench]
kind = "generic"
name = "Bench site"
start_urls = [{starts}]
follow = ['/docs/', '/files/', '/big/']
""")

    def run(self, label: str) -> tuple[Measure, set[str]]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("TRUSTWATCH_DB", "TRUSTWATCH_CONFIG", "SLACK_BOT_TOKEN")}
        env["TRUSTWATCH_SLACK_API_URL"] = "http://127.0.0.1:9/"  # never reach Slack
        m, out = measure([sys.executable, "-m", "trustwatch", "--config",
                          str(self.work / "watchlist.toml"), "crawl", "--no-alerts"],
                         cwd=self.work, env=env, log=self.work / f"{label}.log")
        self.last_output = out
        con = sqlite3.connect(self.db)
        try:
            rows = con.execute(
                "SELECT d.url FROM changes c JOIN documents d ON d.id = c.document_id "
                "WHERE c.run_id = (SELECT max(id) FROM runs) AND c.kind IN ('new', 'changed')"
            ).fetchall()
        finally:
            con.close()
        return m, {r[0] for r in rows}


class UrlwatchLike(Tool):
    """urlwatch and its fork webchanges: a batch CLI, jobs in YAML, a report on stdout."""

    exe = ""
    config_files = ("urls.yaml", "config.yaml", "hooks.py")

    def install(self) -> None:
        venv = _venv(self.name, PEER_PACKAGES[self.name])
        self.bin = venv / "bin" / self.exe
        r = subprocess.run([str(self.bin), "--version"], capture_output=True, text=True,
                           check=False)
        self.version = clean_version(self.name, r.stdout + r.stderr)

    def args(self) -> list[str]:
        raise NotImplementedError

    def setup(self, urls: list[str], index_urls: list[str]) -> None:
        # name = URL so the report's summary lines name the URL
        jobs = "\n---\n".join(f"name: {u}\nurl: {u}" for u in urls)
        (self.work / "urls.yaml").write_text(jobs + "\n")
        (self.work / "config.yaml").write_text(self.config_yaml())
        (self.work / "hooks.py").write_text("")

    def config_yaml(self) -> str:
        return ("display:\n  new: true\n  error: true\n  unchanged: false\n"
                "report:\n  text:\n    details: false\n    footer: false\n"
                "  stdout:\n    enabled: true\n    color: false\n")

    def run(self, label: str) -> tuple[Measure, set[str]]:
        m, out = measure([str(self.bin), *self.args()], cwd=self.work,
                         log=self.work / f"{label}.log")
        self.last_output = out
        found = set()
        for line in out.splitlines():
            hit = re.match(r"^\d+\. (NEW|CHANGED): (\S+)", line.strip())
            if hit:
                found.add(hit.group(2))
        return m, found


class Urlwatch(UrlwatchLike):
    name = "urlwatch"
    exe = "urlwatch"

    def args(self) -> list[str]:
        w = self.work
        return ["--urls", str(w / "urls.yaml"), "--config", str(w / "config.yaml"),
                "--hooks", str(w / "hooks.py"), "--cache", str(w / "cache.db")]


class Webchanges(UrlwatchLike):
    name = "webchanges"
    exe = "webchanges"

    def args(self) -> list[str]:
        w = self.work
        return ["--jobs", str(w / "urls.yaml"), "--config", str(w / "config.yaml"),
                "--hooks", str(w / "hooks.py"), "--database", str(w / "cache.db"),
                "--max-workers", str(CONCURRENCY)]


def clean_version(name: str, text: str) -> str:
    """'urlwatch 2.29' / a banner with warnings -> '2.29'."""
    for line in text.splitlines():
        if line.lower().startswith(name.lower()):
            return line.split()[-1]
    hit = re.search(r"\d+\.\d+(\.\d+)?", text)
    return hit.group(0) if hit else "?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Changedetection(Tool):
    """changedetection.io in its batch mode: `-b -r all` checks every watch, then exits.

    Its first pass also adds the watches (`-u URL` once per URL). Changes are read from
    each watch's history.txt (one line per stored snapshot) in the datastore.
    """

    name = "changedetection"

    def install(self) -> None:
        venv = _venv(self.name, PEER_PACKAGES[self.name])
        self.bin = venv / "bin" / "changedetection.io"
        if not self.bin.exists():
            raise Unavailable(f"{self.bin} missing after install")
        r = subprocess.run([str(venv / "bin" / "pip"), "show", "changedetection.io"],
                           capture_output=True, text=True, check=False)
        self.version = next((ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines()
                             if ln.startswith("Version:")), "?")
        h = subprocess.run([str(self.bin), "--help"], capture_output=True, text=True, check=False)
        if " -b " not in h.stdout + h.stderr:
            raise Unavailable(f"changedetection.io {self.version} has no batch mode (-b)")

    def setup(self, urls: list[str], index_urls: list[str]) -> None:
        self.datastore = self.work / "datastore"
        self.urls = urls
        self.first = True

    def _history(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for wj in self.datastore.glob("*/watch.json"):
            try:
                url = json.loads(wj.read_text()).get("url", "")
            except ValueError:
                continue
            hist = wj.parent / "history.txt"
            out[url] = len(hist.read_text().splitlines()) if hist.exists() else 0
        return out

    def run(self, label: str) -> tuple[Measure, set[str]]:
        before = self._history() if self.datastore.exists() else {}
        cmd = [str(self.bin), "-d", str(self.datastore), "-b", "-r", "all", "-l", "WARNING",
               "-h", "127.0.0.1", "-p", str(_free_port())]
        if self.first:
            cmd.insert(3, "-C")
            for u in self.urls:
                cmd += ["-u", u]
            self.first = False
        env = {"ALLOW_IANA_RESTRICTED_ADDRESSES": "true", "FETCH_WORKERS": str(CONCURRENCY),
               "MINIMUM_SECONDS_RECHECK_TIME": "0", "DISABLE_VERSION_CHECK": "true"}
        m, out = measure(cmd, cwd=self.work, env=env, log=self.work / f"{label}.log")
        self.last_output = out
        after = self._history()
        found = {u for u, k in after.items() if k > before.get(u, 0)}
        return m, found

    def storage(self) -> int:
        return dir_bytes(self.datastore) if self.datastore.exists() else 0


TOOLS: dict[str, type[Tool]] = {  # a registry you can read: name -> adapter
    "trustwatch": Trustwatch,
    "urlwatch": Urlwatch,
    "webchanges": Webchanges,
    "changedetection": Changedetection,
}


# -- scenarios ------------------------------------------------------------------------------
def fresh_site(template: Any) -> Any:
    """An identical, independent copy of a generated site (generation is not measured)."""
    site = copy.copy(template)
    site.docs = copy.deepcopy(template.docs)
    site.by_path = {d.path: d for d in site.docs}
    site.lock = threading.Lock()
    site.traffic = bench_site.Traffic()
    site._server = None
    return site


def three_passes(tool: Tool, site: Any, log: list[str]) -> list[PassResult]:
    site.start()
    try:
        urls = [site.url(d) for d in site.docs]
        tool.setup(urls, site.index_urls())
        out = []
        for label in PASSES:
            truth = set(urls) if label == "first" else set()
            if label == "changed":
                truth = set(site.change(CHANGED_FRACTION))
            site.reset_traffic()
            m, found = tool.run(label)
            t = site.reset_traffic()
            found &= set(urls) | truth  # index pages are documents for trustwatch; not compared
            pr = PassResult(label, m, t.requests, t.not_modified, t.bytes_total, t.bytes_body,
                            tool.storage(), len(truth), len(found & truth),
                            sorted(truth - found), sorted(found - truth))
            pr.load_1m = _load()
            if m.rc != 0:
                pr.rc_note = f"exit {m.rc}: " + _tail(getattr(tool, "last_output", ""))
            out.append(pr)
            log.append(f"  {tool.name:<15} {label:<9} {m.wall_s:7.2f}s wall {m.cpu_s:7.2f}s cpu "
                       f"{m.peak_rss_mb:6.0f} MB  {t.bytes_total / 1e6:7.2f} MB sent  "
                       f"{pr.storage_bytes / 1e6:7.2f} MB on disk  missed {len(pr.missed)} "
                       f"spurious {len(pr.spurious)}" + (f"  [{pr.rc_note[:80]}]"
                                                           if pr.rc_note else ""))
            print(log[-1], flush=True)
        return out
    finally:
        site.stop()


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def _tail(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])[:400]


def traps(tool: Tool, n: int, log: list[str]) -> dict[str, Any]:
    """Last-Modified-only server: a file replaced keeping an older date; a same-second edit."""
    site = bench_site.BenchSite(n, seed=11, validators="lm-only")
    site.start()
    try:
        urls = [site.url(d) for d in site.docs]
        tool.setup(urls, site.index_urls())
        started = datetime.now(UTC)
        tool.run("trap-a")
        time.sleep(1.1)
        backdated = set(site.replace_backdated([1, 2, 3], started))
        same_second = set(site.arm_same_second([6, 7]))
        _m, found_b = tool.run("trap-b")
        time.sleep(1.1)
        _m, found_c = tool.run("trap-c")
        res: dict[str, Any] = {
            "backdated_replacement": {"truth": len(backdated),
                                      "missed": sorted(backdated - found_b)},
            "same_second_edit": {"truth": len(same_second),
                                 "missed": sorted(same_second - found_c)},
            "spurious": sorted((found_b - backdated - same_second) | (found_c - same_second)),
        }
        log.append(f"  {tool.name:<15} traps: backdated missed "
                   f"{len(res['backdated_replacement']['missed'])}/3, same-second missed "
                   f"{len(res['same_second_edit']['missed'])}/2, spurious {len(res['spurious'])}")
        print(log[-1], flush=True)
        return res
    finally:
        site.stop()


def help_startup(repeat: int = 7) -> dict[str, Any]:
    exe = shutil.which("trustwatch", path=str(Path(sys.executable).parent)) or shutil.which(
        "trustwatch")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "trustwatch", "--help"]
    times = []
    for _ in range(repeat):
        m, _out = measure(cmd, cwd=WORK)
        times.append(m.wall_s)
    return {"command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)),
            "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "runs": [round(t, 3) for t in times]}


def big_pdf_run(log: list[str]) -> dict[str, Any]:
    pdf = bench_site.big_pdf(WORK / "big.pdf", 50)
    site = bench_site.BenchSite(10, seed=5, extra={"/big/annual-audit.pdf": pdf})
    work = WORK / "trustwatch-bigpdf"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tool = Trustwatch(work)
    tool.install()
    site.start()
    try:
        tool.setup(site.doc_urls(), site.index_urls())
        m, found = tool.run("bigpdf")
        t = site.reset_traffic()
    finally:
        site.stop()
    big_url = site.base + "/big/annual-audit.pdf"
    res = {"pdf_bytes": pdf.stat().st_size, "measure": m.to_dict(),
           "bytes_total": t.bytes_total, "stored_big_pdf": big_url in found,
           "storage_bytes": tool.storage(), "output_tail": _tail(tool.last_output, 4)}
    log.append(f"  trustwatch 50 MB PDF: {m.wall_s:.1f}s wall, peak RSS {m.peak_rss_mb:.0f} MB, "
               f"stored: {big_url in found}")
    print(log[-1], flush=True)
    return res


def diff_bench() -> dict[str, Any]:
    script = BENCH / "diff_bench.py"
    if not script.exists():
        return {"error": "bench/diff_bench.py not present"}
    m, out = measure([sys.executable, str(script)], cwd=ROOT, log=WORK / "diff_bench.log",
                     timeout=600)
    res: dict[str, Any] = {"rc": m.rc, "wall_s": round(m.wall_s, 2), "output": out.strip()}
    j = RESULTS / "diff.json"
    if m.rc == 0 and j.exists():
        try:
            res["json"] = json.loads(j.read_text())
        except ValueError:
            pass
    return res


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
            "os": platform.platform(), "python": platform.python_version(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_1m": _load()}


# -- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    global WORK
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=500, help="documents on the bench site")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help="comma-separated: " + ", ".join(TOOLS))
    ap.add_argument("--smoke", action="store_true",
                    help="N = 10, trustwatch only, no extras (the test suite's mode)")
    ap.add_argument("--scaling", default="50,500,5000",
                    help="trustwatch-alone sizes ('' to skip)")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--no-bigpdf", action="store_true")
    ap.add_argument("--no-traps", action="store_true")
    ap.add_argument("--no-diff", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    ap.add_argument("--render", action="store_true",
                    help="only re-render results.md from the existing results.json")
    ap.add_argument("--bigpdf-only", action="store_true",
                    help="only re-measure the 50 MB PDF crawl and update the existing results")
    ap.add_argument("--work", type=Path, default=WORK, help="scratch directory")
    ap.add_argument("--add-scaling", type=int, metavar="N",
                    help="only run trustwatch alone at N and add it to the existing results")
    a = ap.parse_args(argv)
    WORK = a.work.resolve()
    if a.render:
        (a.out / "results.md").write_text(render(json.loads((a.out / "results.json").read_text())))
        return 0
    if a.bigpdf_only:
        _launch({"cmd": ["true"], "cwd": str(ROOT), "env": dict(os.environ),
                 "log": os.devnull, "timeout": 10})
        WORK.mkdir(parents=True, exist_ok=True)
        big = big_pdf_run([])
        saved = json.loads((a.out / "results.json").read_text())
        saved["big_pdf"] = big
        (a.out / "results.json").write_text(json.dumps(saved, indent=2) + "\n")
        (a.out / "results.md").write_text(render(saved))
        return 0
    if a.add_scaling:
        tools = [t for t in a.tools.split(",") if t.strip()]
        return add_scaling(a.add_scaling, a.out, tools[0] if len(tools) == 1 else "trustwatch")
    if a.smoke:
        a.n, a.tools, a.no_scaling, a.no_bigpdf, a.no_diff, a.no_traps = (
            10, "trustwatch", True, True, True, True)
    names = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in names:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r} (known: {', '.join(TOOLS)})")
    WORK.mkdir(parents=True, exist_ok=True)
    _launch({"cmd": ["true"], "cwd": str(WORK), "env": dict(os.environ),
             "log": str(WORK / "launcher.log"), "timeout": 10})  # start it while we are small
    t_start = time.perf_counter()
    log: list[str] = []
    results: dict[str, Any] = {"machine": machine(), "n": a.n, "tools": {},
                               "changed_fraction": CHANGED_FRACTION,
                               "concurrency": CONCURRENCY}
    print(f"generating {a.n} documents", flush=True)
    template = bench_site.BenchSite(a.n)
    results["site"] = {"html": sum(d.kind == "html" for d in template.docs),
                       "pdf": sum(d.kind == "pdf" for d in template.docs),
                       "bytes_per_pass": sum(len(d.body) for d in template.docs)}
    for name in names:
        work = WORK / f"{name}-{a.n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        tool = TOOLS[name](work)
        entry: dict[str, Any] = {}
        results["tools"][name] = entry
        print(f"{name}: installing / checking", flush=True)
        try:
            tool.install()
            entry["version"] = tool.version
            entry["passes"] = [p.to_dict() for p in three_passes(tool, fresh_site(template), log)]
            tool.close()
            if not a.no_traps:
                twork = WORK / f"{name}-traps"
                shutil.rmtree(twork, ignore_errors=True)
                twork.mkdir(parents=True)
                ttool = TOOLS[name](twork)
                ttool.install()
                try:
                    entry["traps"] = traps(ttool, 10, log)
                finally:
                    ttool.close()
        except Unavailable as exc:
            entry["error"] = str(exc)
            log.append(f"  {name}: unavailable: {exc}")
            print(log[-1], flush=True)
        except Exception as exc:  # noqa: BLE001 - one broken peer never stops the bench
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log.append(f"  {name}: failed: {entry['error']}")
            print(log[-1], flush=True)
        finally:
            tool.close()
    if not a.no_scaling and a.scaling:
        results["scaling"] = {}
        for n in [int(x) for x in a.scaling.split(",") if x.strip()]:
            if n == a.n and "passes" in results["tools"].get("trustwatch", {}):
                results["scaling"][str(n)] = results["tools"]["trustwatch"]["passes"]
                continue
            results["scaling"][str(n)] = scaling_run(n, log)
    if not a.no_bigpdf:
        print("trustwatch with a 50 MB PDF", flush=True)
        results["big_pdf"] = big_pdf_run(log)
    if "trustwatch" in names:
        results["help_startup"] = help_startup()
        print(f"  trustwatch --help: {results['help_startup']['median_s']} s median", flush=True)
    if not a.no_diff:
        print("diff engine vs difflib (bench/diff_bench.py)", flush=True)
        results["diff"] = diff_bench()
    results["total_wall_s"] = round(time.perf_counter() - t_start, 1)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    md = render(results)
    (a.out / "results.md").write_text(md)
    print(md)
    tw = results["tools"].get("trustwatch", {})
    ok = "passes" in tw and all(p["measure"]["rc"] == 0 for p in tw["passes"])
    return 0 if ok else 1


def scaling_run(n: int, log: list[str], name: str = "trustwatch") -> list[dict[str, Any]]:
    print(f"{name} alone at N = {n}", flush=True)
    work = WORK / f"{name}-{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tool = TOOLS[name](work)
    tool.install()
    try:
        return [p.to_dict() for p in three_passes(tool, bench_site.BenchSite(n), log)]
    finally:
        tool.close()


def add_scaling(n: int, out: Path, name: str = "trustwatch") -> int:
    """A long size (N = 5,000) run on its own, added to results.json and re-rendered:
    trustwatch under "scaling", a peer under "peer_scaling"."""
    WORK.mkdir(parents=True, exist_ok=True)
    _launch({"cmd": ["true"], "cwd": str(WORK), "env": dict(os.environ),
             "log": str(WORK / "launcher.log"), "timeout": 10})
    t0 = time.perf_counter()
    passes = scaling_run(n, [], name)
    results = json.loads((out / "results.json").read_text())  # read late: runs may overlap
    if name == "trustwatch":
        results.setdefault("scaling", {})[str(n)] = passes
        results["scaling"] = dict(sorted(results["scaling"].items(), key=lambda kv: int(kv[0])))
    else:
        results.setdefault("peer_scaling", {}).setdefault(name, {})[str(n)] = passes
    results.setdefault("scaling_wall_s", {})[f"{name}-{n}"] = round(time.perf_counter() - t0, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(render(results))
    print(render(results))
    return 0


# -- report ---------------------------------------------------------------------------------
def _p(entry: dict[str, Any], label: str) -> dict[str, Any] | None:
    for p in entry.get("passes", []):
        if p["name"] == label:
            return p  # type: ignore[no-any-return]
    return None


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    q = a / b
    return f"{q:.2f}" if q >= 0.1 else f"{q:.3g}"


def _rss(passes: list[dict[str, Any]]) -> str:
    vals = [p["measure"]["peak_rss_mb"] for p in passes]
    return "n/m" if None in vals else f"{max(vals):.0f}"


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"# trustwatch side-by-side benchmark (N = {r['n']})", "",
             (f"{m['date']} · {m['cpu']} · {m['cores']} cores · {m['memory_mb']} MB · "
             f"{m['os']} · Python {m['python']}"), "",
             (f"Site: {r['site']['html']} HTML pages + {r['site']['pdf']} PDFs, "
             f"{r['site']['bytes_per_pass'] / 1e6:.1f} MB of documents a pass, ETag + "
             f"Last-Modified; {int(r['changed_fraction'] * 100)}% edited before pass 3; "
             f"{r['concurrency']} requests in flight where a tool allows it, no delays. "
             f"Whole run: {r['total_wall_s']:.0f} s."), "",
             ("| tool | pass | wall s | CPU s | peak RSS MB | requests | 304s | MB sent "
             "(server) | MB on disk | truth | detected | missed | spurious |"),
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, e in r["tools"].items():
        label = f"{name} {clean_version(name, e.get('version', ''))}".strip()
        if "error" in e and "passes" not in e:
            lines.append(f"| {label} | – | not run: {e['error'][:200]} |" + " |" * 10)
            continue
        for p in e.get("passes", []):
            mm = p["measure"]
            note = f" ⚠ {p['rc_note'][:80]}" if p.get("rc_note") else ""
            lines.append(
                f"| {label} | {p['name']}{note} | {mm['wall_s']:.2f} | {mm['cpu_s']:.2f} | "
                f"{mm['peak_rss_mb']:.0f} | {p['requests']} | {p['not_modified']} | "
                f"{p['bytes_total'] / 1e6:.2f} | {p['storage_bytes'] / 1e6:.2f} | {p['truth']} | "
                f"{p['detected']} | {p['missed_count']} | {p['spurious_count']} |")
    lines.append("")
    # ratios
    tw = r["tools"].get("trustwatch", {})
    peers = [n for n in r["tools"] if n != "trustwatch" and "passes" in r["tools"][n]]
    if "passes" in tw and peers:
        lines += ["## Ratios trustwatch ÷ peer (same run; < 1 means trustwatch is less)", "",
                  ("| peer | wall first | wall unchanged | wall changed | CPU changed | "
                  "bytes unchanged | disk after 3 passes |"), "|---|---:|---:|---:|---:|---:|---:|"]
        for n in peers:
            e = r["tools"][n]
            cells = []
            for label in PASSES:
                cells.append(_ratio(_p(tw, label)["measure"]["wall_s"],  # type: ignore[index]
                                    _p(e, label)["measure"]["wall_s"]))  # type: ignore[index]
            cells.append(_ratio(_p(tw, "changed")["measure"]["cpu_s"],  # type: ignore[index]
                                _p(e, "changed")["measure"]["cpu_s"]))  # type: ignore[index]
            cells.append(_ratio(_p(tw, "unchanged")["bytes_total"],  # type: ignore[index]
                                _p(e, "unchanged")["bytes_total"]))  # type: ignore[index]
            cells.append(_ratio(_p(tw, "changed")["storage_bytes"],  # type: ignore[index]
                                _p(e, "changed")["storage_bytes"]))  # type: ignore[index]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += targets(r)
    # traps
    trap_rows = [(n, e["traps"]) for n, e in r["tools"].items() if "traps" in e]
    if trap_rows:
        lines += ["## Last-Modified-only server traps (10 documents)", "",
                  ("| tool | file replaced keeping an older date: missed | edit in the same second "
                  "as the previous fetch: missed | spurious |"), "|---|---:|---:|---:|"]
        for n, t in trap_rows:
            lines.append(f"| {n} | {len(t['backdated_replacement']['missed'])} of "
                         f"{t['backdated_replacement']['truth']} | "
                         f"{len(t['same_second_edit']['missed'])} of "
                         f"{t['same_second_edit']['truth']} | {len(t['spurious'])} |")
        lines.append("")
    if r.get("scaling"):
        lines += ["## trustwatch alone: how cost grows (peers at a size where run)", "",
                  ("| N | first s | unchanged s | changed s | peak RSS MB | unchanged MB sent | "
                  "MB on disk after 3 | missed | spurious |"),
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        rows = [("trustwatch", n, ps) for n, ps in r["scaling"].items()]
        rows += [(tool, n, ps) for tool, sizes in r.get("peer_scaling", {}).items()
                 for n, ps in sizes.items()]
        for tool, n, passes in rows:
            by = {p["name"]: p for p in passes}
            lines.append(
                f"| {n}{'' if tool == 'trustwatch' else f' ({tool})'} | {by['first']['measure']['wall_s']:.2f} | "
                f"{by['unchanged']['measure']['wall_s']:.2f} | "
                f"{by['changed']['measure']['wall_s']:.2f} | "
                f"{_rss(passes)} | "
                f"{by['unchanged']['bytes_total'] / 1e6:.3f} | "
                f"{by['changed']['storage_bytes'] / 1e6:.2f} | "
                f"{sum(p['missed_count'] for p in passes)} | "
                f"{sum(p['spurious_count'] for p in passes)} |")
        lines.append("")
    if r.get("big_pdf"):
        b = r["big_pdf"]
        lines += [(f"50 MB PDF ({b['pdf_bytes'] / 1e6:.1f} MB) in a 10-document crawl: "
                  f"{b['measure']['wall_s']:.1f} s, peak RSS {b['measure']['peak_rss_mb']:.0f} MB, "
                  f"stored as a new document: {b['stored_big_pdf']}."), ""]
    if r.get("help_startup"):
        h = r["help_startup"]
        lines += [(f"`{h['command']}`: median {h['median_s']} s over {len(h['runs'])} runs "
                  f"(min {h['min_s']} s)."), ""]
    if r.get("diff"):
        d = r["diff"]
        lines += ["## Diff engine vs difflib (bench/diff_bench.py)", ""]
        lines += ([d["output"], ""] if d.get("output") else [f"{d.get('error', '')}", ""])
    if r.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in r["notes"]] + [""]
    errors = [(n, e["error"]) for n, e in r["tools"].items() if "error" in e]
    if errors:
        lines += ["## Peers that could not be measured", ""]
        lines += [f"- {n}: {err}" for n, err in errors] + [""]
    return "\n".join(lines)


def targets(r: dict[str, Any]) -> list[str]:
    tw = r["tools"].get("trustwatch", {})
    if "passes" not in tw:
        return []
    first, unch, chg = (_p(tw, x) for x in PASSES)
    assert first and unch and chg
    out = ["## Targets (issue 7)", "", "| target | measured | met |", "|---|---|---|"]

    def row(what: str, measured: str, ok: bool | None) -> None:
        out.append(f"| {what} | {measured} | {'yes' if ok else 'n/a' if ok is None else 'NO'} |")

    uw = r["tools"].get("urlwatch", {})
    cd = r["tools"].get("changedetection", {})
    if "passes" in uw:
        a, b = unch["measure"]["wall_s"], _p(uw, "unchanged")["measure"]["wall_s"]  # type: ignore[index]
        row(f"unchanged re-crawl no slower than urlwatch (N = {r['n']})",
            f"{a:.2f} s vs {b:.2f} s ({a / b:.2f}×)", a <= b)
        a, b = chg["measure"]["wall_s"], _p(uw, "changed")["measure"]["wall_s"]  # type: ignore[index]
        row("changed re-crawl no slower than urlwatch", f"{a:.2f} s vs {b:.2f} s ({a / b:.2f}×)",
            a <= b)
        a, b = chg["storage_bytes"], _p(uw, "changed")["storage_bytes"]  # type: ignore[index]
        row("disk after 3 passes ≤ 0.3× urlwatch", f"{a / 1e6:.2f} MB vs {b / 1e6:.2f} MB "
            f"({a / b:.2f}×)", a <= 0.3 * b)
    if "passes" in cd:
        a, b = chg["measure"]["wall_s"], _p(cd, "changed")["measure"]["wall_s"]  # type: ignore[index]
        row("changed re-crawl ≥ 5× faster than changedetection.io",
            f"{a:.2f} s vs {b:.2f} s ({b / a:.1f}× faster)", b >= 5 * a)
    frac = unch["bytes_total"] / first["bytes_total"] if first["bytes_total"] else 0
    row("unchanged bytes ≤ 5% of first crawl", f"{frac * 100:.2f}%", frac <= 0.05)
    growth = (unch["storage_bytes"] - first["storage_bytes"]) / max(1, r["n"])
    row("storage growth per unchanged document per crawl ≤ 200 B", f"{growth:.0f} B",
        growth <= 200)
    zero = all(p["missed_count"] == 0 and p["spurious_count"] == 0 for p in (first, unch, chg))
    row("zero missed / spurious (three passes)", "yes" if zero else "no", zero)
    if "traps" in tw:
        t = tw["traps"]
        miss = len(t["backdated_replacement"]["missed"]) + len(t["same_second_edit"]["missed"])
        row("zero missed on the Last-Modified-only traps",
            f"backdated missed {len(t['backdated_replacement']['missed'])}/"
            f"{t['backdated_replacement']['truth']}, same-second missed "
            f"{len(t['same_second_edit']['missed'])}/{t['same_second_edit']['truth']}, "
            f"spurious {len(t['spurious'])}", miss == 0 and not t["spurious"])
    sc = r.get("scaling", {})
    uw5 = r.get("peer_scaling", {}).get("urlwatch", {}).get("5000")
    if "5000" in sc:
        a = {p["name"]: p for p in sc["5000"]}["unchanged"]["measure"]["wall_s"]
        if uw5:
            b = {p["name"]: p for p in uw5}["unchanged"]["measure"]["wall_s"]
            row("unchanged ≥ 2× faster than urlwatch at N = 5,000",
                f"{a:.2f} s vs {b:.2f} s (urlwatch ÷ trustwatch {b / a:.2f})", b >= 2 * a)
        elif "passes" in uw:
            row("unchanged ≥ 2× faster than urlwatch at N = 5,000",
                f"{a:.2f} s (urlwatch not run at 5,000; its N = 500 time ×10 ≈ "
                f"{_p(uw, 'unchanged')['measure']['wall_s'] * 10:.1f} s)", None)  # type: ignore[index]
    if r.get("big_pdf"):
        rss = r["big_pdf"]["measure"]["peak_rss_mb"]
        row("peak RSS ≤ 300 MB with the 50 MB PDF", f"{rss:.0f} MB", rss <= 300)
    if r.get("help_startup"):
        h = r["help_startup"]["median_s"]
        row("`trustwatch --help` ≤ 0.3 s", f"{h:.3f} s", h <= 0.3)
    out.append("")
    return out


if __name__ == "__main__":
    sys.exit(main())
