"""A small HTTP service that writes realistic logs and can be made to misbehave (demo and tests).

Run: python -m oncall_agent.demo.service --port 8099 --log-file data/demo/logs/app.log
GET /health answers 200 while the connection pool is fine and 503 once it has run dry.
POST /admin/break/{pool,disk,unknown} makes it log a burst of one kind of error.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVICE = "demo-api"


class ServiceState:
    """What the service knows about itself; a restart (new process) starts healthy."""

    def __init__(self, log_file: Path, archive_dir: Path) -> None:
        self.log_file = log_file
        self.archive_dir = archive_dir
        self.pool_exhausted = False
        self.lock = threading.Lock()

    def log(self, level: str, component: str, message: str) -> None:
        """Append one log line in the service's format."""
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{now} {level} {SERVICE} [{component}] {message}\n"
        with self.lock, self.log_file.open("a", encoding="utf-8") as handle:
            handle.write(line)


def burst_pool(state: ServiceState, count: int) -> None:
    """The connection pool runs dry: every request now fails to get a connection."""
    state.pool_exhausted = True
    for _ in range(count):
        waiting = random.randint(5, 60)
        rid = uuid.uuid4().hex[:12]
        state.log(
            "ERROR",
            "db.pool",
            f"connection pool exhausted: size=10 in_use=10 waiting={waiting} "
            f"timeout=30s request_id={rid}",
        )


def burst_disk(state: ServiceState, count: int) -> None:
    """Writes to the archive fail: the volume is full."""
    for i in range(count):
        target = state.archive_dir / f"export-{random.randint(1000, 9999)}-{i}.log"
        state.log(
            "ERROR",
            "storage",
            f"failed to write {target}: [Errno 28] No space left on device",
        )


def burst_unknown(state: ServiceState, count: int) -> None:
    """An error nobody has seen before and no knowledge entry covers."""
    for _ in range(count):
        batch = random.randint(1000, 99999)
        state.log(
            "ERROR",
            "ledger",
            f"reconciliation failed for batch {batch}: checksum mismatch "
            f"expected={uuid.uuid4().hex[:16]} actual={uuid.uuid4().hex[:16]}",
        )


def burst_memory(state: ServiceState, count: int) -> None:
    """Two kinds of memory errors: the report builder's and the cache warm-up's."""
    for _ in range(count):
        rid = uuid.uuid4().hex[:12]
        state.log(
            "ERROR",
            "reports",
            f"MemoryError: cannot allocate {random.randint(128, 512)} MiB for report buffer "
            f"request_id={rid}",
        )
        state.log(
            "ERROR",
            "cache",
            f"warm-up failed: Cannot allocate memory for shard {random.randint(1, 64)}",
        )


BURSTS = {"pool": burst_pool, "disk": burst_disk, "unknown": burst_unknown, "memory": burst_memory}


def make_handler(state: ServiceState) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to STATE."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                if state.pool_exhausted:
                    self._reply(503, {"status": "unhealthy", "reason": "db pool exhausted"})
                else:
                    self._reply(200, {"status": "ok"})
                return
            state.log("INFO", "http", f"GET {self.path} 200 {random.randint(2, 40)}ms")
            self._reply(200, {"ok": True})

        def do_POST(self) -> None:
            kind = self.path.rsplit("/", 1)[-1]
            if not self.path.startswith("/admin/break/") or kind not in BURSTS:
                self._reply(404, {"error": "unknown path"})
                return
            count = int(self.headers.get("X-Count", "50"))
            BURSTS[kind](state, min(count, 10_000))
            self._reply(200, {"broken": kind, "lines": count})

        def log_message(self, format: str, *args: object) -> None:
            """Silence the default stderr access log; the service writes its own."""

    return Handler


def _background_traffic(state: ServiceState, stop: threading.Event) -> None:
    """Ordinary INFO lines, as a healthy service writes them."""
    while not stop.wait(0.2):
        state.log("INFO", "http", f"GET /api/orders 200 {random.randint(2, 40)}ms")


def main() -> None:
    """Start the demo service and serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-file", type=Path, required=True)
    parser.add_argument("--archive-dir", type=Path, default=None)
    args = parser.parse_args()
    args.log_file.parent.mkdir(parents=True, exist_ok=True)
    state = ServiceState(args.log_file, args.archive_dir or args.log_file.parent / "archive")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    stop = threading.Event()
    threading.Thread(target=_background_traffic, args=(state, stop), daemon=True).start()
    state.log("INFO", "main", f"started on 127.0.0.1:{args.port} pool size=10")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        stop.set()
        time.sleep(0)


if __name__ == "__main__":
    main()
