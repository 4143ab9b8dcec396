"""The resolution benchmark's table, its profile section, and the PASS/FAIL verdicts."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

MAX_RATIO = 1.5  # the agent may add at most 50% on top of the bare subflow
PG_TARGET_N = 100
PG_TARGET_S = 60.0


@dataclass
class Row:
    """One backend and size: the agent's and the bare fan-out's results."""

    backend: str
    n: int
    agent: dict[str, Any]
    bare: dict[str, Any]

    @property
    def failed(self) -> bool:
        """One of the two measurements did not finish."""
        return "error" in self.agent or "error" in self.bare

    @property
    def agent_s(self) -> float | None:
        """Wall time of the detection run, start to return (every decision is recorded by then)."""
        return _seconds(self.agent)

    @property
    def bare_s(self) -> float | None:
        """Wall time of the bare fan-out."""
        return _seconds(self.bare)

    @property
    def ratio(self) -> float | None:
        """Agent time over bare time."""
        if self.agent_s is None or not self.bare_s:
            return None
        return self.agent_s / self.bare_s

    @property
    def decided(self) -> int:
        """Incidents with a recorded decision (0 if the store holds a different count than N)."""
        return int(self.agent.get("done", 0))

    @property
    def all_decided(self) -> bool:
        """Every one of the N incidents has a recorded decision."""
        return self.decided == self.n

    def per_incident(self, seconds: float | None) -> float | None:
        """SECONDS divided by N."""
        return None if seconds is None else seconds / self.n

    def brief(self) -> str:
        """One progress line."""
        parts = []
        for name, result in (("agent", self.agent), ("bare", self.bare)):
            seconds = _seconds(result)
            parts.append(
                f"{name} FAILED: {result['error']}" if seconds is None else f"{name} {seconds:.2f}s"
            )
        return ", ".join(parts) + f", decided {self.decided}/{self.n}"


def _seconds(result: dict[str, Any]) -> float | None:
    """A measurement's wall time, or None if it failed."""
    return None if "error" in result else float(result["total_s"])


def _retries(result: dict[str, Any], code: str = "503") -> int:
    """How often the API client retried a request that got CODE during the measurement."""
    return int(result.get("retries", {}).get(code, 0))


