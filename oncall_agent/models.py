"""Domain types shared by every part of the agent (no I/O, no Prefect)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """How bad an event is; ordered from least to most severe."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < warning < error < critical."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: i for i, severity in enumerate(Severity)}


class IncidentStatus(StrEnum):
    """Life cycle of an incident. Open, awaiting approval and escalated are all 'active'."""

    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    ESCALATED = "escalated"
    RESOLVED = "resolved"

    @property
    def active(self) -> bool:
        """Whether new occurrences are absorbed by this incident."""
        return self is not IncidentStatus.RESOLVED


class Decision(StrEnum):
    """What the policy chose to do about an incident."""

    EXECUTE = "execute"
    ASK_APPROVAL = "ask_approval"
    ESCALATE = "escalate"
    SHADOW = "shadow"


class RiskClass(StrEnum):
    """How much harm an action can do if it is wrong."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AutonomyMode(StrEnum):
    """How far a knowledge entry may act on its own; only a person raises it."""

    SHADOW = "shadow"
    APPROVE = "approve"
    AUTO = "auto"


class ActionStatus(StrEnum):
    """State of one action run. UNKNOWN means it may have run: never re-run without approval."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DRY_RUN = "dry_run"
    # It ran and changed nothing (no file deleted, no session ended): never credited.
    NO_EFFECT = "no_effect"


class LogEvent(BaseModel):
    """One log record read from a source (a line, or a line with its continuation lines)."""

    model_config = ConfigDict(frozen=True)

    source: str
    message: str
    service: str = "unknown"
    timestamp: datetime | None = None
    level: str | None = None
    path: str | None = None
    line_no: int | None = None
    offset: int | None = None
    truncated_bytes: int = 0
    # Identifiers an action may need (dag_id, task_id, run_id, app_id, database, ...).
    attributes: dict[str, str] = Field(default_factory=dict)
    # The values actions may use: what configuration vouches for (see sources.scope).
    targets: dict[str, str] = Field(default_factory=dict)


class Detection(BaseModel):
    """An event that matched an alert pattern, with its template and fingerprint."""

    model_config = ConfigDict(frozen=True)

    event: LogEvent
    pattern: str
    category: str
    severity: Severity
    template: str
    fingerprint: str
    title: str


class IncidentDraft(BaseModel):
    """Detections grouped in memory by fingerprint, ready to be stored as one incident."""

    fingerprint: str
    title: str
    service: str
    severity: Severity
    category: str
    template: str
    source: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    samples: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    targets: dict[str, str] = Field(default_factory=dict)


class ActionSpec(BaseModel):
    """An action a knowledge entry proposes: an executor name and its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    verify: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = 60.0


class ActionResult(BaseModel):
    """What an executor did (or would do, in a dry run)."""

    status: ActionStatus
    output: str = ""
    argv: list[str] | None = None
    dry_run: bool = False
    details: dict[str, Any] = Field(default_factory=dict)


class VerificationResult(BaseModel):
    """Whether the action's effect was confirmed afterwards."""

    ok: bool
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
