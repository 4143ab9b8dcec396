"""The fallback channel: print to the console and append to an outbox file (JSON lines)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from oncall_agent.notify.base import Notification


class ConsoleOutboxNotifier:
    """Writes each notification to a stream and appends it to an outbox file, so none is lost."""

    name = "console"

    def __init__(self, outbox: Path, stream: TextIO | None = None) -> None:
        self.outbox = outbox
        self.stream = stream

    def send(self, notification: Notification) -> None:
        """Append to the outbox (created if missing) and echo a short form to the stream."""
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as handle:
            handle.write(notification.model_dump_json() + "\n")
        stream = self.stream or sys.stderr
        stream.write(f"[notify:{notification.kind}] {notification.subject}\n")
        stream.flush()
