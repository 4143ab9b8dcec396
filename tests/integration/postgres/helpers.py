"""Helpers of the PostgreSQL tests: the server to use, the test database and its role."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
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
        # A lock left by a failed test makes the next one fail fast instead of hanging.
        return psycopg.connect(
            self.dsn(role or self.app_role), autocommit=autocommit, connect_timeout=5,
            application_name="orders-api", password=password, options="-c lock_timeout=10s",
        )  # fmt: skip


def admin_connection(database: str = "postgres") -> psycopg.Connection:
    """An autocommit superuser connection."""
    return psycopg.connect(make_conninfo(**(ADMIN | {"dbname": database})), autocommit=True,
                           connect_timeout=5)  # fmt: skip
