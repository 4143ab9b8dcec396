"""Flow tests run on one Prefect test harness per session, with the store in a temp folder."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry lock noise


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for every flow test (about 20 s to start here)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(params=["sqlite", "postgresql"])
def data_dir(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A fresh data folder (outbox, demo files) and a fresh store: SQLite, then PostgreSQL."""
    from oncall_agent.settings import get_settings

    monkeypatch.setenv("ONCALL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    schema = None
    if request.param == "postgresql":
        schema, url = _new_pg_schema(request.getfixturevalue("pg_database"))
        monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield tmp_path / "data"
    _forget_engine(get_settings().resolved_database_url())
    get_settings.cache_clear()
    if schema:
        _drop_pg_schema(request.getfixturevalue("pg_database"), schema)


def _new_pg_schema(pg_url: str) -> tuple[str, str]:
    """A new schema in the test run's database, and a store URL whose search_path is it."""
    from sqlalchemy import create_engine, text

    schema = f"f_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{pg_url}?options=-csearch_path%3D{schema}"


def _drop_pg_schema(pg_url: str, schema: str) -> None:
    """Drop a schema made by _new_pg_schema."""
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _forget_engine(url: str) -> None:
    """Close the process-wide engine for URL, so a dropped schema keeps no connections."""
    from oncall_agent.store import engine as store_engine

    cached = store_engine._ENGINES.pop(url, None)
    if cached is not None:
        cached.dispose()
