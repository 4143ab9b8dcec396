"""The real PostgreSQL adapter: psycopg, one short autocommit connection per call, timeouts.

Termination re-checks the criteria in the same statement as pg_terminate_backend, so a session
that committed, went active or changed since it was listed is left alone.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from oncall_agent.errors import ActionError, ConfigError
from oncall_agent.integrations.postgres_client import PgSession, SessionFilter, TerminateGuard

# Age in the current state: an idle transaction since it went idle, a query since it started.
# The statements are written out whole (no string building); every value is a bound parameter.
_SESSIONS = """
SELECT a.pid, a.backend_start, a.usename, a.datname, a.state,
       EXTRACT(EPOCH FROM now() - CASE WHEN a.state = 'active' THEN a.query_start
                                       ELSE a.state_change END)::float8 AS age_s,
       left(coalesce(a.query, ''), 200), coalesce(a.application_name, ''),
       (SELECT count(*) FROM pg_stat_activity b WHERE a.pid = ANY(pg_blocking_pids(b.pid)))
FROM pg_stat_activity a
WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  AND a.datname = %(database)s AND a.usename = ANY(%(roles)s) AND a.state = ANY(%(states)s)
  AND now() - CASE WHEN a.state = 'active' THEN a.query_start ELSE a.state_change END
      > make_interval(secs => %(older_than_s)s)
ORDER BY age_s DESC LIMIT %(limit)s
"""
_TERMINATE = """
SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a
WHERE a.pid = %(pid)s AND a.backend_start = %(backend_start)s
  AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
  AND a.datname = %(database)s AND a.usename = ANY(%(roles)s) AND a.state = ANY(%(states)s)
  AND now() - CASE WHEN a.state = 'active' THEN a.query_start ELSE a.state_change END
      > make_interval(secs => %(older_than_s)s)
"""
_ALIVE = "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = ANY(%(pids)s)"
# Sessions of this database waiting on a lock, and the pids blocking them.
_BLOCKED = (
    "SELECT pid, pg_blocking_pids(pid) FROM pg_stat_activity "
    "WHERE datname = %(database)s AND wait_event_type = 'Lock'"
)


def database_of(dsn: str) -> str:
    """The database a DSN (URI or key=value) names; ConfigError if none, or with a password."""
    try:
        parts = pg_conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise ConfigError(f"postgres dsn is not valid: {exc}") from exc
    if parts.get("password"):
        raise ConfigError(
            "postgres dsn must not contain the password: put it in the password field"
        )
    if not parts.get("dbname"):
        raise ConfigError("postgres dsn must name the database, e.g. postgresql://agent@db/app")
    return str(parts["dbname"])


class PsycopgAdmin:
    """PostgresAdmin over psycopg: a short-lived autocommit connection per call, with timeouts."""

    def __init__(
        self,
        dsn: str,
        guard: TerminateGuard,
        *,
        password: str | None = None,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 10.0,
    ) -> None:
        """Connect to DSN (password given apart, never in the DSN) under GUARD."""
        self.dsn = dsn
        self.database = database_of(dsn)
        self.guard = guard
        self._password = password
        self._connect_timeout = max(1, round(connect_timeout_s))
        self._options = f"-c statement_timeout={int(statement_timeout_s * 1000)}"

    def secret_values(self) -> tuple[str, ...]:
        """The password, for redaction only."""
        return (self._password,) if self._password else ()

    def _run(self, sql: str, params: dict[str, Any], doing: str) -> list[tuple[Any, ...]]:
        """Rows of SQL; ActionError naming what failed (connection, permission, timeout)."""
        extra: dict[str, Any] = {"password": self._password} if self._password else {}
        try:
            with psycopg.connect(
                self.dsn,
                autocommit=True,
                connect_timeout=self._connect_timeout,
                options=self._options,
                application_name="oncall-agent",
                **extra,
            ) as conn:
                return list(conn.execute(sql, params).fetchall())
        except psycopg.errors.InsufficientPrivilege as exc:
            raise ActionError(
                f"postgres {self.database}: not allowed to {doing}: {exc}; grant the agent's role "
                "pg_signal_backend (and pg_read_all_stats to see other roles' queries)"
            ) from exc
        except psycopg.Error as exc:
            raise ActionError(f"postgres {self.database}: could not {doing}: {exc}") from exc

    def sessions(self, which: SessionFilter, limit: int) -> list[PgSession]:
        """Sessions matching WHICH, oldest first, at most LIMIT."""
        rows = self._run(_SESSIONS, _params(which) | {"limit": limit}, "list sessions")
        return [PgSession(*row) for row in rows]

    def terminate(self, session: PgSession, which: SessionFilter) -> bool:
        """pg_terminate_backend(pid) if the session still matches WHICH."""
        params = _params(which) | {"pid": session.pid, "backend_start": session.backend_start}
        rows = self._run(_TERMINATE, params, f"terminate pid {session.pid}")
        return bool(rows and rows[0][0])

    def alive(self, sessions: list[PgSession]) -> list[PgSession]:
        """Those of SESSIONS still connected."""
        if not sessions:
            return []
        rows = self._run(_ALIVE, {"pids": [s.pid for s in sessions]}, "read pg_stat_activity")
        present = {(pid, start) for pid, start in rows}
        return [s for s in sessions if (s.pid, s.backend_start) in present]

    def blocked(self, by: list[int] | None = None) -> list[int]:
        """Pids of sessions waiting on a lock (held by one of BY, if given)."""
        rows = self._run(_BLOCKED, {"database": self.database}, "read blocked sessions")
        return sorted(pid for pid, blockers in rows if by is None or set(blockers or []) & set(by))


def _params(which: SessionFilter) -> dict[str, Any]:
    """Query parameters of a filter."""
    return {
        "database": which.database,
        "roles": list(which.roles),
        "states": list(which.states),
        "older_than_s": which.older_than_s,
    }
