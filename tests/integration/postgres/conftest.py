"""Fixtures: a database and an application role of these tests' own on the real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The same server as the store tests (tests/conftest.py), as a libpq DSN.
ADMIN = conninfo_to_dict(
    os.environ.get(
        "ONCALL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ).replace("+psycopg", "", 1)
)


@dataclass(frozen=True)
class PgTarget:
    """The test database, the role its application sessions use, and how to connect."""

    database: str
    app_role: str

    def dsn(self, role: str | None = None) -> str:
        """A DSN without password for ROLE (the admin's by default) on the test database."""
        parts = {k: v for k, v in ADMIN.items() if k != "password"}
        return make_conninfo(**(parts | {"dbname": self.database, "user": role or ADMIN["user"]}))

    @property
    def admin_password(self) -> str | None:
        """The admin's password, if the server asks for one."""
        return ADMIN.get("password")

    def connect(self, role: str | None = None, autocommit: bool = False) -> psycopg.Connection:
        """A connection as ROLE (the application role by default)."""
        password = ADMIN.get("password") if role == ADMIN["user"] else None
        return psycopg.connect(
            self.dsn(role or self.app_role), autocommit=autocommit, connect_timeout=5,
            application_name="orders-api", password=password,
        )  # fmt: skip


def _admin(database: str = "postgres") -> psycopg.Connection:
    """An autocommit superuser connection."""
    return psycopg.connect(make_conninfo(**(ADMIN | {"dbname": database})), autocommit=True,
                           connect_timeout=5)  # fmt: skip


@pytest.fixture(scope="module")
def pg_target() -> Iterator[PgTarget]:
    """A fresh database with an `orders` table and a login role, both dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    target = PgTarget(database=f"oncall_pgtest_{suffix}", app_role=f"oncall_app_{suffix}")
    db, role = sql.Identifier(target.database), sql.Identifier(target.app_role)
    with _admin() as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, role))
    with target.connect(autocommit=True) as app:
        app.execute("CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL)")
        app.execute("INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 10) g")
    try:
        yield target
    finally:
        with _admin() as admin:
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
    with _admin() as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (pg_target.database,),
        )
