"""The real Airflow client against a scripted HTTP server: every failure mapped to our errors."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from oncall_agent.errors import (
    ActionError,
    ActionTimeout,
    ConfigError,
    SourceError,
    SourceUnavailable,
)
from oncall_agent.integrations.airflow_client import AirflowTaskInstance
from oncall_agent.integrations.airflow_rest import AirflowRestClient

pytestmark = pytest.mark.integration
PASSWORD = "pw-canary-7f3a"
SINCE = datetime(2026, 1, 1, tzinfo=UTC)
TI = AirflowTaskInstance(dag_id="etl", run_id="r1", task_id="load", try_number=1)


@dataclass
class Script:
    """Answers by (method, path): a list of (status, body, delay_s), the last one repeating."""

    answers: dict[tuple[str, str], list[tuple[int, Any, float]]] = field(default_factory=dict)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth

    def answer(self, method: str, path: str) -> tuple[int, Any, float]:
        """The next answer for METHOD PATH (404 if unscripted)."""
        queue = self.answers.get((method, path), [(404, {"detail": "not scripted"}, 0.0)])
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def airflow_stub() -> Iterator[tuple[str, Script]]:
    """An HTTP server on 127.0.0.1 answering as scripted; yields (base URL, script)."""
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            path = urlsplit(self.path).path
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.seen.append((self.command, path, self.headers.get("Authorization", "")))
            status, body, delay = script.answer(self.command, path)
            time.sleep(delay)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test): nothing to answer

        do_GET = do_POST = do_PATCH = _reply

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", script
    server.shutdown()
    server.server_close()


def _client(base_url: str, timeout_s: float = 5) -> AirflowRestClient:
    """A client logging in as bob with the canary password."""
    return AirflowRestClient(base_url, username="bob", password=PASSWORD, timeout_s=timeout_s)


def _login(script: Script, *tokens: str) -> None:
    """Script the login to hand out TOKENS in turn."""
    script.answers[("POST", "/auth/token")] = [(201, {"access_token": t}, 0.0) for t in tokens]


def test_login_then_reads_carry_the_token_and_a_missing_dag_is_none(airflow_stub) -> None:
    """The client logs in once, sends the JWT, and maps 404 on a lookup to None."""
    base, script = airflow_stub
    _login(script, "tok-1")
    script.answers[("GET", "/api/v2/dags/etl")] = [(200, {"dag_id": "etl", "extra": 1}, 0.0)]
    client = _client(base)
    dag = client.get_dag("etl")
    assert dag is not None and dag.dag_id == "etl" and dag.is_paused is False
    assert client.get_dag("nope") is None
    assert [s[2] for s in script.seen if s[1].startswith("/api")] == ["Bearer tok-1"] * 2
    assert sum(s[1] == "/auth/token" for s in script.seen) == 1


def test_an_expired_token_is_renewed_once(airflow_stub) -> None:
    """A 403 'Invalid JWT' makes the client log in again and repeat the call once."""
    base, script = airflow_stub
    _login(script, "tok-1", "tok-2")
    script.answers[("GET", "/api/v2/dags/etl")] = [
        (403, {"detail": "Invalid JWT token"}, 0.0), (200, {"dag_id": "etl"}, 0.0)
    ]  # fmt: skip
    assert _client(base).get_dag("etl") is not None
    assert [s[2] for s in script.seen if s[1] == "/api/v2/dags/etl"] == [
        "Bearer tok-1", "Bearer tok-2"
    ]  # fmt: skip


def test_a_refused_login_is_a_configuration_error_without_the_password(airflow_stub) -> None:
    """Wrong credentials name the block to fix and never echo the password."""
    base, script = airflow_stub
    script.answers[("POST", "/auth/token")] = [(401, {"detail": f"bad {PASSWORD}"}, 0.0)]
    with pytest.raises(ConfigError, match="AirflowConnection block") as caught:
        _client(base).get_dag("etl")
    assert PASSWORD not in str(caught.value)


def test_read_failures_are_source_errors(airflow_stub) -> None:
    """A 5xx is SourceUnavailable (retry later); a 400 is a SourceError with the server's detail."""
    base, script = airflow_stub
    _login(script, "tok-1")
    script.answers[("GET", "/api/v2/dags/~/dagRuns")] = [(503, {"detail": "db down"}, 0.0)]
    script.answers[("GET", "/api/v2/dags/~/dagRuns/~/taskInstances")] = [
        (400, {"detail": f"bad filter, password {PASSWORD}"}, 0.0)
    ]
    client = _client(base)
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        client.list_dag_runs(states=["failed"], ended_since=SINCE, limit=10, offset=0)
    with pytest.raises(SourceError, match=r"HTTP 400.*bad filter") as caught:
        client.list_task_instances(states=["failed"], ended_since=SINCE, limit=10, offset=0)
    assert not isinstance(caught.value, SourceUnavailable)
    assert PASSWORD not in str(caught.value) and "[REDACTED]" in str(caught.value)


