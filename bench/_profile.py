"""Where the time of a measured run goes: Prefect's own records, block loads, and the core alone.

- flow_run_profile: from the API, each subflow's life (created -> end) and running time, and the
  mean duration of each task, so "outside tasks" (flow orchestration, block loads) shows.
- time_block_loads: what loading the policy and targets blocks costs, per load.
- time_core: the same work as one resolution subflow, straight on the core (no Prefect at all).
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import mean
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterParentFlowRunId,
)

PAGE = 200
LOAD_REPEATS = 10


async def _all_pages(read: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Every row a paged read_* call returns."""
    rows: list[Any] = []
    while True:
        page = await read(limit=PAGE, offset=len(rows), **kwargs)
        rows.extend(page)
        if len(page) < PAGE:
            return rows


def _seconds(start: Any, end: Any) -> float | None:
    """END - START in seconds, or None if either is missing."""
    return (end - start).total_seconds() if start and end else None


def _ms(values: list[float | None]) -> float | None:
    """The mean of VALUES in milliseconds, ignoring missing ones."""
    present = [v for v in values if v is not None]
    return round(mean(present) * 1000, 1) if present else None


async def _task_runs(client: Any, run_ids: list[UUID], expected_min: int) -> list[Any]:
    """The task runs of RUN_IDS; they are recorded from events, so wait until the count settles."""
    flt = FlowRunFilter(id=FlowRunFilterId(any_=run_ids))
    runs: list[Any] = []
    for _ in range(40):
        latest = await _all_pages(client.read_task_runs, flow_run_filter=flt)
        settled = len(latest) == len(runs) and len(latest) >= expected_min
        runs = latest
        if settled:
            break
        await asyncio.sleep(0.5)
    return runs


async def flow_run_profile(parent_id: UUID) -> dict[str, Any]:
    """Mean subflow life and running time, and mean time per task name, for one parent run."""
    async with get_client() as client:
        parent = await client.read_flow_run(parent_id)
        subs = await _all_pages(
            client.read_flow_runs,
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_id])
            ),
        )
        tasks = await _task_runs(client, [s.id for s in subs], expected_min=len(subs))
    by_name: dict[str, list[float | None]] = defaultdict(list)
    per_sub: dict[UUID, float] = defaultdict(float)
    for t in tasks:
        secs = _seconds(t.start_time, t.end_time)
        by_name[t.name.rsplit("-", 1)[0]].append(secs)
        per_sub[t.flow_run_id] += secs or 0.0
    running = [_seconds(s.start_time, s.end_time) for s in subs]
    return {
        "parent_s": _seconds(parent.start_time, parent.end_time),
        "subflows": len(subs),
        "subflow_life_ms": _ms([_seconds(s.created, s.end_time) for s in subs]),
        "subflow_running_ms": _ms(running),
        "subflow_tasks_ms": _ms([per_sub.get(s.id, 0.0) for s in subs]),
        "tasks_per_subflow": round(len(tasks) / len(subs), 2) if subs else 0,
        "task_ms": {name: _ms(v) for name, v in sorted(by_name.items())},
    }


async def time_block_loads(name: str) -> dict[str, float]:
    """Mean milliseconds to load the policy block and the targets block NAME."""
    from blocks import ActionTargets, ResolutionPolicy

    out: dict[str, float] = {}
    for cls in (ResolutionPolicy, ActionTargets):
        started = time.perf_counter()
        for _ in range(LOAD_REPEATS):
            await cls.aload(name)
        out[cls.__name__] = round((time.perf_counter() - started) / LOAD_REPEATS * 1000, 1)
    return out


@contextmanager
def _clocked(clock: dict[str, list[float]], step: str) -> Iterator[None]:
    """Add the duration of the block to CLOCK[STEP]."""
    started = time.perf_counter()
    yield
    clock[step].append(time.perf_counter() - started)


