"""terminate_queries against the real PostgreSQL: a lock timeout is detected, its blocker ended."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from blocks.postgres import PostgresConnection
from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import ActionStatus
from oncall_agent.pipeline import scan_source
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import list_incidents
from oncall_agent.store.knowledge import seed_defaults
from tests.integration.postgres.helpers import ADMIN, PgTarget

pytestmark = pytest.mark.integration


def _connection(target: PgTarget, **guard: object) -> PostgresConnection:
    """The block a user would save: the test database, the app role allowed, short minimum age."""
    settings: dict[str, object] = {"allowed_roles": [target.app_role], "min_age_s": 0.1}
    return PostgresConnection(
        dsn=target.dsn(), password=target.admin_password, **(settings | guard)
    )


def _hold_lock(target: PgTarget, sessions: list, order_id: int) -> tuple[psycopg.Connection, int]:
    """An application session that updates a row and stays idle in its open transaction."""
    blocker = target.connect()
    sessions.append(blocker)
    blocker.execute("UPDATE orders SET status = 'held' WHERE id = %s", (order_id,))
    pid = blocker.execute("SELECT pg_backend_pid()").fetchone()[0]
    return blocker, pid


def _lock_timeout_line(target: PgTarget, sessions: list, order_id: int) -> str:
    """The error line the blocked application logs when its update hits lock_timeout."""
    blocked = target.connect()
    sessions.append(blocked)
    blocked.execute("SET lock_timeout = '300ms'")
    with pytest.raises(psycopg.errors.LockNotAvailable) as caught:
        blocked.execute("UPDATE orders SET status = 'paid' WHERE id = %s", (order_id,))
    blocked.rollback()
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
    reason = caught.value.diag.message_primary
    return f"{stamp} ERROR orders-api psycopg.errors.LockNotAvailable: {reason}\n"


def _alive(target: PgTarget, pid: int) -> bool:
    """Whether backend PID is still connected to the test database."""
    with target.connect(role=ADMIN["user"], autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
        return row.fetchone()[0] == 1


def test_a_lock_timeout_in_the_logs_ends_with_its_blocker_terminated_and_verified(
    engine: Engine, tmp_path: Path, pg_target: PgTarget, sessions: list
) -> None:
    """Detected from the blocked client's log line; dry run lists the blocker; the run ends it."""
    blocker, pid = _hold_lock(pg_target, sessions, order_id=1)
    log = tmp_path / "orders-api.log"
    log.write_text(_lock_timeout_line(pg_target, sessions, order_id=1))
    with session_scope(engine) as session:
        seed_defaults(session)
    scan_source(engine, FileSource([str(log)], service="orders-api"), "orders-log")
    with session_scope(engine) as session:
        (incident,) = list_incidents(session)
        incident_id = incident.id
    analysis = analyze_incident(engine, incident_id)
    clients = {"postgres": _connection(pg_target).build_client()}
    executor = build_executor("terminate_queries", ExecutorConfig(), clients=clients)
    dry = execute_action(engine, analysis, executor, dry_run=True)
    alive_after_dry_run = _alive(pg_target, pid)
    real = execute_action(engine, analysis, executor)
    assert analysis.entry_key == "pg-lock-timeout"
    assert dry.status is ActionStatus.DRY_RUN and f"pid {pid} " in dry.output
    assert alive_after_dry_run
    assert real.status is ActionStatus.SUCCEEDED and real.verified is True
    assert f"terminated pid(s) [{pid}]" in real.output
    assert not _alive(pg_target, pid)
    with pytest.raises(psycopg.OperationalError):
        blocker.execute("SELECT 1")
    with pg_target.connect(autocommit=True) as retry:
        retry.execute("SET lock_timeout = '300ms'")
        retry.execute("UPDATE orders SET status = 'paid' WHERE id = 1")  # the lock is free


def test_only_allow_listed_roles_are_listed(pg_target: PgTarget, sessions: list) -> None:
    """A superuser's session idle in transaction is never part of the plan."""
    _, app_pid = _hold_lock(pg_target, sessions, order_id=2)
    admin = pg_target.connect(role=ADMIN["user"])
    sessions.append(admin)
    admin.execute("UPDATE orders SET status = 'audit' WHERE id = 3")
    time.sleep(0.2)  # both are now idle in transaction for longer than min_age_s
    executor = build_executor(
        "terminate_queries",
        ExecutorConfig(),
        clients={"postgres": _connection(pg_target).build_client()},
    )
    plan = executor.plan({})
    assert [s["pid"] for s in plan.params["sessions"]] == [app_pid]


