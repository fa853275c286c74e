"""Crawl the bundled fixture sites v1 -> v2 -> v3 with the real CLI and report what issue 3
asks for: documents per version, changes found vs expected, crawl time, database size.

    python bench/fixture_crawl.py            # prints a Markdown table
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

from trustwatch.fixtures import FixtureSites
from trustwatch.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = tomllib.loads((ROOT / "tests" / "e2e" / "expected_changes.toml").read_text())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="tw-fixture-crawl-"))
    db = work / "trustwatch.db"
    print("| version | documents (isp / ag / ilga) | changes found | expected | equal | "
          "relevant | crawl wall s |")
    print("|---|---|---:|---:|---|---:|---:|")
    with FixtureSites(version=1) as sites:
        config = work / "watchlist.toml"
        config.write_text(sites.watchlist_toml(f"sqlite:///{db}"))
        storage = Storage.open(f"sqlite:///{db}")
        seen: set[int] = set()
        for version in (1, 2, 3):
            sites.version = version
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "trustwatch", "--config", str(config),
                            "crawl", "--no-alerts"], check=False, capture_output=True)
            wall = time.monotonic() - start
            runs = {run.id for run, _ in storage.runs(limit=100)} - seen
            seen |= runs
            slugs = {s.id: s.slug for s in storage.sources()}
            docs = Counter(slugs[d.source_id] for d in storage.documents()
                           if d.role != "index" and d.state == "active")
            found = sorted((src.slug, unquote(urlsplit(doc.url).path), ch.kind, ch.relevant)
                           for ch, doc, src in storage.changes(relevant_only=False)
                           if ch.run_id in runs and not ch.baseline)
            want = sorted((e["source"], e["path"], e["kind"], e["relevant"])
                          for e in EXPECTED.get(f"v{version}", []))
            print(f"| v{version} | {docs['isp']} / {docs['ag']} / {docs['ilga']} = "
                  f"{sum(docs.values())} | {len(found)} | {len(want)} | "
                  f"{'yes' if found == want else 'NO'} | {sum(1 for f in found if f[3])} | "
                  f"{wall:.1f} |")
        storage.close()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blobs, packed, raw = con.execute(
        "SELECT count(*), sum(length(data)), sum(size) FROM blobs").fetchone()
    con.close()
    print(f"\ndatabase after three crawls: {db.stat().st_size:,} bytes; {blobs} blobs, "
          f"{packed:,} bytes stored for {raw:,} bytes captured")


if __name__ == "__main__":
    main()
