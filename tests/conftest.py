"""Shared fixtures: a fresh store on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from oncall_agent.store.engine import make_engine
from oncall_agent.store.schema import create_schema

PG_ADMIN_URL = os.environ.get(
    "ONCALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test run's own, dropped at the end."""
    name = f"oncall_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _fresh_pg_schema(pg_url: str) -> Iterator[Engine]:
    """An engine whose search_path is a new schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    base = make_engine(pg_url)
    with base.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    base.dispose()
    engine = create_engine(
        pg_url, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )
    create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        cleanup = make_engine(pg_url)
        with cleanup.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        cleanup.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store: once on a SQLite file, once on the real PostgreSQL server."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'oncall.db'}")
        create_schema(eng)
        yield eng
        eng.dispose()
    else:
        pg_url = request.getfixturevalue("pg_database")
        yield from _fresh_pg_schema(pg_url)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty store on a SQLite file (for tests that need only one backend)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'oncall.db'}")
    create_schema(eng)
    yield eng
    eng.dispose()
