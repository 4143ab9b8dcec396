"""Fixtures: a database and an application role of these tests' own on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.integration.postgres.helpers import PgTarget, admin_connection


@pytest.fixture(scope="module")
def pg_target() -> Iterator[PgTarget]:
    """A fresh database with an `orders` table and a login role, both dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    target = PgTarget(database=f"oncall_pgtest_{suffix}", app_role=f"oncall_app_{suffix}")
    db, role = sql.Identifier(target.database), sql.Identifier(target.app_role)
    with admin_connection() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, role))
    with target.connect(autocommit=True) as app:
        app.execute("CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL)")
        app.execute("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 10) g")
    try:
        yield target
    finally:
        with admin_connection() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (target.database,),
            )
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(db))
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))


@pytest.fixture
def sessions(pg_target: PgTarget) -> Iterator[list[psycopg.Connection]]:
    """Connections a test opens (append them); closed, and their sessions ended, afterwards."""
    opened: list[psycopg.Connection] = []
    yield opened
    for conn in opened:
        conn.close()
    with admin_connection() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (pg_target.database,),
        )
