"""Per-target locks in the database, so two workers never act on the same target at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from oncall_agent.errors import ActionRejected
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import TargetLock, utcnow


def try_acquire(engine: Engine, target: str, holder: str, ttl_s: float) -> bool:
    """Take TARGET's lock for TTL_S seconds; an expired lock (a crashed holder) is taken over."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_s)
    try:
        with session_scope(engine) as session:
            session.add(
                TargetLock(target=target, holder=holder, acquired_at=now, expires_at=expires)
            )
        return True
    except IntegrityError:
        pass
    with session_scope(engine) as session:
        result = session.execute(
            update(TargetLock)
            .where(col(TargetLock.target) == target, col(TargetLock.expires_at) < now)
            .values(holder=holder, acquired_at=now, expires_at=expires)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def release(engine: Engine, target: str, holder: str) -> None:
    """Give the lock back (only if HOLDER still holds it)."""
    with session_scope(engine) as session:
        session.execute(
            delete(TargetLock).where(
                col(TargetLock.target) == target, col(TargetLock.holder) == holder
            )
        )


@contextmanager
def target_lock(
    engine: Engine, target: str, holder: str, ttl_s: float, wait_s: float = 30.0
) -> Iterator[None]:
    """Hold TARGET's lock for the block, waiting up to WAIT_S for another holder to finish."""
    deadline = time.monotonic() + wait_s
    while not try_acquire(engine, target, holder, ttl_s):
        if time.monotonic() >= deadline:
            raise ActionRejected(
                f"another action is running on {target} (waited {wait_s:.0f}s): nothing ran"
            )
        time.sleep(0.25)
    try:
        yield
    finally:
        release(engine, target, holder)
