"""Time from a person's approval to the action starting, for several pause poll intervals.

Run: .venv/bin/python bench/approval.py [--polls 1,2,5] [--repeat 3]
Uses a local ephemeral Prefect API and a scratch SQLite store; prints one row per poll interval.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _setup(root: Path, run: int) -> int:
    """A fresh store with one approve-mode entry and one incident for it; returns its id."""
    from oncall_agent.knowledge.spec import KnowledgeEntrySpec
    from oncall_agent.models import ActionSpec, AutonomyMode, IncidentDraft, RiskClass, Severity
    from oncall_agent.store.engine import get_engine, session_scope
    from oncall_agent.store.incidents import open_or_update_incident
    from oncall_agent.store.knowledge import add_entry, get_entry
    from oncall_agent.store.schema import upgrade

    upgrade(get_engine())
    now = datetime.now(UTC)
    with session_scope(get_engine()) as session:
        if get_entry(session, "bench-approve") is None:
            add_entry(
                session,
                KnowledgeEntrySpec(
                    key="bench-approve",
                    title="Spool full",
                    patterns=[r"spool is full"],
                    categories=["disk"],
                    solution="Delete old spool files",
                    action=ActionSpec(
                        name="cleanup_files", params={"root": str(root), "pattern": "*.old"}
                    ),
                    risk=RiskClass.LOW,
                    autonomy=AutonomyMode.APPROVE,
                ),
            )
        draft = IncidentDraft(
            fingerprint=f"bench-{run}",
            title="spool is full",
            service="api",
            severity=Severity.ERROR,
            category="disk",
            template="spool is full",
            source="bench",
            first_seen=now,
            last_seen=now,
            count=1,
            samples=["ERROR spool is full"],
        )
        return open_or_update_incident(session, draft, reopen_window_s=1).incident_id


async def _one(root: Path, run: int, poll_s: int) -> float:
    """Seconds from the resume call to the action's reservation, for one approval."""
    from prefect.flow_runs import aresume_flow_run
    from sqlmodel import select

    from blocks.actions import ActionTargets
    from blocks.policy import ResolutionPolicy
    from flows.resolution import resolve_incident
    from oncall_agent.approvals import pending_approvals
    from oncall_agent.executors.config import ExecutorConfig
    from oncall_agent.policy import PolicyConfig
    from oncall_agent.store.engine import get_engine, session_scope
    from oncall_agent.store.tables import AuditEvent

    incident_id = _setup(root, run)
    # Trust mode: the bench times resume-to-action, not code delivery (no approver channels here).
    policy = PolicyConfig(approval_poll_interval_s=poll_s, trust_local_approver=True)
    await ResolutionPolicy(policy=policy).asave("bench-approval", overwrite=True)
    await ActionTargets(executors=ExecutorConfig(cleanup_roots=[root])).asave(
        "bench-approval", overwrite=True
    )
    task = asyncio.create_task(
        resolve_incident(
            incident_id,
            policy_block="bench-approval",
            targets_block="bench-approval",
            return_state=True,
        )
    )
    while True:
        with session_scope(get_engine()) as session:
            waiting = [a for a in pending_approvals(session) if a.incident_id == incident_id]
        if waiting and waiting[0].flow_run_id:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(poll_s + 1.0)  # let the run reach its pause and start polling
    from uuid import UUID

    resumed = datetime.now(UTC)
    await aresume_flow_run(
        UUID(waiting[0].flow_run_id or ""), run_input={"decision": "approve", "approver": "bench"}
    )
    await task
    with session_scope(get_engine()) as session:
        started = session.exec(
            select(AuditEvent.at).where(
                AuditEvent.incident_id == incident_id, AuditEvent.kind == "action_reserved"
            )
        ).one()
    return (started - resumed).total_seconds()


async def _all(polls: list[int], repeat: int, root: Path) -> dict[int, list[float]]:
    """Every measurement, by poll interval."""
    results: dict[int, list[float]] = {}
    run = 0
    for poll in polls:
        for _ in range(repeat):
            run += 1
            results.setdefault(poll, []).append(await _one(root, run, poll))
    return results


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", default="1,2,5", help="pause poll intervals in seconds")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ONCALL_DATA_DIR"] = tmp
        os.environ.pop("DATABASE_URL", None)
        started = time.monotonic()
        results = asyncio.run(_all([int(p) for p in args.polls.split(",")], args.repeat, Path(tmp)))
    print(
        f"\napproval -> action start (s), {args.repeat} runs each, "
        f"{time.monotonic() - started:.0f}s in all"
    )
    print(f"{'poll s':>6} {'median':>8} {'max':>8} {'median/poll':>12}")
    for poll, values in results.items():
        med = statistics.median(values)
        print(f"{poll:>6} {med:>8.2f} {max(values):>8.2f} {med / poll:>12.2f}")


if __name__ == "__main__":
    main()
