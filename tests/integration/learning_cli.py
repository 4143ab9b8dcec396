"""A CLI store on SQLite and on PostgreSQL, and a runner, for the learning-loop CLI tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from oncall_agent.cli import build_app
from oncall_agent.settings import get_settings
from oncall_agent.store import engine as store_engine

runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgresql"])
def cli_db(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """DATABASE_URL for the CLI: a new SQLite file, then a new PostgreSQL schema."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        pg_url = request.getfixturevalue("pg_database")
        schema = f"c_{uuid.uuid4().hex[:10]}"
        with create_engine(pg_url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{pg_url}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    cached = store_engine._ENGINES.pop(url, None)
    if cached is not None:
        cached.dispose()
    get_settings.cache_clear()
    if schema:
        with create_engine(request.getfixturevalue("pg_database")).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def invoke(*args: str) -> Result:
    """Run one CLI command and return its result (exit code and output)."""
    return runner.invoke(build_app(), list(args))


def oncall(*args: str) -> str:
    """Run one CLI command, fail on a non-zero exit, and return its output."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return result.output


def simulated_incident(title: str, service: str, message: str) -> int:
    """Store an incident through `oncall simulate-incident`; its id."""
    out = oncall("simulate-incident", "--title", title, "--service", service, "--message", message)
    found = re.search(r"incident #(\d+) (opened|reopened)", out)
    assert found, out
    return int(found.group(1))