def test_write_failures_are_action_errors_and_a_silent_server_is_unknown(airflow_stub) -> None:
    """A refused change is an ActionError; no answer in time is ActionTimeout (may have run)."""
    base, script = airflow_stub
    _login(script, "tok-1")
    script.answers[("POST", "/api/v2/dags/etl/dagRuns")] = [(409, {"detail": "exists"}, 0.0)]
    script.answers[("PATCH", "/api/v2/dags/etl/dagRuns/r1")] = [(200, {}, 3.0)]
    client = _client(base, timeout_s=1)
    with pytest.raises(ActionError, match="HTTP 409"):
        client.trigger_dag_run("etl", conf={})
    with pytest.raises(ActionTimeout, match="may or may not have been done"):
        client.set_dag_run_state("etl", "r1", "success")


def test_nobody_listening_is_unavailable_for_reads_and_a_plain_error_for_writes() -> None:
    """A refused connection: reads may retry later; a write did not happen (not a timeout)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = AirflowRestClient(base, token="t", timeout_s=2)
    with pytest.raises(SourceUnavailable, match="did not answer"):
        client.get_dag("etl")
    with pytest.raises(ActionError) as caught:
        client.trigger_dag_run("etl", conf={})
    assert not isinstance(caught.value, ActionTimeout)


def test_task_logs_keep_levels_and_exceptions_and_split_plain_text(airflow_stub) -> None:
    """Structured records keep level and exception; plain text becomes one record per line."""
    base, script = airflow_stub
    _login(script, "tok-1")
    content = [
        {"event": "Task failed with exception", "level": "error",
         "timestamp": "2026-11-27T03:00:00Z",
         "error_detail": [{"exc_type": "ValueError", "exc_value": "boom"}]},
        "plain line\nTraceback (most recent call last):",
    ]  # fmt: skip
    path = "/api/v2/dags/etl/dagRuns/r1/taskInstances/load/logs/1"
    script.answers[("GET", path)] = [(200, {"content": content, "continuation_token": None}, 0.0)]
    records = _client(base).task_log(TI, try_number=1)
    assert [(r.event, r.level, r.error) for r in records] == [
        ("Task failed with exception", "error", "ValueError: boom"),
        ("plain line", None, None),
        ("Traceback (most recent call last):", None, None),
    ]


def test_a_connection_needs_a_token_or_a_login() -> None:
    """Without any credentials the client is refused at construction."""
    with pytest.raises(ConfigError, match="token, or a username and a password"):
        AirflowRestClient("http://127.0.0.1:1")


def test_an_answer_of_another_shape_is_an_error_of_the_calls_kind(airflow_stub) -> None:
    """A 200 whose JSON is not what the API documents is a SourceError (read) or ActionError."""
    base, script = airflow_stub
    _login(script, "tok-1")
    script.answers[("GET", "/api/v2/dags/~/dagRuns")] = [(200, {"runs": []}, 0.0)]
    script.answers[("POST", "/api/v2/dags/etl/dagRuns")] = [(200, {"dag_id": "etl"}, 0.0)]
    client = _client(base)
    with pytest.raises(SourceError, match="has no 'dag_runs' list"):
        client.list_dag_runs(states=["failed"], ended_since=SINCE, limit=10, offset=0)
    with pytest.raises(ActionError, match="unexpected answer to trigger etl"):
        client.trigger_dag_run("etl", conf={})
