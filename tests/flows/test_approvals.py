"""Approvals on the Prefect harness: the run pauses, another process answers, guardrails hold."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.flow_runs import aresume_flow_run
from prefect.settings import PREFECT_API_URL
from sqlmodel import select

from blocks.actions import ActionTargets
from blocks.notifications import EmailChannel, WebhookChannel
from blocks.policy import ResolutionPolicy
from flows.resolution import resolve_incident
from oncall_agent.executors.config import ExecutorConfig, ServiceTarget
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, IncidentStatus, RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.schema import upgrade
from oncall_agent.store.tables import ActionRun, Approval, AuditEvent, NotificationRow
from tests.integration.notify_receivers import Inbox, Receiver
from tests.integration.test_resolution_steps import draft_for
from tests.unit.test_approval_form import rendered_text

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
    """Every markdown saved under the artifact KEY (other tests reuse incident ids), joined."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> str:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
        return "\n".join(str(a.data) for a in found)

    return asyncio.run(read())


def _actions(engine: Any) -> list[ActionRun]:
    with session_scope(engine) as session:
        return list(session.exec(select(ActionRun)).all())


def _code_from(text: str, approval_id: int) -> str:
    """The one-time code in a message the agent sent for APPROVAL_ID."""
    match = re.search(rf"code for approval #{approval_id}: ([A-Z0-9-]+)", text)
    assert match, text
    return match.group(1)