def time_core(workdir: Path, n: int) -> dict[str, Any]:
    """One resolution's steps per incident, in turn, on a fresh SQLite store, without Prefect."""
    from _logs import SERVICE, write_log

    from oncall_agent.executors.config import ExecutorConfig
    from oncall_agent.executors.registry import configured_actions
    from oncall_agent.notify.console import ConsoleOutboxNotifier
    from oncall_agent.pipeline import scan_source
    from oncall_agent.policy import PolicyConfig
    from oncall_agent.resolution.analysis import analyze_incident
    from oncall_agent.resolution.decision import decide_incident
    from oncall_agent.resolution.recording import escalate_incident, incident_summary
    from oncall_agent.sources.files import FileSource
    from oncall_agent.store.engine import make_engine, session_scope
    from oncall_agent.store.incidents import claim_for_resolution, pending_resolution
    from oncall_agent.store.knowledge import seed_defaults
    from oncall_agent.store.schema import upgrade

    workdir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{(workdir / 'core.db').as_posix()}")
    upgrade(engine)
    with session_scope(engine) as session:
        seed_defaults(session)
    log = write_log(workdir / "core.log", n)
    clock: dict[str, list[float]] = defaultdict(list)
    with _clocked(clock, "scan"):
        scan_source(engine, FileSource([str(log)], service=SERVICE), "core")
    with session_scope(engine) as session:
        pending = pending_resolution(session)
    notifier = ConsoleOutboxNotifier(workdir / "outbox.jsonl", stream=io.StringIO())
    policy, allowed = PolicyConfig(), configured_actions(ExecutorConfig())
    for incident_id in pending:
        with _clocked(clock, "claim"), session_scope(engine) as session:
            claim_for_resolution(session, incident_id)
        with _clocked(clock, "analyze"):
            analysis = analyze_incident(engine, incident_id, {})
        with _clocked(clock, "decide"):
            decision = decide_incident(engine, analysis, policy, allowed)
        with _clocked(clock, "escalate"):
            escalate_incident(engine, incident_id, decision.reasons, notifier)
        with _clocked(clock, "summarize"):
            incident_summary(engine, incident_id)
    engine.dispose()
    steps = {k: _ms(list(v)) for k, v in clock.items() if k != "scan"}
    per_incident = sum(sum(v) for k, v in clock.items() if k != "scan") / max(1, len(pending))
    return {
        "scan_ms": _ms(list(clock["scan"])),
        "step_ms": steps,
        "per_incident_ms": round(per_incident * 1000, 1),
        "incidents": len(pending),
    }


def _proc_stat_fields(pid_dir: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None if the process is gone."""
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def group_cpu_s(pgid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by the live processes of process group PGID."""
    proc = Path("/proc")
    if pgid is None or not proc.is_dir():
        return None
    ticks = 0
    for pid_dir in proc.iterdir():
        fields = _proc_stat_fields(pid_dir) if pid_dir.name.isdigit() else None
        # After the name: state, ppid, pgrp, ..., utime is the 12th and stime the 13th field.
        if fields and int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by this process, the server's process group, and the machine, over a block."""

    def __init__(self, server_pgid: int | None) -> None:
        self.server_pgid = server_pgid
        self.result: dict[str, float | None] = {}

    def __enter__(self) -> CpuMeter:
        self._wall = time.perf_counter()
        self._own = time.process_time()
        self._server = group_cpu_s(self.server_pgid)
        self._machine = machine_jiffies()
        return self

    def __exit__(self, *_exc: object) -> None:
        wall = time.perf_counter() - self._wall
        server_end, machine_end = group_cpu_s(self.server_pgid), machine_jiffies()
        busy = None
        if self._machine and machine_end and machine_end[1] > self._machine[1]:
            busy = (machine_end[0] - self._machine[0]) / (machine_end[1] - self._machine[1])
        self.result = {
            "wall_s": round(wall, 3),
            "client_cpu_s": round(time.process_time() - self._own, 3),
            "server_cpu_s": None
            if server_end is None or self._server is None
            else round(server_end - self._server, 3),
            "machine_busy_pct": None if busy is None else round(busy * 100, 1),
        }