def _fmt(value: float | None, digits: int = 2) -> str:
    """A number for the table, or '-'."""
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(rows: list[Row]) -> None:
    """The main table, one line per backend and size."""
    head = (
        "backend",
        "N",
        "agent s",
        "agent s/inc",
        "bare s",
        "bare s/inc",
        "ratio",
        "decided",
        "last decision s",
        "503 retries a/b",
    )
    lines = [head]
    for r in rows:
        lines.append(
            (
                r.backend,
                str(r.n),
                _fmt(r.agent_s),
                _fmt(r.per_incident(r.agent_s), 3),
                _fmt(r.bare_s),
                _fmt(r.per_incident(r.bare_s), 3),
                _fmt(r.ratio),
                f"{'yes' if r.all_decided else 'NO'} ({r.decided}/{r.n})",
                _fmt(r.agent.get("last_decision_s")),
                f"{_retries(r.agent)}/{_retries(r.bare)}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for i, line in enumerate(lines):
        print(
            "  ".join(
                cell.rjust(w) if j else cell.ljust(w)
                for j, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    _print_marginal(rows)
    _print_failures(rows)


def _print_failures(rows: list[Row]) -> None:
    """For each failed measurement: its error and the end of its log."""
    for r in rows:
        for name, result in (("agent", r.agent), ("bare", r.bare)):
            if "error" in result:
                print(
                    f"\n{name} {r.backend} N={r.n} FAILED after {result['elapsed_s']}s "
                    f"(exit {result['exit']}): {result['error']}"
                )
                print("\n".join("    " + line[:160] for line in result["log_tail"][-6:]))


def _print_marginal(rows: list[Row]) -> None:
    """Per extra incident: the slope between the smallest and largest N of each backend."""
    for backend in dict.fromkeys(r.backend for r in rows):
        mine = sorted((r for r in rows if r.backend == backend and not r.failed), key=lambda r: r.n)
        if len(mine) < 2:
            continue
        lo, hi = mine[0], mine[-1]
        span = hi.n - lo.n
        agent = (float(hi.agent_s or 0) - float(lo.agent_s or 0)) / span
        bare = (float(hi.bare_s or 0) - float(lo.bare_s or 0)) / span
        print(
            f"{backend}: per extra incident (N {lo.n}->{hi.n}): agent {agent:.3f}s, "
            f"bare {bare:.3f}s, ratio {agent / bare if bare > 0 else float('inf'):.2f}"
        )


def print_cpu(rows: list[Row]) -> None:
    """CPU seconds during each measured run: the client process, the server, the whole machine."""
    cores = os.cpu_count() or 1
    print(
        "\nCPU during the measured call: client process / Prefect server / machine busy "
        f"(all processes, % of {cores} cores):"
    )
    for r in rows:
        cells = []
        for name, result in (("agent", r.agent), ("bare", r.bare)):
            cpu = result.get("cpu")
            if not cpu:
                cells.append(f"{name} failed")
                continue
            cells.append(
                f"{name} {_fmt(cpu.get('client_cpu_s'))}s / {_fmt(cpu.get('server_cpu_s'))}s / "
                f"{_fmt(cpu.get('machine_busy_pct'), 0)}%"
            )
        print(f"  {r.backend:<10} N={r.n:<4} " + "   ".join(cells))


def print_profiles(rows: list[Row]) -> None:
    """Where the time went: CPU for every row, and a breakdown for the largest N per backend."""
    print_cpu(rows)
    for backend in dict.fromkeys(r.backend for r in rows):
        row = max((r for r in rows if r.backend == backend), key=lambda r: r.n)
        agent, bare = row.agent.get("profile"), row.bare.get("profile")
        if row.failed:
            print(f"\nprofile {backend} N={row.n}: not available (a measurement failed)")
            continue
        if not agent or not bare:
            continue
        print(f"\nprofile {backend} N={row.n} (means per subflow, ms):")
        print(
            f"  subflow life (created->end): agent {agent['subflow_life_ms']}, "
            f"bare {bare['subflow_life_ms']}"
        )
        print(
            f"  subflow running (start->end): agent {agent['subflow_running_ms']}, "
            f"bare {bare['subflow_running_ms']}"
        )
        print(
            f"  inside tasks: agent {agent['subflow_tasks_ms']} "
            f"({agent['tasks_per_subflow']} tasks/subflow); per task: {agent['task_ms']}"
        )
        print(f"  block load per call: {agent['block_load_ms']}")
        core = agent["core"]
        if "error" in core:
            print(f"  core alone, no Prefect: not measured ({core['error']})")
            continue
        print(
            f"  core alone, no Prefect (SQLite store, sequential): "
            f"{core['per_incident_ms']} ms/incident; steps {core['step_ms']}; "
            f"scan of {core['incidents']} lines {core['scan_ms']} ms"
        )


def verdicts(rows: list[Row]) -> bool:
    """Print PASS/FAIL for each target; True if all pass."""
    ok = True
    print()
    for r in rows:
        passed = r.ratio is not None and r.ratio <= MAX_RATIO and r.all_decided
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  {r.backend} N={r.n}: agent/bare {_fmt(r.ratio)} "
            f"(target <= {MAX_RATIO}), all decided: {r.all_decided}"
        )
    pg = [r for r in rows if r.backend == "postgresql" and r.n == PG_TARGET_N]
    for r in pg:
        retries = _retries(r.agent)
        passed = r.agent_s is not None and r.agent_s <= PG_TARGET_S
        passed = passed and r.all_decided and retries == 0
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  postgresql N={r.n} decided in {_fmt(r.agent_s, 1)}s "
            f"(target <= {PG_TARGET_S:.0f}s), all decided: {r.all_decided}, "
            f"503 retries: {retries}"
        )
    if not pg:
        print(f"(the {PG_TARGET_N}-incident PostgreSQL target was not measured in this run)")
    print("overall:", "PASS" if ok else "FAIL")
    return ok
