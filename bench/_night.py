# ruff: noqa: E501  (log line templates read best whole, one per line)
"""A generated night of data-platform logs: steady noise, and incidents injected at known lines.

Seven files over twelve hours (Airflow scheduler and task logs, a Spark driver, nginx access and
error logs, PostgreSQL, an application's JSON log and a worker's plain stderr), in the formats
those programs write. Noise is what a healthy platform prints all night: routine INFO lines
(some holding words like "exception" or "failed"), warnings, and *steady* errors nobody acts
on (a monitor with a stale password, upserts tripping a unique key, a missing favicon). The
incidents are what wakes someone: new errors, and one steady error whose rate jumps.

`write_night(folder, seed)` writes the files and returns the truth: for each file, the line
numbers of every injected incident's lines. Nothing here looks at the agent's patterns.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
HOURS = 12

Render = Callable[[datetime, random.Random], str]


@dataclass
class Stream:
    """Lines of one kind in one file: every MEAN_GAP_S seconds on average (Poisson)."""

    file: str
    mean_gap_s: float
    render: Render


@dataclass
class Burst:
    """An injected incident: COUNT lines of RENDER in FILE from AT (minutes), SPREAD_S apart."""

    name: str
    file: str
    at_min: float
    count: int
    spread_s: float
    render: Render


@dataclass
class Night:
    """Where the files are and which lines of each belong to which incident."""

    files: list[Path]
    truth: dict[str, dict[int, str]] = field(default_factory=dict)  # file -> line -> incident
    lines: int = 0


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def _airflow(logger: str, level: str, text: str) -> Render:
    return lambda t, r: f"[{_iso(t)}] {{{logger}}} {level} - {_fill(text, r)}"


def _spark(level: str, text: str) -> Render:
    return lambda t, r: f"{t:%y/%m/%d %H:%M:%S} {level} {_fill(text, r)}"


def _pg(level: str, text: str) -> Render:
    return lambda t, r: (
        f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [{r.randint(1000, 99999)}] "
        f"{level}:  {_fill(text, r)}"
    )


def _access(method: str, path: str, status: int) -> Render:
    return lambda t, r: (
        f"10.0.{r.randint(0, 9)}.{r.randint(1, 254)} - - [{t:%d/%b/%Y:%H:%M:%S} +0000] "
        f'"{method} {_fill(path, r)} HTTP/1.1" {status} {r.randint(50, 90000)} "-" '
        f'"python-requests/2.31.0"'
    )


def _nginx_error(level: str, text: str) -> Render:
    return lambda t, r: (
        f"{t:%Y/%m/%d %H:%M:%S} [{level}] {r.randint(20, 40)}#0: *{r.randint(1, 999999)} "
        f"{_fill(text, r)}"
    )


def _json(level: str, text: str) -> Render:
    return lambda t, r: json.dumps(
        {"ts": _iso(t), "level": level, "service": "orders", "msg": _fill(text, r)}
    )


def _plain(text: str) -> Render:
    return lambda t, r: (
        f"{t:%Y-%m-%dT%H:%M:%SZ} payments-worker[{r.randint(100, 999)}]: " + _fill(text, r)
    )


def _fill(text: str, r: random.Random) -> str:
    """TEXT with {n} (a number), {octet}, {id} (a hex id) and {host} filled in at random."""
    return (
        text.replace("{n}", str(r.randint(1, 5000)))
        .replace("{octet}", str(r.randint(1, 254)))
        .replace("{id}", f"{r.getrandbits(48):012x}")
        .replace("{host}", f"worker-{r.randint(1, 12)}")
    )


AF, SP, NG, NE, PG, APP, WK = (
    "airflow-scheduler.log", "spark-driver.log", "nginx-access.log", "nginx-error.log",
    "postgresql.log", "orders.jsonl", "payments-worker.log",
)  # fmt: skip

NOISE = [
    # Airflow: a busy scheduler and routine task ends.
    Stream(AF, 20, _airflow("scheduler_job_runner.py:412", "INFO", "Sending TaskInstanceKey(dag_id='etl_{n}', task_id='load', try_number=1) to executor")),
    Stream(AF, 30, _airflow("taskinstance.py:1206", "INFO", "Task exited with return code 0")),
    Stream(AF, 240, _airflow("taskinstance.py:1400", "INFO", "Marking task as SUCCESS. dag_id=etl_{n}, task_id=load")),
    Stream(AF, 900, _airflow("dagbag.py:540", "WARNING", "Failed to import DAG file /opt/airflow/dags/legacy_{n}.py, skipping")),
    Stream(AF, 1800, _airflow("base.py:73", "INFO", "Retrying connection after exception: ConnectionResetError (attempt 1 of 5)")),
    # Spark: task progress, block manager chatter, speculative warnings.
    Stream(SP, 12, _spark("INFO", "TaskSetManager: Finished task {n}.0 in stage {n}.0 (TID {n}) in {n} ms on {host} (executor {n}) ({n}/200)")),
    Stream(SP, 20, _spark("INFO", "BlockManagerInfo: Added broadcast_{n}_piece0 in memory on {host}:{n} (size: {n}.0 KiB, free: 2004.5 MiB)")),
    Stream(SP, 600, _spark("WARN", "TaskSetManager: Lost task {n}.0 in stage {n}.0 (TID {n}) ({host} executor {n}): FetchFailed(BlockManagerId({n}, {host}, {n}), shuffleId={n})")),
    Stream(SP, 3000, _spark("ERROR", "TransportRequestHandler: Error sending result RpcResponse{requestId={n}} to /10.0.3.{octet}:{n}; closing connection")),
    Stream(SP, 1200, _spark("INFO", "DAGScheduler: Resubmitted ShuffleMapTask({n}, {n}), so marking it as still running")),
    # nginx: traffic, 404s, a steady favicon error.
    Stream(NG, 6, _access("GET", "/api/v1/orders/{n}", 200)),
    Stream(NG, 40, _access("POST", "/api/v1/orders", 201)),
    Stream(NG, 90, _access("GET", "/api/v1/errors/{n}", 404)),
    Stream(NE, 300, _nginx_error("error", 'open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory), client: 10.0.1.{octet}, server: api, request: "GET /favicon.ico HTTP/1.1"')),
    Stream(NE, 1500, _nginx_error("warn", "an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{n} while reading upstream")),
    # PostgreSQL: checkpoints, a monitor with a stale password, upserts hitting a unique key.
    Stream(PG, 300, _pg("LOG", "checkpoint starting: time")),
    Stream(PG, 300, _pg("LOG", "checkpoint complete: wrote {n} buffers ({n}.0%); 0 WAL file(s) added")),
    Stream(PG, 600, _pg("FATAL", 'password authentication failed for user "monitor"')),
    Stream(PG, 240, _pg("ERROR", 'duplicate key value violates unique constraint "events_pkey"')),
    Stream(PG, 3600, _pg("LOG", "automatic vacuum of table \"app.public.events\": index scans: 1")),
    # The orders service (JSON lines): requests, a flaky feature-flag refresh.
    Stream(APP, 15, _json("info", "order {n} created")),
    Stream(APP, 60, _json("info", "payment provider call failed, retried and succeeded (attempt 2)")),
    Stream(APP, 900, _json("error", "failed to refresh feature flags: upstream timeout")),
    Stream(APP, 120, _json("warn", "slow query: {n} ms for orders lookup")),
    # The payments worker (plain stderr, no levels).
    Stream(WK, 60, _plain("processed batch {n} ({n} payments)")),
    Stream(WK, 400, _plain("heartbeat ok, queue depth {n}")),
    Stream(WK, 1800, _plain("reloading exchange rates from cache")),
    Stream(WK, 2700, _plain("warning: could not load optional plugin 'statsd', continuing without it")),
]  # fmt: skip

INCIDENTS = [
    Burst("pg-connection-slots", PG, 70, 40, 6, _pg("FATAL", "remaining connection slots are reserved for non-replication superuser connections")),
    Burst("airflow-task-failed", AF, 150, 3, 2, _airflow("taskinstance.py:1937", "ERROR", "Task failed with exception")),
    Burst("spark-executor-oom", SP, 195, 6, 20, _spark("ERROR", "YarnScheduler: Lost executor {n} on {host}: Container killed by YARN for exceeding memory limits. 9.1 GB of 9 GB physical memory used")),
    Burst("nginx-upstream-refused", NE, 240, 60, 3, _nginx_error("error", 'connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.2.{octet}, server: api, request: "GET /api/v1/orders/{n} HTTP/1.1", upstream: "http://10.0.5.7:8080/api/v1/orders/{n}"')),
    Burst("nginx-502", NG, 240, 80, 2, _access("GET", "/api/v1/orders/{n}", 502)),
    Burst("disk-full", APP, 300, 12, 15, _json("error", "could not write /var/lib/orders/spool/{id}.json: No space left on device")),
    Burst("worker-redis-refused", WK, 370, 25, 8, _plain("could not connect to redis at 10.0.0.7:6379: Connection refused")),
    Burst("pg-duplicate-key-surge", PG, 420, 60, 5, _pg("ERROR", 'duplicate key value violates unique constraint "events_pkey"')),
    Burst("pg-deadlock", PG, 480, 2, 30, _pg("ERROR", "deadlock detected")),
    Burst("airflow-timeout", AF, 540, 2, 1, _airflow("taskinstance.py:2480", "ERROR", "Received SIGTERM. Terminating subprocesses.; airflow.exceptions.AirflowTaskTimeout: Timeout, PID: {n}")),
    Burst("worker-permission-denied", WK, 600, 4, 60, _plain("unable to open /data/exports/rates-{n}.csv: Permission denied")),
    Burst("spark-job-aborted", SP, 660, 3, 5, _spark("ERROR", "TaskSetManager: Task {n} in stage {n}.0 failed 4 times; aborting job")),
]  # fmt: skip


def _times(rng: random.Random, mean_gap_s: float) -> list[datetime]:
    """Poisson arrival times over the night."""
    moments, at = [], rng.expovariate(1 / mean_gap_s)
    while at < HOURS * 3600:
        moments.append(START + timedelta(seconds=at))
        at += rng.expovariate(1 / mean_gap_s)
    return moments


def write_night(folder: Path, seed: int = 1) -> Night:
    """Write the night's files into FOLDER; return them with the injected lines' numbers."""
    rng = random.Random(seed)
    rows: dict[str, list[tuple[datetime, str, str | None]]] = {}
    for stream in NOISE:
        for moment in _times(rng, stream.mean_gap_s):
            rows.setdefault(stream.file, []).append((moment, stream.render(moment, rng), None))
    for burst in INCIDENTS:
        for k in range(burst.count):
            at = burst.at_min * 60 + k * burst.spread_s * rng.uniform(0.5, 1.5)
            moment = START + timedelta(seconds=at)
            rows.setdefault(burst.file, []).append((moment, burst.render(moment, rng), burst.name))
    folder.mkdir(parents=True, exist_ok=True)
    night = Night(files=[])
    for name, items in sorted(rows.items()):
        items.sort(key=lambda item: item[0])
        path = folder / name
        path.write_text("".join(text + "\n" for _, text, _ in items), encoding="utf-8")
        night.files.append(path)
        night.truth[str(path)] = {n: i for n, (_, _, i) in enumerate(items, start=1) if i}
        night.lines += len(items)
    return night
