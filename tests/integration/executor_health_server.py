"""Test helper: a tiny HTTP service with /health, used by the executor tests.

Run as a script (`python executor_health_server.py PORT [--ignore-term]`) it is the "service" the
restart_service local backend stops and starts. `GET /health` answers 200 until `POST /break`,
then 500. `--ignore-term` makes it ignore SIGTERM, to exercise the SIGKILL escalation.
Imported, `serve_in_thread()` runs a recording server inside the test process for http_call.
"""

from __future__ import annotations

import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HealthHandler(BaseHTTPRequestHandler):
    """Answers /health (200; 500 once broken), /break, /status/<code>, and records requests."""

    def do_GET(self) -> None:
        """Serve /health and /status/<code>."""
        self._record()
        if self.path == "/health":
            self._reply(*self._health())
        elif self.path.startswith("/status/"):
            self._reply(int(self.path.rsplit("/", 1)[1]), b"status")
        elif self.path == "/secret":
            self._reply(
                200, b"token=hunter2-very-secret and Authorization: Bearer abcdefghijklmnop"
            )
        else:
            self._reply(404, b"not found")

    def _health(self) -> tuple[int, bytes]:
        """500 once broken; 503 for the first `fail_first` calls (a service still starting)."""
        server = self.server
        if server.broken:  # type: ignore[attr-defined]
            return 500, b"broken"
        if server.fail_first > 0:  # type: ignore[attr-defined]
            server.fail_first -= 1  # type: ignore[attr-defined]
            return 503, b"starting"
        return 200, b"ok"

    def do_POST(self) -> None:
        """Serve /break (health turns 500) and echo any other body."""
        self._record()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/break":
            self.server.broken = True  # type: ignore[attr-defined]
            self._reply(200, b"broken now")
        else:
            self._reply(201, body)

    def _record(self) -> None:
        """Remember the request line, so tests can assert what reached the server."""
        self.server.requests.append((self.command, self.path))  # type: ignore[attr-defined]

    def _reply(self, status: int, body: bytes) -> None:
        """Send STATUS with BODY."""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def make_server(port: int) -> ThreadingHTTPServer:
    """A health server bound to 127.0.0.1:PORT (0 picks a free port)."""
    server = ThreadingHTTPServer(("127.0.0.1", port), HealthHandler)
    server.broken = False  # type: ignore[attr-defined]
    server.requests = []  # type: ignore[attr-defined]
    server.fail_first = 0  # type: ignore[attr-defined]
    server.daemon_threads = True
    return server


def serve_in_thread() -> ThreadingHTTPServer:
    """A health server on a free port, serving from a daemon thread; call shutdown() after."""
    server = make_server(0)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


if __name__ == "__main__":
    if "--ignore-term" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    make_server(int(sys.argv[1])).serve_forever()