def test_more_sessions_than_max_count_are_refused_and_none_ended(
    pg_target: PgTarget, sessions: list
) -> None:
    """Three stuck sessions with max_count 2: the action is refused and all three stay."""
    pids = [_hold_lock(pg_target, sessions, order_id=n)[1] for n in (4, 5, 6)]
    time.sleep(0.2)
    client = _connection(pg_target, max_count=2).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    with pytest.raises(ActionRejected, match="more than 2 session"):
        executor.plan({})
    assert all(_alive(pg_target, pid) for pid in pids)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"older_than_s": 0.01}, "below the connection's min_age_s"),
        ({"roles": ["postgres"]}, "subset"),
        ({"max_count": 50}, "max_count must be"),
        ({"database": "postgres"}, "is not the connection's database"),
        ({"state": "idle"}, "'state' must be one of"),
        ({"pids": [1]}, "unknown parameter"),
    ],
)
def test_requests_wider_than_the_guard_are_refused(
    pg_target: PgTarget, params: dict, message: str
) -> None:
    """Each parameter outside the connection's guard is refused before anything is listed."""
    client = _connection(pg_target).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    with pytest.raises(ActionRejected, match=message):
        executor.plan(params)


def test_a_session_that_committed_after_the_plan_is_left_alone(
    pg_target: PgTarget, sessions: list
) -> None:
    """The run re-checks each planned session: one that committed meanwhile is not terminated."""
    blocker, pid = _hold_lock(pg_target, sessions, order_id=7)
    time.sleep(0.2)
    client = _connection(pg_target).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    plan = executor.plan({})
    blocker.commit()
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert result.details["terminated"] == [] and result.details["skipped"] == [pid]
    assert result.status is ActionStatus.NO_EFFECT  # nothing ended: never a success
    assert _alive(pg_target, pid)


def test_a_long_running_query_is_terminated_when_asked_for_active_sessions(
    pg_target: PgTarget, sessions: list
) -> None:
    """state=active ends a query that has run longer than older_than_s; verification agrees."""
    runner = pg_target.connect(autocommit=True)
    sessions.append(runner)
    pid = runner.execute("SELECT pg_backend_pid()").fetchone()[0]
    errors: list[BaseException] = []

    def long_query() -> None:
        try:
            runner.execute("SELECT pg_sleep(30)")
        except psycopg.Error as exc:
            errors.append(exc)

    thread = threading.Thread(target=long_query)
    thread.start()
    client = _connection(pg_target).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    plan = executor.plan({"state": "active"})
    for _ in range(50):  # wait until the query has run for longer than min_age_s
        if plan.params["sessions"]:
            break
        time.sleep(0.1)
        plan = executor.plan({"state": "active"})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    verification = executor.verify(plan, result, {"within_s": 5})
    thread.join(timeout=10)
    assert result.details["terminated"] == [pid]
    assert verification.ok, verification.detail
    assert errors and isinstance(errors[0], psycopg.OperationalError)


def test_nothing_to_terminate_is_no_effect(pg_target: PgTarget) -> None:
    """With no matching session the run is recorded no_effect, and verification cannot pass."""
    client = _connection(pg_target).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    plan = executor.plan({})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    assert plan.params["sessions"] == [] and result.status is ActionStatus.NO_EFFECT
    assert not executor.verify(plan, result, {"within_s": 0.5}).ok


def test_the_blocked_work_proceeds_once_its_blocker_is_terminated(
    pg_target: PgTarget, sessions: list
) -> None:
    """The session waiting on the blocker's lock is seen waiting, then seen moving on."""
    _, pid = _hold_lock(pg_target, sessions, order_id=9)
    waiter = pg_target.connect(autocommit=True)
    sessions.append(waiter)
    done = threading.Event()

    def blocked_update() -> None:
        waiter.execute("UPDATE orders SET status = 'paid' WHERE id = 9")
        done.set()

    thread = threading.Thread(target=blocked_update)
    thread.start()
    time.sleep(0.3)  # the blocker is idle past min_age_s and the waiter waits on its lock
    client = _connection(pg_target).build_client()
    executor = build_executor("terminate_queries", ExecutorConfig(), clients={"postgres": client})
    plan = executor.plan({})
    result = executor.run(plan, dry_run=False, timeout_s=10)
    verification = executor.verify(plan, result, {"within_s": 5})
    thread.join(timeout=10)
    assert result.status is ActionStatus.SUCCEEDED and result.details["terminated"] == [pid]
    assert len(result.details["waiting"]) == 1 and done.is_set()
    assert verification.ok and "1 of 1 blocked session(s) moved on" in verification.detail
