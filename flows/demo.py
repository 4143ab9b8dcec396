"""`oncall demo`: the whole agent on embedded defaults against a misbehaving local service."""

from __future__ import annotations

import asyncio
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from blocks.actions import ActionTargets
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource
from flows.detection import detect_incidents
from oncall_agent.demo import scenario
from oncall_agent.demo.service import SERVICE
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.knowledge import seed_defaults
from oncall_agent.store.schema import upgrade

BLOCK = "demo"


@dataclass
class DemoReport:
    """What the demo did, for the printed table and the end-to-end test."""

    world: scenario.DemoWorld
    bursts: dict[str, int]
    summaries: list[dict[str, object]]
    second_run: list[dict[str, object]]
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
    await ResolutionPolicy().asave(BLOCK, overwrite=True)
    targets = ActionTargets(
        executors=scenario.executor_config(world),
        service_vars={SERVICE: {"log_dir": str(world.archive)}},
    )
    await targets.asave(BLOCK, overwrite=True)


async def _detect() -> list[dict[str, object]]:
    """One detection run over the demo's blocks."""
    return await detect_incidents(sources=[BLOCK], policy_block=BLOCK, targets_block=BLOCK)


def run_demo(root: Path, fresh: bool = True) -> DemoReport:
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
        summaries = asyncio.run(_detect())
        t1 = time.monotonic()
        second = asyncio.run(_detect())
        return DemoReport(
            world=world, bursts=bursts, summaries=summaries, second_run=second,
            health_before=health_before, health_after=scenario.health_status(world),
            archive_before=archive_before, archive_after=scenario.archive_bytes(world),
            timings={"first_detection_s": t1 - t0, "total_s": time.monotonic() - started},
        )
    finally:
        scenario.stop_service(world)
