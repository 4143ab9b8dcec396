"""Configuration problems runs ran into, one row per place, for `oncall status`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from oncall_agent.store.tables import ConfigProblem, utcnow


def note_problem(session: Session, key: str, problem: str) -> None:
    """Record PROBLEM at KEY (e.g. 'source:default'), or refresh it if it is already known."""
    row = session.get(ConfigProblem, key)
    now = utcnow()
    if row is None:
        row = ConfigProblem(key=key[:300], problem=problem, first_seen=now, last_seen=now)
    else:
        row.problem, row.last_seen, row.count = problem, now, row.count + 1
    session.add(row)
    session.flush()


def clear_problem(session: Session, key: str) -> None:
    """Forget the problem at KEY: it was fixed."""
    session.execute(delete(ConfigProblem).where(col(ConfigProblem.key) == key))


def recent_problems(
    session: Session, within_s: int = 24 * 3600, now: datetime | None = None
) -> list[ConfigProblem]:
    """Problems seen within the last WITHIN_S seconds, most recent first."""
    since = (now or utcnow()) - timedelta(seconds=within_s)
    query = (
        select(ConfigProblem)
        .where(col(ConfigProblem.last_seen) >= since)
        .order_by(col(ConfigProblem.last_seen).desc())
    )
    return list(session.exec(query).all())
