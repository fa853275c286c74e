"""Shared test fixtures: databases (SQLite files and real PostgreSQL), the loopback fixture
sites, and a way to run the real CLI in a child process (Scrapy's reactor runs once)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL = os.environ.get("TRUSTWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("TRUSTWATCH_REQUIRE_PG") == "1"


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"),
                             connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    return _pg_available()


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    """A fresh PostgreSQL schema per test; mandatory when TRUSTWATCH_REQUIRE_PG=1 (CI)."""
    if pg_reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {pg_reason}")
        pytest.skip(f"PostgreSQL not reachable ({pg_reason}); CI makes this mandatory")
    import psycopg

    schema = f"tw_{uuid.uuid4().hex[:12]}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trustwatch.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def sites() -> Iterator[object]:
    from trustwatch.fixtures import FixtureSites

    with FixtureSites(version=1) as s:
        yield s


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real `trustwatch` command in a child process."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("TRUSTWATCH_DB", "TRUSTWATCH_CONFIG", "SLACK_BOT_TOKEN")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "trustwatch", *args], cwd=cwd, env=full_env,
                          check=False,
                          capture_output=True, text=True, timeout=timeout)
