"""`oncall demo`: the whole agent on embedded defaults against a misbehaving local service."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from prefect.exceptions import NotPausedError
from prefect.flow_runs import aresume_flow_run

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.approvals import pending_approvals
from oncall_agent.demo import scenario
from oncall_agent.demo.service import SERVICE
from oncall_agent.models import RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.knowledge import seed_defaults
from oncall_agent.store.schema import upgrade

BLOCK = "demo"
APPROVAL_TIMEOUT_S = 20
DEMO_APPROVER = "demo-oncall"


@dataclass
class DemoReport:
    """What the demo did, for the printed table and the end-to-end test."""

    world: scenario.DemoWorld
    bursts: dict[str, int]
    summaries: list[dict[str, object]]
    second_run: list[dict[str, object]]
    approvals: list[str]
    health_before: int | None
    health_after: int | None
    archive_before: int
    archive_after: int
    timings: dict[str, float] = field(default_factory=dict)


def prepare_store() -> int:
    """Migrate the store and seed the knowledge base; return how many entries were added."""
    engine = get_engine()
    upgrade(engine)
    with session_scope(engine) as session:
        return seed_defaults(session)


async def save_demo_blocks(world: scenario.DemoWorld) -> None:
    """Save the demo's source, policy and action targets as Prefect blocks named 'demo'."""
    await LogFileSource(paths=[str(world.log_file)], service=SERVICE).asave(BLOCK, overwrite=True)
    # Short approval timeouts so the demo can show an expiry within a minute. The demo has no
    # approver channels, so it trusts its local engineer's name (never do this when shared).
    policy = PolicyConfig(
        approval_timeout_s=dict.fromkeys(RiskClass, APPROVAL_TIMEOUT_S),
        approval_poll_interval_s=1,
        trust_local_approver=True,
    )
    await ResolutionPolicy(policy=policy).asave(BLOCK, overwrite=True)
    targets = ActionTargets(
        executors=scenario.executor_config(world),
        service_vars={SERVICE: {"log_dir": str(world.archive)}},
    )
    await targets.asave(BLOCK, overwrite=True)


async def _detect() -> list[dict[str, object]]:
    """One detection run over the demo's blocks."""
    return await detect_incidents(sources=[BLOCK], policy_block=BLOCK, targets_block=BLOCK)


async def _resume(flow_run_id: str, run_input: dict[str, object]) -> None:
    """Resume a paused run, waiting for it to have reached its pause."""
    for _ in range(60):
        try:
            await aresume_flow_run(UUID(flow_run_id), run_input=run_input)
            return
        except NotPausedError:
            await asyncio.sleep(0.5)


async def demo_oncall_engineer(say: Callable[[str], None]) -> None:
    """Play the human: approve the report builder's memory fix, leave the other to expire."""
    seen: set[int] = set()
    while True:
        with session_scope(get_engine()) as session:
            waiting = [
                (row, get_incident(session, row.incident_id))
                for row in pending_approvals(session)
                if row.flow_run_id
            ]
        for row, incident in waiting:
            if row.id is None or row.id in seen:
                continue
            seen.add(row.id)
            say(
                f"approval #{row.id} waits: {row.action} {row.parameters} for incident "
                f"#{incident.id} ({incident.title}); answer with `oncall approve {row.id}` "
                "(the demo trusts local names; elsewhere add --code CODE from your channel)"
            )
            if "report" in " ".join(incident.samples or []):
                await asyncio.sleep(2)
                await _resume(
                    str(row.flow_run_id),
                    {"decision": "approve", "approver": DEMO_APPROVER, "comment": "go ahead"},
                )
                say(f"{DEMO_APPROVER} approved #{row.id}")
            else:
                say(f"nobody answers #{row.id}: it expires in {APPROVAL_TIMEOUT_S}s")
        await asyncio.sleep(0.5)


async def _detect_with_human(say: Callable[[str], None]) -> list[dict[str, object]]:
    """The first detection run, with the demo's on-call engineer answering approvals."""
    human = asyncio.create_task(demo_oncall_engineer(say))
    try:
        return await _detect()
    finally:
        human.cancel()


def run_demo(root: Path, fresh: bool = True, say: Callable[[str], None] = print) -> DemoReport:
    """Set up the demo world, let the service misbehave, and let the agent handle it."""
    started = time.monotonic()
    if fresh and root.exists():
        shutil.rmtree(root)
    world = scenario.prepare(root)
    prepare_store()
    scenario.start_service(world)
    try:
        archive_before = scenario.archive_bytes(world)
        bursts = scenario.misbehave(world)
        health_before = scenario.health_status(world)
        asyncio.run(save_demo_blocks(world))
        t0 = time.monotonic()
        approvals: list[str] = []

        def _say(line: str) -> None:
            approvals.append(line)
            say(line)

        summaries = asyncio.run(_detect_with_human(_say))
        t1 = time.monotonic()
        second = asyncio.run(_detect())
        return DemoReport(
            world=world,
            bursts=bursts,
            summaries=summaries,
            second_run=second,
            approvals=approvals,
            health_before=health_before,
            health_after=scenario.health_status(world),
            archive_before=archive_before,
            archive_after=scenario.archive_bytes(world),
            timings={"first_detection_s": t1 - t0, "total_s": time.monotonic() - started},
        )
    finally:
        scenario.stop_service(world)
