"""Benchmark: from a detection run's start to every decision recorded, vs a bare subflow fan-out.

    .venv/bin/python bench/resolve.py [--sizes 1,10,100] [--backends sqlite,postgresql]

For each backend a real `prefect server start` runs with its own PREFECT_HOME (PostgreSQL: a
throwaway database, dropped afterwards). Each measurement runs in a child process pointed at it
(bench/_workloads.py): the agent's detection run over N distinct new incidents on a fresh store,
and a bare async flow fanning out N trivial async subflows with the same concurrency bound.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _prefect_server import BACKENDS, RunningServer, prefect_server  # noqa: E402
from _profile import machine_jiffies  # noqa: E402
from _report import Row, print_profiles, print_table, verdicts  # noqa: E402

ROOT = BENCH.parent
BUSY_WARNING_PCT = 20.0
CHILD_TIMEOUT_S = 300.0  # the slowest healthy measurement here took about 110 s
RESULT_PREFIX = "BENCH_RESULT "


def default_concurrency() -> int:
    """The detection flow's own default bound on concurrent resolutions."""
    sys.path.insert(0, str(ROOT))
    from flows.detection import detect_incidents

    parameters = inspect.signature(detect_incidents.fn).parameters
    return int(parameters["max_concurrent_resolutions"].default)


def child_env(server: RunningServer, workdir: Path) -> dict[str, str]:
    """A child's environment: the server's API, its own Prefect home and agent data directory."""
    drop = ("PREFECT_", "ONCALL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "DATABASE_URL"}
    env.update(
        {
            "PREFECT_API_URL": server.api_url,
            "PREFECT_HOME": str(workdir / "prefect-client"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "ONCALL_DATA_DIR": str(workdir / "data"),
        }
    )
    return env


def run_child(
    workload: str, n: int, server: RunningServer, root: Path, concurrency: int, profile: bool
) -> dict[str, Any]:
    """Run one measurement in a fresh process; its result, or what went wrong (never raises)."""
    workdir = root / f"{server.backend}-{workload}-{n}"
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        str(BENCH / "_workloads.py"),
        workload,
        str(n),
        "--concurrency",
        str(concurrency),
        "--workdir",
        str(workdir),
        "--server-pgid",
        str(server.pgid),
    ]
    if profile:
        argv.append("--profile")
    log = workdir / "child.log"
    started = time.monotonic()
    with log.open("wb") as out:
        try:
            code: int | str = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=child_env(server, workdir),
                timeout=CHILD_TIMEOUT_S,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            code = f"killed after {CHILD_TIMEOUT_S:.0f}s"
    text = log.read_text(errors="replace")
    results = [line for line in text.splitlines() if line.startswith(RESULT_PREFIX)]
    if code == 0 and results:
        result: dict[str, Any] = json.loads(results[-1][len(RESULT_PREFIX) :])
        return result
    return failure(text, code, time.monotonic() - started)


def failure(text: str, code: int | str, elapsed_s: float) -> dict[str, Any]:
    """A failed measurement: the error line (e.g. a 503 from the server) and the log's tail."""
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "Exception" in line]
    return {
        "error": (errors[-1] if errors else f"exit {code}").strip()[:200],
        "exit": code,
        "elapsed_s": round(elapsed_s, 1),
        "log_tail": lines[-15:],
        "done": 0,
    }


def measure_backend(
    backend: str, sizes: list[int], root: Path, concurrency: int, profile: bool
) -> list[Row]:
    """Start a server on BACKEND, measure bare and agent at every size, stop the server."""
    rows: list[Row] = []
    with prefect_server(backend, root) as server:
        print(
            f"[{backend}] server healthy after {server.startup_s:.1f}s at {server.api_url}",
            flush=True,
        )
        for n in sizes:
            bare = run_child("bare", n, server, root, concurrency, profile)
            agent = run_child("agent", n, server, root, concurrency, profile)
            row = Row(backend, n, agent, bare)
            print(f"[{backend}] N={n}: {row.brief()}", flush=True)
            rows.append(row)
    return rows


def background_load(seconds: float = 3.0) -> float | None:
    """How busy the machine is before we start (% of all cores), from /proc/stat."""
    before = machine_jiffies()
    time.sleep(seconds)
    after = machine_jiffies()
    if not before or not after or after[1] <= before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])


def warn_if_busy() -> None:
    """Say so when other work already loads the machine: every timing below is then inflated."""
    busy = background_load()
    if busy is None:
        return
    print(f"machine busy before the benchmark: {busy:.0f}% of {os.cpu_count()} cores", flush=True)
    if busy > BUSY_WARNING_PCT:
        print("WARNING: other processes are using the CPU; timings will be slower and noisier")


def parse_list(text: str) -> list[str]:
    """A comma-separated option as a list, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1,10,100", help="incident counts (default 1,10,100)")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help="Prefect server databases (default sqlite,postgresql)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="resolutions at a time (default: the detection flow's default)",
    )
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the breakdown of where the agent's time goes",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in parse_list(args.sizes)]
    except ValueError:
        parser.error(f"--sizes: give positive integers separated by commas, not {args.sizes!r}")
    args.backends = parse_list(args.backends)
    unknown = sorted(set(args.backends) - set(BACKENDS))
    if unknown or not args.backends:
        parser.error(f"--backends: unknown {unknown}; choose from {', '.join(BACKENDS)}")
    if not args.sizes or min(args.sizes) < 1:
        parser.error("--sizes: give positive integers, e.g. 1,10,100")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table and the verdicts; 0 if every target is met."""
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the servers are stopped and their databases dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    concurrency = args.concurrency or default_concurrency()
    warn_if_busy()
    started = time.monotonic()
    rows: list[Row] = []
    root = Path(tempfile.mkdtemp(prefix="oncall-bench-"))
    try:
        for backend in args.backends:
            rows += measure_backend(backend, args.sizes, root, concurrency, args.profile)
    finally:
        if args.keep:
            print(f"work directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nconcurrency bound {concurrency}; {time.monotonic() - started:.0f}s in all")
    print_table(rows)
    if args.profile:
        print_profiles(rows)
    return 0 if verdicts(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