async def _paused_form(flow_run_id: str) -> tuple[dict[str, Any], str]:
    """The JSON schema and the description of the form the paused run shows in the UI."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.input.run_input import keyset_from_paused_state

    async with get_client() as client:
        for _ in range(60):
            run = await client.read_flow_run(UUID(flow_run_id))
            if run.state is not None and run.state.is_paused():
                break
            await asyncio.sleep(0.5)
        assert run.state is not None and run.state.is_paused()
        keys = keyset_from_paused_state(run.state)
        for attempt in range(40):  # the run may show Paused a moment before its form is stored
            try:
                schema = await client.read_flow_run_input(UUID(flow_run_id), keys["schema"])
                description = await client.read_flow_run_input(
                    UUID(flow_run_id), keys["description"]
                )
                break
            except (ObjectNotFound, PrefectHTTPStatusError):
                if attempt == 39:
                    raise
                await asyncio.sleep(0.5)
    return json.loads(schema), json.loads(description)


@pytest.mark.slow
def test_codes_reach_each_approver_and_the_cli_approves_with_one(world: dict[str, Any]) -> None:
    """Alice gets her code by email, bob by webhook; a wrong code is refused, alice's approves.

    The answer comes from another process (`oncall approve --code`), narrows older_than_s (typed
    from text), and the form the UI shows has a required decision and the incident's details.
    """
    WORLD.update(world)
    seen: dict[str, Any] = {}
    receiver = Receiver().start()
    with Inbox() as inbox:

        async def scenario() -> None:
            await EmailChannel(
                host="127.0.0.1", port=inbox.port, security="plain",
                from_address="oncall@example.org", to=["alice@example.org"],
            ).asave("alice", overwrite=True)  # fmt: skip
            await WebhookChannel(url=receiver.url()).asave("bob", overwrite=True)
            policy = PolicyConfig(
                approval_poll_interval_s=1,
                approver_channels={"alice": "email/alice", "bob": "webhook/bob"},
            )
            await _save_blocks(world["logs"], policy)

            async def human() -> None:
                row = await _pending_approval(world["engine"])
                assert row.id is not None and row.flow_run_id
                seen["form"] = await _paused_form(row.flow_run_id)
                email = inbox.messages[0][1].get_payload(decode=True).decode()
                alice = _code_from(email, row.id)
                bob = _code_from(receiver.posts[0].json()["body"], row.id)
                assert alice != bob
                seen["wrong"] = await _cli("approve", str(row.id), "--code", bob, "--as", "alice")
                await asyncio.sleep(1.5)  # the run pauses again for a second answer
                seen["right"] = await _cli(
                    "approve", str(row.id), "--code", alice, "--param", "older_than_s=7200"
                )

            await _resolve_while(human)

        asyncio.run(scenario())
    receiver.stop()
    code, out = seen["wrong"]
    assert code == 1 and "not the one sent to 'alice'" in out and "still waits" in out, out
    code, out = seen["right"]
    assert code == 0 and "accepted from alice" in out, out
    assert list(world["logs"].iterdir()) == []
    [run] = _actions(world["engine"])
    assert run.triggered_by == "alice" and run.verified and run.parameters["older_than_s"] == 7200
    with session_scope(world["engine"]) as session:
        assert get_incident(session, world["incident"]).status == IncidentStatus.RESOLVED
        approval = session.exec(select(Approval)).one()
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert approval.status == "approved" and approval.decided_by == "alice"
    assert approval.approved_parameters == {**(approval.parameters or {}), "older_than_s": 7200}
    assert kinds.count("approval_code_sent") == 2 and "approval_refused" in kinds
    schema, description = seen["form"]
    assert "decision" in schema["required"] and "default" not in schema["properties"]["decision"]
    assert schema["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert "code" in schema["properties"]
    shown = rendered_text(description)
    for text in ("Spool folder full", "spool01", "cleanup_files on", "Why the policy asks"):
        assert text in shown, shown


@pytest.mark.parametrize(
    ("run_input", "policy", "why"),
    [
        ({"decision": "reject", "approver": "bob", "comment": "not now"}, {}, "'reject'"),
        (None, {}, "'reject'"),
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
        trusting = PolicyConfig(approval_poll_interval_s=1, trust_local_approver=True, **policy)
        await _save_blocks(world["logs"], trusting)

        async def human() -> None:
            row = await _pending_approval(world["engine"])
            if run_input is None:  # Prefect refuses it (decision is required); the run waits
                with pytest.raises(RuntimeError, match="'decision' is a required property"):
                    await aresume_flow_run(UUID(str(row.flow_run_id)), run_input={})
                answer = {"decision": "reject", "approver": "bob", "comment": "empty answer"}
            await aresume_flow_run(UUID(str(row.flow_run_id)), run_input=run_input or answer)

        await _resolve_while(human)

    asyncio.run(scenario())
    assert len(list(world["logs"].iterdir())) == 3
    assert _actions(world["engine"]) == []
    with session_scope(world["engine"]) as session:
        incident = get_incident(session, world["incident"])
        assert incident.status == IncidentStatus.ESCALATED
    assert why in _outbox()


def test_unanswered_approval_expires_and_escalates(world: dict[str, Any]) -> None:
    """Nobody answers: the approval expires, the incident escalates, nothing runs, and the run
    ends Completed (an expiry handled as designed is not a failure) with its step report."""
    WORLD.update(world)
    states: list[Any] = []

    async def scenario() -> None:
        await _save_blocks(
            world["logs"],
            PolicyConfig(
                approval_poll_interval_s=1,
                approval_timeout_s={RiskClass.LOW: 3},
                trust_local_approver=True,
            ),
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


def _outbox() -> str:
    """What the console channel wrote to the outbox file."""
    return (Path(os.environ["ONCALL_DATA_DIR"]) / "outbox.jsonl").read_text()


def test_a_target_outside_the_allow_lists_escalates_without_asking(data_dir: Path) -> None:
    """Why-3: an approve-mode entry restarting `redis`, which ActionTargets lacks, asks nobody.

    The incident escalates with the executor's refusal in the notification; no approval waits.
    """
    engine = get_engine()
    upgrade(engine)
    with session_scope(engine) as session:
        add_entry(
            session,
            KnowledgeEntrySpec(
                key="redis-down",
                title="Redis refuses connections",
                patterns=[r"redis connection refused"],
                categories=["dependency"],
                solution="Restart redis",
                action=ActionSpec(name="restart_service", params={"service": "redis"}),
                risk=RiskClass.MEDIUM,
                autonomy=AutonomyMode.APPROVE,
            ),
        )
        incident_id = open_or_update_incident(
            session, draft_for("ERROR redis connection refused", "dependency"), reopen_window_s=60
        ).incident_id

    async def scenario() -> dict[str, object]:
        await ResolutionPolicy(policy=PolicyConfig(trust_local_approver=True)).asave(
            "why3", overwrite=True
        )
        web = ServiceTarget(backend="systemctl", unit="web")
        await ActionTargets(executors=ExecutorConfig(services={"web": web})).asave(
            "why3", overwrite=True
        )
        return await resolve_incident(incident_id, policy_block="why3", targets_block="why3")

    summary = asyncio.run(scenario())
    assert summary["outcome"] == IncidentStatus.ESCALATED
    with session_scope(engine) as session:
        assert session.exec(select(Approval)).all() == []
        incident = get_incident(session, incident_id)
    assert incident.status == IncidentStatus.ESCALATED and incident.decision == "escalate"
    assert "allow-lists refuse 'restart_service'" in _outbox() and "redis" in _outbox()


def test_a_crash_after_approval_escalates_and_leaves_nothing_pending(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action step crashing after an approval escalates the incident and notifies people."""
    import flows.resolution

    WORLD.update(world)

    async def crashing_act(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker lost its connection")

    monkeypatch.setattr(flows.resolution, "act", crashing_act)

    async def scenario() -> None:
        policy = PolicyConfig(approval_poll_interval_s=1, trust_local_approver=True)
        await _save_blocks(world["logs"], policy)

        async def human() -> None:
            row = await _pending_approval(world["engine"])
            run_input = {"decision": "approve", "approver": "alice"}
            await aresume_flow_run(UUID(str(row.flow_run_id)), run_input=run_input)

        await _resolve_while(human)

    asyncio.run(scenario())
    assert len(list(world["logs"].iterdir())) == 3
    with session_scope(world["engine"]) as session:
        assert get_incident(session, world["incident"]).status == IncidentStatus.ESCALATED
        assert session.exec(select(Approval).where(Approval.status == "pending")).all() == []
    assert "worker lost its connection" in _outbox()


def test_no_reachable_approver_escalates_at_once(world: dict[str, Any]) -> None:
    """When no approver's channel takes the code, nobody is asked to wait: it escalates now."""
    WORLD.update(world)
    receiver = Receiver().start()
    receiver.answer(400, "no such hook")

    async def scenario() -> None:
        await WebhookChannel(url=receiver.url()).asave("alice", overwrite=True)
        policy = PolicyConfig(
            approval_poll_interval_s=1, approver_channels={"alice": "webhook/alice"}
        )
        await _save_blocks(world["logs"], policy)
        await resolve_incident(
            world["incident"], policy_block="approvals", targets_block="approvals"
        )

    asyncio.run(scenario())
    receiver.stop()
    with session_scope(world["engine"]) as session:
        assert session.exec(select(Approval)).one().status == "failed"
        assert get_incident(session, world["incident"]).status == IncidentStatus.ESCALATED
        kinds = [e.kind for e in session.exec(select(AuditEvent)).all()]
    assert "approval_code_not_sent" in kinds
    assert "no approver could be sent a one-time code" in _outbox()


def test_a_cancelled_run_escalates_and_closes_its_approval(world: dict[str, Any]) -> None:
    """Cancelling the paused run closes the request as failed and escalates before it stops."""
    WORLD.update(world)

    async def scenario() -> None:
        policy = PolicyConfig(approval_poll_interval_s=1, trust_local_approver=True)
        await _save_blocks(world["logs"], policy)
        run = asyncio.create_task(
            resolve_incident(world["incident"], policy_block="approvals", targets_block="approvals")
        )
        await _pending_approval(world["engine"])
        run.cancel()
        with pytest.raises(BaseException):  # noqa: B017  # the run ends cancelled or crashed
            await run

    asyncio.run(scenario())
    assert _actions(world["engine"]) == []
    with session_scope(world["engine"]) as session:
        assert session.exec(select(Approval)).one().status == "failed"
        assert get_incident(session, world["incident"]).status == IncidentStatus.ESCALATED
        owed = session.exec(select(NotificationRow).where(NotificationRow.kind == "escalation"))
        bodies = [row.body for row in owed]  # stored in the outbox; the next run delivers it
    assert any("the approval path failed (CancelledError" in body for body in bodies), bodies
