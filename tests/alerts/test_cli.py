"""`trustwatch alerts list` / `alerts retry` through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.alerts.conftest import add_alert
from tests.alerts.slack_fake import TOKEN, FakeSlack, Fault
from trustwatch.cli import main
from trustwatch.storage import Storage


@pytest.fixture
def watchlist(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "watchlist.toml"
    path.write_text(f'[trustwatch]\ndatabase = "{db_url}"\n\n[alerts]\n'
                    'slack_channel = "#trust-act-watch"\n\n[sources.isp]\n', encoding="utf-8")
    return path


def cli(watchlist: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    base = {"TRUSTWATCH_DB": "", "SLACK_BOT_TOKEN": ""}
    result = CliRunner().invoke(main, ["--config", str(watchlist), *args], env={**base,
                                                                                 **(env or {})})
    return result.exit_code, result.output


def test_list_and_retry(storage: Storage, watchlist: Path) -> None:
    for _ in range(3):
        add_alert(storage)
    code, out = cli(watchlist, "alerts", "list")
    assert code == 0 and out.count("pending") == 3
    # no token: nothing sent, alerts kept, exit 1 with one plain line
    code, out = cli(watchlist, "alerts", "retry")
    assert code == 1 and "SLACK_BOT_TOKEN is not set: 3 alerts kept pending" in out
    with FakeSlack() as slack:
        env = {"SLACK_BOT_TOKEN": "xoxb-wrong", "TRUSTWATCH_SLACK_API_URL": slack.url}
        code, out = cli(watchlist, "alerts", "retry", env=env)
        assert code == 1
        assert out.strip() == "Slack rejected the token (invalid_auth): 3 alerts kept pending"
        code, out = cli(watchlist, "alerts", "list", "--status", "pending")
        assert out.count("Slack rejected the token (invalid_auth)") == 3
        slack.faults.append(Fault("error", error="invalid_blocks"))
        env["SLACK_BOT_TOKEN"] = TOKEN
        code, out = cli(watchlist, "alerts", "retry", env=env)
        assert code == 1 and "2 sent to Slack" in out and "1 rejected by Slack" in out
        code, out = cli(watchlist, "alerts", "list")
        assert "failed" in out and "invalid_blocks" in out and out.count("sent ") == 2
        code, out = cli(watchlist, "alerts", "retry", "--failed", env=env)
        assert code == 0 and "1 failed alert queued again" in out and "1 sent" in out
        assert len(slack.messages) == 3
        code, out = cli(watchlist, "alerts", "retry", env=env)
        assert code == 0 and "no pending alerts" in out
    code, out = cli(watchlist, "alerts", "list", "--status", "failed")
    assert code == 0 and out.strip() == "no alerts failed"


def test_without_token_deliver_prints_the_message(storage: Storage, watchlist: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from trustwatch.alerts import deliver
    from trustwatch.config import load_config

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    add_alert(storage)
    line = deliver(load_config(str(watchlist)), storage)
    shown = capsys.readouterr().out
    assert "[changed] Changed: LEADS Agreement" in shown and "Matched terms" in shown
    assert "1 new shown above" in line
    assert [a.status for a in storage.alerts()] == ["pending"]


def test_without_token_a_later_crawl_shows_only_its_new_alerts(
        storage: Storage, watchlist: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from trustwatch.alerts import deliver
    from trustwatch.config import load_config
    from trustwatch.storage import utcnow

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    add_alert(storage)
    later = utcnow()
    line = deliver(load_config(str(watchlist)), storage, new_since=later)
    assert "[changed]" not in capsys.readouterr().out
    assert "0 new shown above, 1 older still pending" in line
    assert [a.status for a in storage.alerts()] == ["pending"]
