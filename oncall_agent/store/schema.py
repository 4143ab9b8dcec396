"""Bringing a database to the current schema (Alembic migrations; create_all for scratch stores)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from oncall_agent.store import tables  # noqa: F401  (registers every table on the metadata)


def create_schema(engine: Engine) -> None:
    """Create every table on ENGINE (tests and scratch stores; real stores use upgrade())."""
    SQLModel.metadata.create_all(engine)
