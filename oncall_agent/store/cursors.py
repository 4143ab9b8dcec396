"""Source cursors: how far each source has been read, saved after what it covers is stored.

Every save bumps the row's `version`. A detector advances a cursor only from the version it
read (`advance_cursor`, a compare-and-swap in the transaction that stores the incidents the
read covers): when two detectors read the same lines, only the first to commit counts them,
and the other one sees that it lost and reads again from where the winner left off.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from oncall_agent.errors import StoreError
from oncall_agent.store.tables import SourceCursor, utcnow

_TABLE = SourceCursor.__table__  # type: ignore[attr-defined]


def load_cursor(session: Session, source_key: str) -> dict[str, Any]:
    """The saved state of SOURCE_KEY, or an empty dict if it was never saved."""
    return load_cursor_at(session, source_key)[0]


def load_cursor_at(session: Session, source_key: str) -> tuple[dict[str, Any], int]:
    """The saved state of SOURCE_KEY and its version ({} and 0 if it was never saved)."""
    try:
        row = session.execute(
            select(_TABLE.c.state, _TABLE.c.version).where(_TABLE.c.source_key == source_key)
        ).first()
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot load the cursor of {source_key!r}: {exc}") from exc
    if row is None:
        return {}, 0
    state = copy.deepcopy(row.state) if isinstance(row.state, dict) else {}
    return state, int(row.version or 0)


def _insert(dialect: str, values: dict[str, Any]) -> Any:
    """An INSERT ... ON CONFLICT (source_key) for DIALECT (its `on_conflict_*` still to pick)."""
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise StoreError(f"cursors support SQLite and PostgreSQL stores, not {dialect!r}")
    return module.insert(_TABLE).values(**values)


def advance_cursor(session: Session, source_key: str, state: dict[str, Any], read_at: int) -> bool:
    """Save STATE as SOURCE_KEY's cursor only if it is still at version READ_AT; whether it was.

    Call it first in the transaction that stores what the read covers: on SQLite the UPDATE
    takes the write lock, on PostgreSQL the row lock, so a rival's commit is always seen.
    """
    values = {"state": copy.deepcopy(state), "updated_at": utcnow(), "version": read_at + 1}
    try:
        if read_at == 0:
            statement = _insert(
                session.get_bind().dialect.name, {"source_key": source_key, **values}
            )
            inserted = session.execute(
                statement.on_conflict_do_nothing().returning(_TABLE.c.version)
            )
            if inserted.first() is not None:  # no row: a rival inserted it first
                return True
        moved = session.execute(
            update(_TABLE)
            .where(_TABLE.c.source_key == source_key, _TABLE.c.version == read_at)
            .values(**values)
        )
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise StoreError(f"cannot save the cursor of {source_key!r}: {exc}") from exc
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def save_cursor(session: Session, source_key: str, state: dict[str, Any]) -> None:
    """Save STATE as the cursor of SOURCE_KEY whatever it was (insert or replace)."""
    values = {"source_key": source_key, "state": copy.deepcopy(state), "updated_at": utcnow()}
    try:
        statement = _insert(session.get_bind().dialect.name, values | {"version": 1})
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[_TABLE.c.source_key],
                set_={
                    "state": statement.excluded.state,
                    "updated_at": statement.excluded.updated_at,
                    "version": _TABLE.c.version + 1,
                },
            )
        )
    except (SQLAlchemyError, TypeError, ValueError) as exc:
        raise StoreError(f"cannot save the cursor of {source_key!r}: {exc}") from exc
