"""`terminate_queries`: end idle-in-transaction or long-running sessions of allow-listed roles.

Parameters (all optional; the connection's guard bounds every one of them):
    state         "idle_in_transaction" (default), "active" (running queries) or "any"
    older_than_s  minimum seconds in that state; never below the guard's min_age_s (the default)
    roles         a subset of the guard's allowed_roles (default: all of them)
    max_count     at most this many sessions; never above the guard's max_count (the default)
    database      if given, must be the connection's database (names the target)

The plan lists the exact sessions (pid and backend start); if more match than max_count, the
action is refused whole and nothing is terminated: a wider match than intended needs a person.
A run terminates only planned sessions that still match; verification re-reads pg_stat_activity
until they are gone.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from oncall_agent.errors import ActionError, ActionRejected, VerificationError
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    clean_output,
    dry_run_verification,
    reject_unknown_keys,
    verify_number,
)
from oncall_agent.executors.common import ClientExecutor
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.integrations.postgres_client import (
    IDLE_IN_TRANSACTION,
    PgSession,
    PostgresAdmin,
    SessionFilter,
    State,
)
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

_STATES: dict[str, list[State]] = {
    "idle_in_transaction": IDLE_IN_TRANSACTION,
    "active": ["active"],
    "any": [*IDLE_IN_TRANSACTION, "active"],
}
_PARAMS = ("state", "older_than_s", "roles", "max_count", "database")
DEFAULT_VERIFY_WITHIN_S = 5.0
POLL_S = 0.2


class TerminateQueriesExecutor(ClientExecutor[PostgresAdmin]):
    """Terminates the sessions a guarded filter selects on the connection's database."""

    name = "terminate_queries"

    def __init__(
        self,
        config: ExecutorConfig,
        client: PostgresAdmin,
        *,
        secrets: Iterable[str] = (),
        output_limit: int | None = None,
    ) -> None:
        """Act through CLIENT (its guard bounds every request); its password is redacted too."""
        own = getattr(client, "secret_values", lambda: ())()
        super().__init__(config, client, secrets=(*secrets, *own), output_limit=output_limit)

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact sessions a run would terminate; ActionRejected if the request is too wide."""
        which, max_count, request = self._validate(params)
        found = self.client.sessions(which, limit=max_count + 1)
        if len(found) > max_count:
            raise ActionRejected(
                f"terminate_queries: more than {max_count} session(s) match on "
                f"{which.database} ({', '.join(str(s.pid) for s in found)}, ...); nothing was "
                "terminated: narrow the request or raise max_count in the PostgresConnection"
            )
        listing = [{"pid": s.pid, "backend_start": s.backend_start.isoformat()} for s in found]
        lines = "\n".join(f"  {s.describe()}" for s in found) or "  (none)"
        return ActionPlan(
            action=self.name,
            target=which.database,
            params=request | {"sessions": listing},
            description=(
                f"terminate {len(found)} session(s) on {which.database} "
                f"({'/'.join(which.states)} for more than {which.older_than_s:g}s, roles "
                f"{', '.join(which.roles)}):\n{lines}"
            ),
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Terminate the planned sessions that still match (dry run: list their pids)."""
        which, max_count, _ = self._validate(_request_of(plan))
        planned = _planned(plan.params.get("sessions"), which, max_count)
        pids = [s.pid for s in planned]
        if dry_run:
            return ActionResult(
                status=ActionStatus.DRY_RUN, dry_run=True, details={"pids": pids},
                output=self._clean(f"would {plan.description}"),
            )  # fmt: skip
        # The work the blockers hold up: verification checks it moves once they are gone.
        waiting = self.client.blocked(pids) if pids else []
        deadline = time.monotonic() + timeout_s
        terminated: list[int] = []
        skipped: list[int] = []
        for session in planned:
            if time.monotonic() > deadline:
                skipped.append(session.pid)
                continue
            (terminated if self.client.terminate(session, which) else skipped).append(session.pid)
        output = (
            f"terminated pid(s) {terminated or 'none'} on {which.database}; "
            f"left alone (gone, changed, or out of time) {skipped or 'none'}; "
            f"session(s) waiting on them: {waiting or 'none'}"
        )
        return ActionResult(
            # Nothing terminated changed nothing: never a success to credit.
            status=ActionStatus.SUCCEEDED if terminated else ActionStatus.NO_EFFECT,
            output=self._clean(output),
            details={"terminated": terminated, "skipped": skipped, "pids": pids,
                     "waiting": waiting},
        )  # fmt: skip

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """Re-read pg_stat_activity until the terminated sessions are gone (verify["within_s"])."""
        check_verify_keys(self.name, verify, ["within_s"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        within_s = verify_number(self.name, verify, "within_s", DEFAULT_VERIFY_WITHIN_S)
        which, max_count, _ = self._validate(
            {k: v for k, v in plan.params.items() if k != "sessions"}
        )
        terminated = set(result.details.get("terminated", []))
        targets = [s for s in _planned(plan.params.get("sessions"), which, max_count)
                   if s.pid in terminated]  # fmt: skip
        deadline = time.monotonic() + within_s
        waiting = set(result.details.get("waiting", []))
        try:
            alive = self.client.alive(targets)
            while alive and time.monotonic() < deadline:
                time.sleep(POLL_S)
                alive = self.client.alive(alive)
            stuck = self._still_waiting(waiting, deadline)
            still = self.client.sessions(which, limit=max_count + 1)
        except ActionError as exc:
            raise VerificationError(f"terminate_queries: cannot re-read sessions: {exc}") from exc
        detail = (
            f"{len(targets) - len(alive)} of {len(targets)} terminated session(s) gone"
            f"{'; still connected: ' + str([s.pid for s in alive]) if alive else ''}; "
            f"{len(waiting) - len(stuck)} of {len(waiting)} blocked session(s) moved on"
            f"{'; still waiting on a lock: ' + str(stuck) if stuck else ''}; "
            f"{len(still)} session(s) now match the request on {which.database}"
        )
        return VerificationResult(
            ok=bool(targets) and not alive and not stuck, detail=detail,
            data={"alive": [s.pid for s in alive], "matching_now": [s.pid for s in still],
                  "still_waiting": stuck},
        )  # fmt: skip

    def _still_waiting(self, waiting: set[int], deadline: float) -> list[int]:
        """Those of the WAITING pids still blocked on a lock once DEADLINE passes (or none is)."""
        stuck = sorted(waiting & set(self.client.blocked()))
        while stuck and time.monotonic() < deadline:
            time.sleep(POLL_S)
            stuck = sorted(set(stuck) & set(self.client.blocked()))
        return stuck

    def _validate(self, params: dict[str, Any]) -> tuple[SessionFilter, int, dict[str, Any]]:
        """The filter, the count limit and the normalized request; ActionRejected if not allowed."""
        reject_unknown_keys(self.name, params, _PARAMS)
        guard = self.client.guard
        state = params.get("state", "idle_in_transaction")
        if state not in _STATES:
            raise ActionRejected(f"terminate_queries: 'state' must be one of {sorted(_STATES)}")
        older = _number(params.get("older_than_s", guard.min_age_s), "older_than_s")
        if older < guard.min_age_s:
            raise ActionRejected(
                f"terminate_queries: older_than_s {older:g} is below the connection's "
                f"min_age_s {guard.min_age_s:g}"
            )
        roles = params.get("roles", list(guard.allowed_roles))
        if not isinstance(roles, list) or not roles or not set(roles) <= set(guard.allowed_roles):
            raise ActionRejected(
                f"terminate_queries: roles must be a non-empty subset of {guard.allowed_roles}"
            )
        max_count = params.get("max_count", guard.max_count)
        if (
            isinstance(max_count, bool)
            or not isinstance(max_count, int)
            or not (1 <= max_count <= guard.max_count)
        ):
            raise ActionRejected(f"terminate_queries: max_count must be 1..{guard.max_count}")
        database = params.get("database", self.client.database)
        if database != self.client.database:
            raise ActionRejected(
                f"terminate_queries: database {str(database)[:100]!r} is not the connection's "
                f"database {self.client.database!r}"
            )
        which = SessionFilter(
            database=database, roles=sorted(roles), states=_STATES[state], older_than_s=older
        )
        request = {"state": state, "older_than_s": older, "roles": sorted(roles),
                   "max_count": max_count, "database": database}  # fmt: skip
        return which, max_count, request

    def _clean(self, text: str) -> str:
        """Output made safe to store."""
        return clean_output(text, self.secrets, self.output_limit)


def _number(value: Any, name: str) -> float:
    """VALUE as a non-negative number; ActionRejected if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ActionRejected(f"terminate_queries: {name} must be a non-negative number")
    return float(value)


def _request_of(plan: ActionPlan) -> dict[str, Any]:
    """The plan's parameters without its list of sessions: the request to validate again."""
    return {key: value for key, value in plan.params.items() if key != "sessions"}


def _planned(raw: Any, which: SessionFilter, max_count: int) -> list[PgSession]:
    """The sessions a plan lists, as identities to re-check; ActionRejected if malformed."""
    if not isinstance(raw, list) or len(raw) > max_count:
        raise ActionRejected("terminate_queries: the plan's session list is missing or too long")
    try:
        return [_identity(item, which.database) for item in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise ActionRejected(
            f"terminate_queries: the plan's sessions are malformed: {exc}"
        ) from exc


def _identity(item: dict[str, Any], database: str) -> PgSession:
    """A session known only by pid and backend start (what termination re-checks)."""
    started = datetime.fromisoformat(item["backend_start"])
    return PgSession(int(item["pid"]), started, "", database, "", 0.0, "", "", 0)
