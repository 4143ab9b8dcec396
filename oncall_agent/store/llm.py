"""The model answer cache and the daily token budget, both in the store (shared by every worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oncall_agent.store.tables import LLMAnswerRow, LLMUsageRow, utcnow


def cached_answer(
    session: Session, fingerprint: str, model: str, candidates_hash: str
) -> dict[str, Any] | None:
    """The answer cached for FINGERPRINT and MODEL when the same candidates were offered."""
    query = select(LLMAnswerRow).where(
        LLMAnswerRow.fingerprint == fingerprint, LLMAnswerRow.model == model
    )
    row = session.exec(query).first()
    if row is None or row.candidates_hash != candidates_hash:
        return None
    return dict(row.answer or {})


def store_answer(
    session: Session, fingerprint: str, model: str, candidates_hash: str, answer: dict[str, Any]
) -> None:
    """Cache ANSWER for FINGERPRINT and MODEL, replacing an older one."""
    query = select(LLMAnswerRow).where(
        LLMAnswerRow.fingerprint == fingerprint, LLMAnswerRow.model == model
    )
    row = session.exec(query).first()
    if row is None:
        row = LLMAnswerRow(fingerprint=fingerprint, model=model, candidates_hash=candidates_hash)
    row.candidates_hash, row.answer, row.created_at = candidates_hash, answer, utcnow()
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
        savepoint.commit()
    except IntegrityError:  # another worker cached the same answer first: theirs stands
        savepoint.rollback()


def _day(now: datetime | None) -> str:
    """The UTC day NOW falls on, as YYYY-MM-DD."""
    return f"{now or utcnow():%Y-%m-%d}"


def _ensure_day(session: Session, day: str) -> None:
    """Create DAY's usage row if it is missing (a concurrent creator is fine)."""
    if session.get(LLMUsageRow, day) is not None:
        return
    savepoint = session.begin_nested()
    try:
        session.add(LLMUsageRow(day=day, tokens=0))
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()


def reserve_tokens(session: Session, tokens: int, budget: int, now: datetime | None = None) -> bool:
    """Add TOKENS to today's spending if it stays within BUDGET (one atomic update); else False."""
    day = _day(now)
    _ensure_day(session, day)
    result = session.exec(  # type: ignore[call-overload]
        update(LLMUsageRow)
        .where(col(LLMUsageRow.day) == day, col(LLMUsageRow.tokens) + tokens <= budget)
        .values(tokens=col(LLMUsageRow.tokens) + tokens, updated_at=utcnow())
    )
    return bool(result.rowcount == 1)


def adjust_tokens(session: Session, delta: int, now: datetime | None = None) -> None:
    """Correct today's spending by DELTA once the real cost of a call is known."""
    session.exec(  # type: ignore[call-overload]
        update(LLMUsageRow)
        .where(col(LLMUsageRow.day) == _day(now))
        .values(tokens=col(LLMUsageRow.tokens) + delta, updated_at=utcnow())
    )


def tokens_spent(session: Session, now: datetime | None = None) -> int:
    """Tokens spent today."""
    row = session.get(LLMUsageRow, _day(now))
    return row.tokens if row else 0
