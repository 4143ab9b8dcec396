"""The demo's world: a log folder, old archive files, and the misbehaving service (no Prefect)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from oncall_agent.demo.service import SERVICE
from oncall_agent.executors.config import ExecutorConfig, ServiceTarget

OLD_FILES = 24
OLD_FILE_BYTES = 512 * 1024
OLD_AGE_S = 3 * 24 * 3600


@dataclass(frozen=True)
class DemoWorld:
    """Paths and addresses of one demo run."""

    root: Path
    port: int

    @property
    def log_file(self) -> Path:
        """The service's own log."""
        return self.root / "logs" / "app.log"

    @property
    def archive(self) -> Path:
        """The allow-listed folder that fills with old files."""
        return self.root / "logs" / "archive"

    @property
    def pidfile(self) -> Path:
        """Where the local process backend keeps the service's pid."""
        return self.root / "demo-api.pid"

    @property
    def health_url(self) -> str:
        """The service's health endpoint."""
        return f"http://127.0.0.1:{self.port}/health"

    def service_command(self) -> list[str]:
        """The argv that starts the service (the restart backend uses the same)."""
        return [
            sys.executable,
            "-m",
            "oncall_agent.demo.service",
            "--port",
            str(self.port),
            "--log-file",
            str(self.log_file),
            "--archive-dir",
            str(self.archive),
        ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(root: Path) -> DemoWorld:
    """Create the folders, and fill the archive with old files (and a few recent ones)."""
    world = DemoWorld(root=root.resolve(), port=free_port())
    world.archive.mkdir(parents=True, exist_ok=True)
    world.log_file.unlink(missing_ok=True)
    old = time.time() - OLD_AGE_S
    for i in range(OLD_FILES):
        path = world.archive / f"app-2026-11-{(i % 20) + 1:02d}.{i}.log"
        path.write_bytes(b"x" * OLD_FILE_BYTES)
        os.utime(path, (old, old))
    for i in range(3):
        (world.archive / f"app-current.{i}.log").write_bytes(b"y" * 4096)
    return world


def executor_config(world: DemoWorld) -> ExecutorConfig:
    """What the agent may touch in the demo: the service, and the archive folder."""
    target = ServiceTarget(
        backend="local",
        command=world.service_command(),
        cwd=str(Path.cwd()),
        pidfile=str(world.pidfile),
        log_file=str(world.root / "service.out"),
        health_url=world.health_url,
    )
    return ExecutorConfig(services={SERVICE: target}, cleanup_roots=[world.archive])


def start_service(world: DemoWorld, timeout_s: float = 20.0) -> int:
    """Start the service detached, write its pidfile, and wait until it is healthy."""
    out = (world.root / "service.out").open("ab")
    proc = subprocess.Popen(
        world.service_command(),
        stdout=out,
        stderr=out,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    out.close()
    world.pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(world.health_url, timeout=1.0).status_code == 200:
                return proc.pid
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the demo service did not answer {world.health_url} in {timeout_s}s")


def misbehave(world: DemoWorld) -> dict[str, int]:
    """Make the service log its bursts: pool exhausted, disk full, an unknown error, memory."""
    counts = {"pool": 400, "disk": 60, "unknown": 12, "memory": 8}
    for kind, count in counts.items():
        response = httpx.post(
            f"http://127.0.0.1:{world.port}/admin/break/{kind}",
            headers={"X-Count": str(count)},
            timeout=30.0,
        )
        response.raise_for_status()
    return counts


def health_status(world: DemoWorld) -> int | None:
    """The health endpoint's status code, or None if nothing answers."""
    try:
        return httpx.get(world.health_url, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def stop_service(world: DemoWorld) -> None:
    """Stop whatever process the pidfile names (the original or the restarted one)."""
    try:
        pid = int(world.pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        for _ in range(30):
            time.sleep(0.1)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return


def archive_bytes(world: DemoWorld) -> int:
    """Bytes currently in the archive folder."""
    return sum(p.stat().st_size for p in world.archive.iterdir() if p.is_file())
