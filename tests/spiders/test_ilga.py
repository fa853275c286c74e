from __future__ import annotations

import scrapy

from tests.spiders.saved import CONFIG, fixture_bytes, ilga_listing, xml_response
from trustwatch.items import DocumentItem
from trustwatch.spiders.ilga import IlgaSpider, mentions_statute, statute_dir

FTP = "https://ftp.ilga.gov"


def spider(**kwargs: object) -> IlgaSpider:
    return IlgaSpider(source=CONFIG.source("ilga"), **kwargs)  # type: ignore[arg-type]


def test_start_requests_use_ftp_ilga_gov_paths() -> None:
    urls = [r.url for r in spider().start_requests()]
    assert f"{FTP}/Legislation/104/BillStatus/XML/10400SB1881.xml" in urls
    assert f"{FTP}/Legislation/104/BillStatus/HTML/10400SB1881.html" in urls
    assert f"{FTP}/Legislation/104/SB/" in urls and f"{FTP}/Legislation/104/HB/" in urls
    assert f"{FTP}/ILCS/Ch%200005/Act%200805/" in urls
    assert f"{FTP}/Legislation/104/BillStatus/XML/" in urls
    assert not any("//ilga.gov" in u for u in urls)  # ilga.gov answers robots with 403


def test_statute_dir() -> None:
    assert statute_dir("5 ILCS 805") == "/ILCS/Ch%200005/Act%200805/"


def test_text_index_picks_every_version_of_watched_bills_only() -> None:
    resp = ilga_listing(2, "Legislation/104/SB")
    resp.meta["index"] = {"bills": ["SB1881", "SB2305"]}
    out = list(spider().parse_text_index(resp))
    urls = sorted(o.url for o in out if isinstance(o, scrapy.Request))
    assert urls == [f"{FTP}/Legislation/104/SB/10400SB1881.htm",
                    f"{FTP}/Legislation/104/SB/10400SB1881sam001.htm",
                    f"{FTP}/Legislation/104/SB/10400SB2305.htm"]  # not SB1500 (Trust Code)
    index = [o for o in out if isinstance(o, DocumentItem)]
    assert len(index) == 1 and index[0].role == "index"


def test_statute_index_yields_every_section() -> None:
    resp = ilga_listing(1, "ILCS/Ch 0005/Act 0805")
    resp.meta["index"] = {"statute": "5 ILCS 805"}
    out = list(spider().parse_statute_index(resp))
    reqs = [o for o in out if isinstance(o, scrapy.Request)]
    assert len(reqs) == 7 and all(r.meta["doc_meta"]["doc"] == "section" for r in reqs)


def test_first_run_only_records_the_bill_index() -> None:
    resp = ilga_listing(1, "Legislation/104/BillStatus/XML")
    out = list(spider(previous_index=None).parse_bill_index(resp))
    assert len(out) == 1 and isinstance(out[0], DocumentItem)


def test_later_runs_probe_bills_whose_status_file_changed_size() -> None:
    from trustwatch.extract.ilga import parse_iis_listing

    v2 = ilga_listing(2, "Legislation/104/BillStatus/XML")
    previous = {e.name.lower(): e.size for e in parse_iis_listing(v2.body, v2.url)}
    v3 = ilga_listing(3, "Legislation/104/BillStatus/XML")
    out = list(spider(previous_index=previous).parse_bill_index(v3))
    probes = sorted(o.meta["bill"] for o in out if isinstance(o, scrapy.Request))
    assert probes == ["HB3055", "SB1500"]  # timestamps changed for all; sizes for these two


def test_discovery_watches_a_shell_bill_rewritten_to_amend_the_trust_act() -> None:
    s = spider(previous_index={})
    url = f"{FTP}/Legislation/104/BillStatus/XML/10400HB3055.xml"
    for version, found in ((2, False), (3, True)):
        body = fixture_bytes("ilga", version, "Legislation/104/BillStatus/XML/10400HB3055.xml")
        out = list(s.parse_discovery(xml_response(url, body, {"role": "probe",
                                                              "bill": "HB3055"})))
        assert bool(out) is found
    items = [o for o in out if isinstance(o, DocumentItem)]
    assert items[0].role == "document" and items[0].meta["discovered"] == "5 ILCS 805"
    assert "HB3055" in s.bills


def test_trust_code_decoy_is_not_discovered() -> None:
    url = f"{FTP}/Legislation/104/BillStatus/XML/10400SB1500.xml"
    body = fixture_bytes("ilga", 3, "Legislation/104/BillStatus/XML/10400SB1500.xml")
    assert list(spider(previous_index={}).parse_discovery(
        xml_response(url, body, {"role": "probe", "bill": "SB1500"}))) == []


def test_mentions_statute_is_case_sensitive_on_the_short_title() -> None:
    assert mentions_statute("Amends the Illinois TRUST Act.", ["5 ILCS 805"]) == "5 ILCS 805"
    assert mentions_statute("Amends 5 ILCS 805/15.", ["5 ILCS 805"]) == "5 ILCS 805"
    assert mentions_statute("Amends the Illinois Trust Code. Land trust.", ["5 ILCS 805"]) is None
    assert mentions_statute("Amends 5 ILCS 8050.", ["5 ILCS 805"]) is None


def test_status_page_links_to_public_acts_are_followed_on_ftp() -> None:
    from tests.spiders.saved import response

    url = f"{FTP}/Legislation/104/BillStatus/HTML/10400SB1881.html"
    body = fixture_bytes("ilga", 2, "Legislation/104/BillStatus/HTML/10400SB1881.html")
    body = body.replace(b"</body>", b'<a href="https://ilga.gov/Legislation/PublicActs/View/'
                        b'104-0166">Public Act 104-0166</a></body>')
    resp = response(url, body, meta={"role": "document",
                                     "doc_meta": {"bill": "SB1881", "doc": "status_html"}})
    out = list(spider().parse_status_html(resp))
    acts = [o for o in out if isinstance(o, scrapy.Request)]
    assert [r.url for r in acts] == [f"{FTP}/Public%20Acts/104/104-0166.htm"]
    assert acts[0].meta["doc_meta"] == {"bill": "SB1881", "doc": "public_act"}


def test_scrapy_cli_lists_the_spiders_from_the_repo_root() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=root,
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {"isp", "ag", "ilga", "generic"} <= set(out.stdout.split())
