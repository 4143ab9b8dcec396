"""One benchmark measurement in its own process: the agent's detection run, or a bare fan-out.

Run by bench/resolve.py as `python bench/_workloads.py {agent|bare} N --concurrency C --workdir D`
with PREFECT_API_URL pointing at a running server. Prints one line `BENCH_RESULT {json}` last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from _logs import SERVICE, write_log  # noqa: E402
from _profile import CpuMeter, flow_run_profile, time_block_loads, time_core  # noqa: E402
from prefect import flow  # noqa: E402
from prefect.client.schemas.objects import State  # noqa: E402

BLOCK = "bench"
RESULT_PREFIX = "BENCH_RESULT "
_RETRY = re.compile(r"retryable (?:status code (\d+)|exception)")


class RetryCounter(logging.Filter):
    """Counts the API client's retries (logged at DEBUG) without printing its other DEBUG lines."""

    def __init__(self, quiet_below: int) -> None:
        super().__init__()
        self.quiet_below = quiet_below
        self.counts: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Count a retry record; pass on only what the configured level would have shown."""
        match = _RETRY.search(record.getMessage())
        if match:
            key = match.group(1) or "exception"
            self.counts[key] = self.counts.get(key, 0) + 1
        return record.levelno >= self.quiet_below


def count_retries() -> RetryCounter:
    """Turn on retry counting on Prefect's client logger (after Prefect set up logging)."""
    logger = logging.getLogger("prefect.client")
    counter = RetryCounter(logger.getEffectiveLevel())
    logger.addFilter(counter)
    logger.setLevel(logging.DEBUG)
    return counter


@flow(name="bench-warmup")
async def warmup() -> None:
    """A trivial flow run, so neither workload pays the process's first-run costs in its timing."""


@flow(name="bench-bare-child", flow_run_name="bench-bare-child-{i}")
async def bare_child(i: int) -> int:
    """The bare unit of work: an async subflow that does nothing."""
    return i


@flow(name="bench-bare-parent")
async def bare_parent(n: int, limit: int) -> list[int]:
    """N trivial async subflows, at most LIMIT at a time (as the detection flow fans out)."""
    gate = asyncio.Semaphore(max(1, limit))

    async def one(i: int) -> int:
        async with gate:
            return await bare_child(i)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def _as_state(call: object) -> Awaitable[State[Any]]:
    """An async flow called with return_state=True (Prefect's hints promise its plain result)."""
    return cast("Awaitable[State[Any]]", call)


def _run_id(state: State[Any]) -> UUID:
    """The flow run a final state belongs to."""
    run_id = state.state_details.flow_run_id
    if run_id is None:
        raise RuntimeError("the flow's final state names no flow run")
    return run_id


@dataclass(frozen=True)
class Job:
    """One measurement: how many incidents, how many at a time, where, and what else to record."""

    n: int
    limit: int
    workdir: Path
    profile: bool
    server_pgid: int | None


async def run_bare(job: Job) -> dict[str, Any]:
    """Time the bare fan-out of N subflows."""
    await warmup()
    retries = count_retries()
    with CpuMeter(job.server_pgid) as cpu:
        state = await _as_state(bare_parent(job.n, job.limit, return_state=True))
    done = len(await state.result())
    result: dict[str, Any] = {
        "total_s": cpu.result["wall_s"],
        "done": done,
        "retries": retries.counts,
        "cpu": cpu.result,
    }
    if job.profile:
        result["profile"] = await flow_run_profile(_run_id(state))
    return result


def prepare_store(workdir: Path, n: int) -> Path:
    """Migrate and seed a fresh store under ONCALL_DATA_DIR; write the N-incident log."""
    from oncall_agent.store.engine import get_engine, session_scope
    from oncall_agent.store.knowledge import seed_defaults
    from oncall_agent.store.schema import upgrade

    engine = get_engine()
    upgrade(engine)
    with session_scope(engine) as session:
        seed_defaults(session)
    return write_log(workdir / "logs" / "bench.log", n)


async def save_blocks(log: Path) -> None:
    """Source, policy and (empty: nothing allow-listed) action targets, saved as 'bench'."""
    from blocks import ActionTargets, LogFileSource, ResolutionPolicy

    await LogFileSource(paths=[str(log)], service=SERVICE).asave(BLOCK, overwrite=True)
    await ResolutionPolicy().asave(BLOCK, overwrite=True)
    await ActionTargets().asave(BLOCK, overwrite=True)


def decisions(started: datetime) -> dict[str, Any]:
    """How many incidents the store holds, how many have a decision, and when the last came."""
    from sqlmodel import select

    from oncall_agent.store.engine import get_engine, session_scope
    from oncall_agent.store.tables import AuditEvent, Incident

    with session_scope(get_engine()) as session:
        incidents = session.exec(select(Incident)).all()
        query = select(AuditEvent).where(AuditEvent.kind == "decision")
        stamps = [event.at for event in session.exec(query)]
    kinds: dict[str, int] = {}
    for inc in incidents:
        kinds[str(inc.decision)] = kinds.get(str(inc.decision), 0) + 1
    return {
        "incidents": len(incidents),
        "decided": sum(1 for inc in incidents if inc.decision),
        "decisions": kinds,
        "last_decision_s": (max(stamps) - started).total_seconds() if stamps else None,
    }


async def run_agent(job: Job) -> dict[str, Any]:
    """Time one detection run over N new distinct incidents, until every decision is recorded."""
    from flows.detection import detect_incidents

    log = prepare_store(job.workdir, job.n)
    await save_blocks(log)
    await warmup()
    retries = count_retries()
    wall_start = datetime.now(UTC)
    with CpuMeter(job.server_pgid) as cpu:
        state = await _as_state(
            detect_incidents(
                sources=[BLOCK],
                policy_block=BLOCK,
                targets_block=BLOCK,
                max_concurrent_resolutions=job.limit,
                dry_run=True,
                return_state=True,
            )
        )
    summaries = await state.result()
    result: dict[str, Any] = {
        "total_s": cpu.result["wall_s"],
        "summaries": len(summaries),
        "retries": retries.counts,
        "cpu": cpu.result,
        **decisions(wall_start),
    }
    result["done"] = result["decided"] if result["incidents"] == job.n else 0
    if job.profile:
        result["profile"] = {
            **await flow_run_profile(_run_id(state)),
            "block_load_ms": await time_block_loads(BLOCK),
            "core": safe_time_core(job.workdir / "core", job.n),
        }
    return result


def safe_time_core(workdir: Path, n: int) -> dict[str, Any]:
    """The core-only timing, or why it could not run (the core's API may have moved on)."""
    try:
        return time_core(workdir, n)
    except Exception as exc:  # a profile detail must never sink the measurement itself
        return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> None:
    """Parse the arguments, run one workload, print its result as the last line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=("agent", "bare"))
    parser.add_argument("n", type=int)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--server-pgid", type=int, default=None, help="to measure its CPU time")
    args = parser.parse_args()
    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit("PREFECT_API_URL is not set: run this through bench/resolve.py")
    job = Job(args.n, args.concurrency, args.workdir, args.profile, args.server_pgid)
    result = asyncio.run(run_agent(job) if args.workload == "agent" else run_bare(job))
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
