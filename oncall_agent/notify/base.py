"""The notification every channel sends, and the small interface a channel implements."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, Field

from oncall_agent.store.tables import utcnow

# Kinds of notification; a digest groups several of them for one channel.
ESCALATION = "escalation"
APPROVAL_REQUESTED = "approval_requested"
RESOLVED = "resolved"
DIGEST = "digest"


class Notification(BaseModel):
    """One message to humans about one incident (or, for a digest, several)."""

    incident_id: int
    kind: str  # "escalation" | "approval_requested" | "resolved" | "digest"
    severity: str
    subject: str
    body: str
    created_at: datetime = Field(default_factory=utcnow)
    service: str | None = None
    # Every incident a digest covers (empty for a single-incident message).
    incident_ids: list[int] = Field(default_factory=list)


class Notifier(Protocol):
    """A channel that delivers notifications; raises NotificationError when it cannot.

    ChannelUnavailable (a NotificationError) means "try again later", ChannelMisconfigured
    means "fix the channel's block first". Messages never contain the channel's secrets.
    """

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...
