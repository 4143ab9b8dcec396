"""PostgreSQL sessions behind a small interface: list the ones a guard allows, terminate them.

A session is identified by (pid, backend_start): a pid reused by a new connection is another
session and is never signalled. The real adapter (`postgres_psycopg.PsycopgAdmin`) is imported
only by the block that builds it. Errors an implementation raises: ActionError for anything that
failed (connection, permission, timeout); callers in a verification step turn them into
VerificationError.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

State = Literal["idle in transaction", "idle in transaction (aborted)", "active"]
IDLE_IN_TRANSACTION: list[State] = ["idle in transaction", "idle in transaction (aborted)"]


class TerminateGuard(BaseModel):
    """What terminate_queries may ever do on one database, whatever an action asks."""

    model_config = ConfigDict(extra="forbid")

    allowed_roles: list[str] = Field(min_length=1)
    max_count: int = Field(default=5, ge=1, le=100)
    min_age_s: float = Field(default=60.0, ge=0)


class SessionFilter(BaseModel):
    """Which sessions to look for: database, roles, states and minimum age in that state."""

    database: str
    roles: list[str]
    states: list[State]
    older_than_s: float


@dataclass(frozen=True)
class PgSession:
    """One backend as pg_stat_activity showed it."""

    pid: int
    backend_start: datetime
    role: str
    database: str
    state: str
    age_s: float
    query: str
    application: str
    blocking: int

    def describe(self) -> str:
        """One line for a person: pid, role, state, age, what it blocks and its query."""
        return (
            f"pid {self.pid} ({self.role}@{self.database}, {self.application or 'no app name'}): "
            f"{self.state} for {self.age_s:.1f}s, blocking {self.blocking} session(s); "
            f"query: {self.query[:120]!r}"
        )


class PostgresAdmin(Protocol):
    """What terminate_queries needs from a database."""

    database: str
    guard: TerminateGuard

    def sessions(self, which: SessionFilter, limit: int) -> list[PgSession]:
        """Sessions matching WHICH, oldest first, at most LIMIT."""
        ...

    def terminate(self, session: PgSession, which: SessionFilter) -> bool:
        """Terminate SESSION if it still matches WHICH; whether it was signalled."""
        ...

    def alive(self, sessions: list[PgSession]) -> list[PgSession]:
        """Those of SESSIONS still connected (same pid and backend start)."""
        ...

    def blocked(self, by: list[int] | None = None) -> list[int]:
        """Pids of sessions waiting on a lock (held by one of BY, if given)."""
        ...
