from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from trustwatch.cli import main
from trustwatch.config import ConfigError, bill_file_id, load_config, parse_config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "watchlist.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_builtin_watchlist_is_the_real_sites(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRUSTWATCH_CONFIG", raising=False)
    monkeypatch.delenv("TRUSTWATCH_DB", raising=False)
    cfg = load_config()
    assert set(cfg.sources) == {"isp", "ag", "ilga"}
    assert cfg.sources["isp"].start_urls[0].startswith("https://isp.illinois.gov/")
    assert all(u.startswith("https://illinoisattorneygeneral.gov/")
               for u in cfg.sources["ag"].start_urls)
    ilga = cfg.sources["ilga"]
    assert ilga.ftp_url == "https://ftp.ilga.gov" and ilga.base_url == "https://ilga.gov"
    assert "SB1881" in ilga.bills and ilga.statutes == ("5 ILCS 805",)
    assert cfg.database == "sqlite:///trustwatch.db"
    assert cfg.timezone == "America/Chicago"


def test_contract_example_parses(tmp_path: Path) -> None:
    p = write(tmp_path, r'''
[trustwatch]
database = "sqlite:///trustwatch.db"
archive_dir = "archive"
archive_url = ""
timezone = "America/Chicago"
user_agent = "trustwatch (+mailto:newsroom@example.org)"
[crawl]
delay = 1.0
concurrency_per_host = 2
timeout = 30
max_bytes = 104857600
[alerts]
slack_channel = "#trust-act-watch"
[terms]
trust_act = ["Keep Illinois Families Together"]
[sources.isp]
start_urls = ["https://isp.illinois.gov/LawEnforcement/LEADS"]
follow = ['/LawEnforcement/GetFile/', '\.pdf$']
every = "6h"
ignore = ['^Copyright \d{4}']
[sources.ilga]
base_url = "https://ilga.gov"
ftp_url = "https://ftp.ilga.gov"
general_assembly = 104
bills = ["SB1881", "HB2706"]
statutes = ["5 ILCS 805"]
[sources.sheriff]
kind = "generic"
start_urls = ["https://example.org/policies"]
follow = ['\.pdf$']
cron = "0 */6 * * *"
''')
    cfg = load_config(p)
    assert cfg.sources["isp"].every == timedelta(hours=6)
    assert cfg.sources["isp"].start_urls == ("https://isp.illinois.gov/LawEnforcement/LEADS",)
    assert cfg.sources["isp"].ignore[0].search("Copyright 2026")
    assert cfg.sources["ilga"].bills == ("SB1881", "HB2706")
    assert cfg.sources["sheriff"].kind == "generic" and cfg.sources["sheriff"].cron
    assert cfg.terms == {"trust_act": ("Keep Illinois Families Together",)}
    assert "ag" not in cfg.sources  # a watchlist with [sources] names exactly what it watches


@pytest.mark.parametrize(("text", "needle"), [
    ("[trustwatch]\ndatabse = 'x'\n", "trustwatch.databse: unknown key"),
    ("[crawl]\ndelay = 'fast'\n", "crawl.delay: must be a number"),
    ("[sources.isp]\nfollow = ['(']\n", "sources.isp.follow[0]: bad regex '('"),
    ("[sources.isp]\nstart_urls = ['isp.illinois.gov/x']\n",
     "sources.isp.start_urls[0]: bad URL"),
    ("[sources.isp]\nevery = 'often'\n", "sources.isp.every: bad duration"),
    ("[sources.isp]\ncron = '61 * * * *'\n", "sources.isp.cron: bad cron expression"),
    ("[sources.isp]\nbills = ['SB1']\n", "sources.isp.bills: only sources of kind 'ilga'"),
    ("[sources.ilga]\nbills = ['XB12']\n", "sources.ilga.bills[0]: bad bill number"),
    ("[sources.ilga]\nstatutes = ['805 ILCS']\n", "sources.ilga.statutes[0]: bad statute"),
    ("[sources.x]\nkind = 'rss'\nstart_urls=['https://a.b/']\n", "sources.x.kind: unknown kind"),
    ("[sources.x]\nkind = 'generic'\n", "sources.x.start_urls: needs at least one"),
    ("[trustwatch]\ntimezone = 'Mars/Base'\n", "trustwatch.timezone: unknown time zone"),
    ("[trustwatch\n", "not valid TOML"),
    ("[surces.isp]\n", "surces: unknown key"),
])
def test_config_errors_name_file_key_and_problem(tmp_path: Path, text: str, needle: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and needle in msg and "\n" not in msg


def test_cli_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    p = write(tmp_path, "[sources.isp]\nfollow = ['(']\n")
    result = CliRunner().invoke(main, ["--config", str(p), "status"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "sources.isp.follow[0]" in lines[0]


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 2 and "cannot read config" in result.output


def test_env_database_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    p = write(tmp_path, "[trustwatch]\ndatabase = 'sqlite:///a.db'\n")
    monkeypatch.setenv("TRUSTWATCH_DB", "sqlite:///b.db")
    assert load_config(p).database == "sqlite:///b.db"


def test_config_search_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_cfg = tmp_path / "env.toml"
    env_cfg.write_text("[trustwatch]\narchive_dir = 'from-env'\n")
    monkeypatch.setenv("TRUSTWATCH_CONFIG", str(env_cfg))
    monkeypatch.chdir(tmp_path)
    assert load_config().archive_dir == "from-env"
    write(tmp_path, "[trustwatch]\narchive_dir = 'from-cwd'\n")
    assert load_config().archive_dir == "from-cwd"


def test_unknown_source_on_command_line_is_exit_2(tmp_path: Path) -> None:
    p = write(tmp_path, f"[trustwatch]\ndatabase = 'sqlite:///{tmp_path}/t.db'\n")
    result = CliRunner().invoke(main, ["--config", str(p), "crawl", "fbi"])
    assert result.exit_code == 2 and "no source 'fbi'" in result.output


def test_bill_file_ids_are_zero_padded() -> None:
    assert bill_file_id("SB31", 104) == "10400SB0031"
    assert bill_file_id("HB2706", 104) == "10400HB2706"


def test_parse_config_rejects_non_table_sources() -> None:
    with pytest.raises(ConfigError, match="sources: must"):
        parse_config({"sources": []})
