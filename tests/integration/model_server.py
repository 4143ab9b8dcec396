"""An OpenAI-compatible chat-completions server on 127.0.0.1 for tests: honest, hostile, slow.

Each request's raw body, headers and parsed JSON are kept; `script` decides each reply from the
request (a Reply: status, the assistant's content or a raw body, and a delay before answering).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """How to answer one request."""

    content: str | None = None
    status: int = 200
    raw_body: bytes | None = None
    delay_s: float = 0.0
    total_tokens: int = 120


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]  # names in lower case
    raw: bytes
    body: dict[str, Any]

    def messages(self) -> list[dict[str, str]]:
        """The chat messages sent."""
        return list(self.body.get("messages", []))

    def user_text(self) -> str:
        """The user message's content."""
        return next(m["content"] for m in self.messages() if m["role"] == "user")

    def system_text(self) -> str:
        """The system message's content."""
        return next(m["content"] for m in self.messages() if m["role"] == "system")


Script = Callable[[Received, int], Reply]


@dataclass
class ModelServer:
    """The running server: its base URL, what it received, and the script it follows."""

    script: Script
    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def completion(self, reply: Reply, model: str) -> bytes:
        """A chat completion carrying REPLY's content."""
        return json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.total_tokens - 20,
                    "completion_tokens": 20,
                    "total_tokens": reply.total_tokens,
                },
            }
        ).encode()


def _handler(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to SERVER."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            got = Received(self.path, headers, raw, json.loads(raw or b"{}"))
            server.received.append(got)
            reply = server.script(got, len(server.received))
            if server.stopping.wait(reply.delay_s):
                return
            body = reply.raw_body
            if body is None:
                body = server.completion(reply, str(got.body.get("model")))
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

    return Handler


@contextmanager
def model_server(script: Script) -> Iterator[ModelServer]:
    """Serve SCRIPT on a free port of 127.0.0.1; base_url ends in /v1."""
    server = ModelServer(script=script)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        httpd.shutdown()
        httpd.server_close()


def answer(
    entry_key: str | None,
    parameters: dict[str, Any] | None = None,
    summary: str = "The pool of database connections is exhausted.",
    root_cause: str = "Too many slow queries hold connections.",
) -> str:
    """A model's JSON answer."""
    return json.dumps(
        {
            "summary": summary,
            "root_cause": root_cause,
            "entry_key": entry_key,
            "parameters": parameters or {},
        }
    )


def offered_keys(got: Received) -> list[str]:
    """The candidate keys in a request's data (what an honest model chooses from)."""
    text = got.user_text()
    document = json.loads(text[text.index("\n") + 1 : text.rindex("\n")])
    return [c["key"] for c in document["candidates"]]


def honest(got: Received, _n: int) -> Reply:
    """An honest model: picks the first candidate offered and keeps its parameters."""
    keys = offered_keys(got)
    return Reply(content=answer(keys[0] if keys else None))


def constant_reply(content: str) -> Script:
    """A script that always answers CONTENT."""
    return lambda _got, _n: Reply(content=content)
