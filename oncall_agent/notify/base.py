"""The notification every channel sends, and the small interface a channel implements."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from oncall_agent.store.tables import utcnow


class Notification(BaseModel):
    """One message to humans about one incident."""

    incident_id: int
    kind: str  # "escalation" | "approval_requested" | "resolved"
    severity: str
    subject: str
    body: str
    created_at: datetime = Field(default_factory=utcnow)


class Notifier(Protocol):
    """A channel that delivers notifications; raises NotificationError when it cannot."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...
