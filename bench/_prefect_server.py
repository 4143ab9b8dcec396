"""A real `prefect server start` per backend for the benchmarks, stopped (database dropped) after.

SQLite: the server's database lives in a fresh PREFECT_HOME. PostgreSQL: a throwaway database on
127.0.0.1:5432 (user postgres, trust auth), created here and dropped with FORCE at the end.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=10"
PG_ASYNC_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
HEALTH_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class RunningServer:
    """A started Prefect server: where its API answers and where its files are."""

    backend: str
    api_url: str
    home: Path
    log_file: Path
    startup_s: float
    pgid: int  # the server runs in its own session: this group holds it and its helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prefect_bin() -> str:
    """The `prefect` executable of the interpreter running this benchmark."""
    return str(Path(sys.executable).with_name("prefect"))


@contextlib.contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """Create a uniquely named PostgreSQL database; yield its name; drop it (FORCE) afterwards."""
    name = f"oncall_bench_prefect_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL at 127.0.0.1:5432 (user postgres) is not reachable: {exc}. "
            "Start it, or run with --backends sqlite."
        ) from exc
    try:
        yield name
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_env(home: Path, db_url: str | None) -> dict[str, str]:
    """The environment of the server process: its own PREFECT_HOME and database, no API URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    if db_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = db_url
    return env


def wait_healthy(api_url: str, proc: subprocess.Popen[bytes], log_file: Path) -> None:
    """Poll /api/health until it answers 200; fail early if the server process died."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_file.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"prefect server exited with {proc.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(
        f"prefect server at {api_url} not healthy after {HEALTH_TIMEOUT_S}s; see {log_file}"
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and everything it started (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def prefect_server(backend: str, workdir: Path) -> Iterator[RunningServer]:
    """A Prefect server on BACKEND with a fresh PREFECT_HOME under WORKDIR, stopped on exit."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    home = workdir / f"prefect-home-{backend}"
    home.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        db_url = None
        if backend == "postgresql":
            db_url = PG_ASYNC_URL.format(db=stack.enter_context(throwaway_pg_database()))
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        log_file = home / "server.log"
        argv = [
            prefect_bin(),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-ui",
            "--analytics-off",
        ]
        started = time.monotonic()
        with log_file.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=server_env(home, db_url),
                start_new_session=True,
            )
        # Registered before waiting, so a failed start still stops the process (and then the
        # database is dropped, in the reverse order of the exit stack).
        stack.callback(stop, proc)
        wait_healthy(api_url, proc, log_file)
        yield RunningServer(
            backend, api_url, home, log_file, time.monotonic() - started, pgid=proc.pid
        )
