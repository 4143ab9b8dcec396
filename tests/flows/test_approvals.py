"""Approvals on the Prefect harness: the run pauses, another process answers, guardrails hold."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from prefect.flow_runs import aresume_flow_run
from prefect.settings import PREFECT_API_URL
from sqlmodel import select

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from flows.resolution import resolve_incident
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, IncidentStatus, RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import ActionRun, Approval, AuditEvent
from tests.integration.test_resolution_steps import draft_for

OLD = time.time() - 7 * 86400


@pytest.fixture
def world(data_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """A store with one 'approve'-mode entry, an incident for it, and a folder of old files."""
    logs = tmp_path / "spool"
    logs.mkdir()
    for i in range(3):
        path = logs / f"old{i}.log"
        path.write_text("x")
        os.utime(path, (OLD, OLD))
    engine = get_engine()
    upgrade(engine)
    with session_scope(engine) as session:
        add_entry(
            session,
            KnowledgeEntrySpec(
                key="spool-full",
                title="Spool folder full",
                patterns=[r"spool is full"],
                categories=["disk"],
                solution="Delete old spool files",
                action=ActionSpec(
                    name="cleanup_files",
                    params={"root": str(logs), "pattern": "*.log", "older_than_s": 3600},
                ),
                risk=RiskClass.LOW,
                autonomy=AutonomyMode.APPROVE,
            ),
        )
        incident_id = open_or_update_incident(
            session, draft_for("ERROR spool is full on spool01", "disk"), reopen_window_s=60
        ).incident_id
    return {"logs": logs, "incident": incident_id, "engine": engine}


async def _save_blocks(logs: Path, policy: PolicyConfig) -> None:
    """Blocks named 'approvals' for the policy and the allow-listed folder."""
    await ResolutionPolicy(policy=policy).asave("approvals", overwrite=True)
    await ActionTargets(executors=ExecutorConfig(cleanup_roots=[logs])).asave(
        "approvals", overwrite=True
    )


async def _pending_approval(engine: Any, timeout_s: float = 60) -> Approval:
    """Wait until the flow has stored its approval request and paused."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            row = session.exec(select(Approval).where(Approval.status == "pending")).first()
        if row is not None and row.flow_run_id:
            await asyncio.sleep(1.5)  # give the run time to reach its paused state
            return row
        await asyncio.sleep(0.3)
    raise AssertionError("the flow never asked for approval")


async def _cli(*args: str) -> tuple[int, str]:
    """Run the `oncall` CLI in another process against the harness's API."""
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "flows.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def _resolve_while(answer: Any) -> dict[str, object]:
    """Run the resolution and, concurrently, the human's answer."""
    run = asyncio.create_task(
        resolve_incident(
            WORLD["incident"],
            policy_block="approvals",
            targets_block="approvals",
            return_state=True,
        )
    )
    await answer()
    state = await run
    return state  # type: ignore[no-any-return]


WORLD: dict[str, Any] = {}


def _artifact(key: str) -> str:
    """The newest markdown of the artifact KEY."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
        return str(found[-1].data) if found else ""

    return asyncio.run(read())


def _actions(engine: Any) -> list[ActionRun]:
    with session_scope(engine) as session:
        return list(session.exec(select(ActionRun)).all())


def test_cli_approval_from_another_process_runs_the_action(world: dict[str, Any]) -> None:
    """`oncall approve` from a separate process resumes the run, which then deletes the files."""
    WORLD.update(world)

    async def scenario() -> None:
        await _save_blocks(world["logs"], PolicyConfig(approval_poll_interval_s=1))

        async def human() -> None:
            row = await _pending_approval(world["engine"])
            code, out = await _cli("approve", str(row.id), "--as", "alice", "--comment", "ok")
            assert code == 0, out

        await _resolve_while(human)

    asyncio.run(scenario())
    assert list(world["logs"].iterdir()) == []
    [run] = _actions(world["engine"])
    assert run.triggered_by == "alice" and run.verified
    with session_scope(world["engine"]) as session:
        assert get_incident(session, world["incident"]).status == IncidentStatus.RESOLVED
        approval = session.exec(select(Approval)).one()
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert approval.status == "approved" and approval.decided_by == "alice"
    assert approval.approved_hash == approval.params_hash
    assert "approval_granted" in kinds


@pytest.mark.parametrize(
    ("run_input", "policy", "why"),
    [
        ({"decision": "reject", "approver": "bob", "comment": "not now"}, {}, "'reject'"),
        (None, {}, "not an explicit 'approve'"),
        (
            {"decision": "approve", "approver": "mallory"},
            {"approvers": {"low": ["bob"]}},
            "may not approve",
        ),
    ],
    ids=["rejected", "resumed-without-input", "approver-not-allowed"],
)
def test_refused_answers_escalate_and_run_nothing(
    world: dict[str, Any], run_input: dict[str, Any] | None, policy: dict[str, Any], why: str
) -> None:
    """A rejection, an empty resume, or a disallowed approver: nothing runs; it escalates."""
    WORLD.update(world)

    async def scenario() -> None:
        await _save_blocks(world["logs"], PolicyConfig(approval_poll_interval_s=1, **policy))

        async def human() -> None:
            row = await _pending_approval(world["engine"])
            from uuid import UUID

            await aresume_flow_run(UUID(row.flow_run_id), run_input=run_input)

        await _resolve_while(human)

    asyncio.run(scenario())
    assert len(list(world["logs"].iterdir())) == 3
    assert _actions(world["engine"]) == []
    with session_scope(world["engine"]) as session:
        incident = get_incident(session, world["incident"])
        assert incident.status == IncidentStatus.ESCALATED
    text = (Path(os.environ["ONCALL_DATA_DIR"]) / "outbox.jsonl").read_text()
    assert why in text


def test_unanswered_approval_expires_and_escalates(world: dict[str, Any]) -> None:
    """Nobody answers: the approval expires, the incident escalates, nothing runs, and the run
    ends Completed (an expiry handled as designed is not a failure) with its step report."""
    WORLD.update(world)
    states: list[Any] = []

    async def scenario() -> None:
        await _save_blocks(
            world["logs"],
            PolicyConfig(approval_poll_interval_s=1, approval_timeout_s={RiskClass.LOW: 3}),
        )

        async def nobody() -> None:
            return None

        states.append(await _resolve_while(nobody))

    asyncio.run(scenario())
    assert states[0].is_completed(), states[0]
    report = _artifact(f"resolution-{world['incident']}")
    assert "| decide |" in report and "escalated" in report
    assert _actions(world["engine"]) == []
    with session_scope(world["engine"]) as session:
        assert session.exec(select(Approval)).one().status == "expired"
        assert get_incident(session, world["incident"]).status == IncidentStatus.ESCALATED
