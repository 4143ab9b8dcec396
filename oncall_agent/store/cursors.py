"""Source cursors: how far each source has been read, saved after what it covers is stored."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from oncall_agent.errors import StoreError
from oncall_agent.store.tables import SourceCursor, utcnow

_TABLE = SourceCursor.__table__  # type: ignore[attr-defined]


def load_cursor(session: Session, source_key: str) -> dict[str, Any]:
    """The saved state of SOURCE_KEY, or an empty dict if it was never saved."""
    try:
        state = session.execute(
            select(_TABLE.c.state).where(_TABLE.c.source_key == source_key)
        ).scalar_one_or_none()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot load the cursor of {source_key!r}: {exc}") from exc
    return copy.deepcopy(state) if isinstance(state, dict) else {}


def _upsert(dialect: str, values: dict[str, Any]) -> Any:
    """An INSERT ... ON CONFLICT (source_key) DO UPDATE statement for DIALECT."""
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise StoreError(f"cursors support SQLite and PostgreSQL stores, not {dialect!r}")
    statement = module.insert(_TABLE).values(**values)
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.source_key],
        set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
    )


def save_cursor(session: Session, source_key: str, state: dict[str, Any]) -> None:
    """Save STATE as the cursor of SOURCE_KEY (insert or replace, safe under concurrency)."""
    values = {"source_key": source_key, "state": copy.deepcopy(state), "updated_at": utcnow()}
    try:
        session.execute(_upsert(session.get_bind().dialect.name, values))
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise StoreError(f"cannot save the cursor of {source_key!r}: {exc}") from exc
