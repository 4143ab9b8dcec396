"""Test helpers for the notification tests: a real SMTP server and a real HTTP webhook receiver.

`Receiver` is an HTTP server on 127.0.0.1 that records every POST and answers from a script
(e.g. 429 with Retry-After, then 200). `Inbox` runs aiosmtpd on 127.0.0.1 and keeps every email
it accepts; it can require a login and offer STARTTLS or implicit TLS with a self-signed
certificate made on the fly.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "oncall-bot"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Post:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    """Records the POST, then answers with the next scripted reply (200 "ok" by default)."""

    def do_POST(self) -> None:
        """Record and answer."""
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.posts.append(Post(self.path, dict(self.headers.items()), body))
        status, headers, text = receiver.next_reply()
        if receiver.delay_s:
            time.sleep(receiver.delay_s)
        payload = text.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread."""

    posts: list[Post] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str], str]] = field(default_factory=deque)
    delay_s: float = 0.0
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        """Listen on a free port."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.receiver = self  # type: ignore[attr-defined]
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/hook") -> str:
        """The URL of PATH on this receiver."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, status: int, text: str = "", **headers: str) -> None:
        """Queue one reply (headers with dashes as underscores: Retry_After=...)."""
        self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, text))

    def next_reply(self) -> tuple[int, dict[str, str], str]:
        """The next scripted reply, or 200 ok."""
        return self.script.popleft() if self.script else (200, {}, "ok")


class _Recorder:
    """aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Accept and keep the message."""
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


class Inbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives."""

    def __init__(
        self,
        port: int | None = None,
        *,
        password: str | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port or free_port()
        self.recorder = _Recorder()
        self.logins: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {}
        if password is not None:
            kwargs |= {"authenticator": self._authenticator(password), "auth_require_tls": False}
        if starttls is not None:
            kwargs |= {"tls_context": starttls, "require_starttls": True}
        if implicit_tls is not None:
            kwargs |= {"ssl_context": implicit_tls}
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticator(self, password: str) -> Any:
        """Accept only USERNAME with PASSWORD."""

        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = isinstance(data, LoginPassword) and (
                data.login.decode(),
                data.password.decode(),
            ) == (USERNAME, password)
            if ok:
                self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=ok, handled=False)

        return check

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        """(recipients, message) of every email received."""
        return self.recorder.messages

    def __enter__(self) -> Inbox:
        """Start the server."""
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the server."""
        self.controller.stop()


def self_signed(directory: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1, a client context trusting it, and the cert's path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client, cert_path
