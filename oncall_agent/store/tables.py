"""Every SQL table of the store, in one module (SQLModel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite drops the zone, so it is put back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store aware datetimes in UTC; naive ones are taken as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes whatever the backend gave back."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, default_now: bool = False, index: bool = False) -> Any:
    """A UTC timestamp column."""
    if default_now:
        return Field(default_factory=utcnow, sa_type=UTCDateTime, index=index)
    return Field(default=None, sa_type=UTCDateTime, index=index)


def _json(default: Any = None) -> Any:
    """A JSON column (JSON on SQLite, JSON on PostgreSQL)."""
    return Field(
        default_factory=lambda: default() if callable(default) else default,
        sa_column=Column(JSON, nullable=True),
    )


class Incident(SQLModel, table=True):
    """A kind of problem seen one or more times; one active row per fingerprint."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(index=True, max_length=64)
    # Equal to fingerprint while the incident is active, NULL once resolved: the unique index
    # makes "one active incident per fingerprint" hold even when two detectors race.
    active_fingerprint: str | None = Field(default=None, unique=True, max_length=64)
    title: str = Field(max_length=500)
    service: str = Field(index=True, max_length=200)
    severity: str = Field(max_length=20)
    category: str = Field(max_length=50)
    status: str = Field(index=True, max_length=30)
    source: str = Field(default="", max_length=500)
    template: str = Field(default="", sa_column=Column(Text))
    first_seen: datetime = Field(sa_type=UTCDateTime)
    last_seen: datetime = Field(sa_type=UTCDateTime)
    occurrences: int = 0
    recurrences: int = 0
    samples: list[str] | None = _json(list)
    # Identifiers from the source (dag_id, run_id, app_id, ...) that actions may use.
    attributes: dict[str, str] | None = _json(dict)
    knowledge_entry_id: int | None = Field(default=None, foreign_key="knowledge_entries.id")
    confidence: float | None = None
    decision: str | None = Field(default=None, max_length=30)
    decision_reasons: list[str] | None = _json(list)
    analysis: dict[str, Any] | None = _json(dict)
    needs_resolution: bool = True
    resolved_at: datetime | None = _ts()
    resolution_note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _ts(default_now=True)
    updated_at: datetime = _ts(default_now=True)
    # The values actions may use (a configured or allow-listed service, allowed ids): unlike
    # `attributes`, never what a log line alone claims (see sources.scope).
    targets: dict[str, str] | None = _json(dict)
    # Learning: what fixed it (the history's solution identifier or the entry key) and whether
    # it worked; origin says whether detection or `oncall history import` created the row.
    description: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    solution: str | None = Field(default=None, max_length=500)
    solution_success: bool | None = None
    origin: str = Field(
        default="detected",
        max_length=20,
        index=True,
        sa_column_kwargs={"server_default": "detected"},
    )


class KnowledgeEntry(SQLModel, table=True):
    """A known problem and its fix, with the fix's observed success record."""

    __tablename__ = "knowledge_entries"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    title: str = Field(max_length=500)
    description: str = Field(default="", sa_column=Column(Text))
    patterns: list[str] | None = _json(list)
    services: list[str] | None = _json(list)
    categories: list[str] | None = _json(list)
    tags: list[str] | None = _json(list)
    solution: str = Field(default="", sa_column=Column(Text))
    action: dict[str, Any] | None = _json(None)
    risk: str = Field(default="medium", max_length=20)
    autonomy: str = Field(default="approve", max_length=20)
    successes: int = 0
    failures: int = 0
    origin: str = Field(default="seed", max_length=30)
    created_at: datetime = _ts(default_now=True)
    updated_at: datetime = _ts(default_now=True)
    # Other actions that fix the same problem (ActionSpec dicts); the agent A/B-tests them.
    alternatives: list[dict[str, Any]] | None = _json(list)


class ActionRun(SQLModel, table=True):
    """One attempt to run an action; the idempotency key is stored before the side effect."""

    __tablename__ = "action_runs"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=200)
    incident_id: int | None = Field(default=None, foreign_key="incidents.id", index=True)
    knowledge_entry_id: int | None = Field(default=None, foreign_key="knowledge_entries.id")
    action: str = Field(max_length=100)
    target: str = Field(default="", index=True, max_length=300)
    parameters: dict[str, Any] | None = _json(dict)
    params_hash: str = Field(default="", max_length=64)
    status: str = Field(max_length=20)
    dry_run: bool = False
    output: str = Field(default="", sa_column=Column(Text))
    verification: dict[str, Any] | None = _json(dict)
    verified: bool | None = None
    # False once the problem came back after this run "succeeded": the fix did not hold.
    held: bool | None = None
    triggered_by: str = Field(default="agent", max_length=200)
    error: str | None = Field(default=None, sa_column=Column(Text))
    started_at: datetime = _ts(default_now=True)
    finished_at: datetime | None = _ts()
    # The confidence that led to this run: the report's calibration compares it with outcomes.
    confidence: float | None = None
    # The entry's credit for a verified success: "pending" until the incident stayed quiet
    # until credit_due_at, then "credited" (a success) or "failed" (it came back in time).
    credit: str | None = Field(default=None, max_length=20, index=True)
    credit_due_at: datetime | None = _ts()


class AuditEvent(SQLModel, table=True):
    """An append-only record of who did what, when, and why."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_now=True, index=True)
    actor: str = Field(max_length=200)
    kind: str = Field(index=True, max_length=100)
    incident_id: int | None = Field(default=None, index=True)
    action_run_id: int | None = None
    details: dict[str, Any] | None = _json(dict)


class SourceCursor(SQLModel, table=True):
    """How far a source has been read; moved only after what it covers is stored."""

    __tablename__ = "source_cursors"

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(unique=True, max_length=1000)
    state: dict[str, Any] | None = _json(dict)
    updated_at: datetime = _ts(default_now=True)
    # Bumped by every save: a detector advances the cursor only from the version it read
    # (compare-and-swap), so two detectors never store the same lines twice.
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AlertPatternRow(SQLModel, table=True):
    """A user-defined alert pattern, added on top of the built-in set."""

    __tablename__ = "alert_patterns"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    regex: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=50)
    severity: str = Field(default="error", max_length=20)
    services: list[str] | None = _json(list)
    enabled: bool = True
    created_at: datetime = _ts(default_now=True)


class Approval(SQLModel, table=True):
    """A request for a human to approve one action with exact parameters; consumed at most once."""

    __tablename__ = "approvals"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    action: str = Field(max_length=100)
    parameters: dict[str, Any] | None = _json(dict)
    params_hash: str = Field(max_length=64)
    risk: str = Field(max_length=20)
    confidence: float | None = None
    status: str = Field(default="pending", index=True, max_length=20)
    requested_by: str = Field(default="agent", max_length=200)
    requested_at: datetime = _ts(default_now=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    flow_run_id: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _ts()
    decision_comment: str | None = Field(default=None, sa_column=Column(Text))
    approved_hash: str | None = Field(default=None, max_length=64)
    # What actually runs: the requested parameters with the approver's (narrowing) overrides.
    approved_parameters: dict[str, Any] | None = _json()
    # Answers refused for a wrong or missing one-time code; the request closes at the limit.
    code_failures: int = Field(default=0)


class NotificationRow(SQLModel, table=True):
    """One message for one channel, written before it is sent so a channel outage loses nothing.

    status: pending (due at next_attempt_at) → sent, or failed (the channel refused it: fix the
    channel, then requeue); suppressed rows count repeats held back by the repeat interval, and
    are folded into the next message that goes out for the same dedup key.
    """

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    channel: str = Field(max_length=200)
    kind: str = Field(max_length=30)
    severity: str = Field(default="error", max_length=20)
    service: str = Field(default="", max_length=200)
    subject: str = Field(max_length=500)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(index=True, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = _ts(index=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    # "<incident>:<kind>:<channel>": the unit of the repeat interval.
    dedup_key: str = Field(index=True, max_length=300)
    suppressed_count: int = 0
    folded_into: int | None = None
    created_at: datetime = _ts(default_now=True)
    updated_at: datetime = _ts(default_now=True)
    sent_at: datetime | None = _ts()


class TargetLock(SQLModel, table=True):
    """At most one action at a time per target (a service, a folder), across processes and hosts."""

    __tablename__ = "target_locks"

    target: str = Field(primary_key=True, max_length=300)
    holder: str = Field(max_length=200)
    acquired_at: datetime = _ts(default_now=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LLMAnswerRow(SQLModel, table=True):
    """A model's validated answer for one incident fingerprint and model (the answer cache).

    candidates_hash says which knowledge entries were offered: a different offer is a miss.
    """

    __tablename__ = "llm_answers"
    __table_args__ = (UniqueConstraint("fingerprint", "model"),)

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64)
    model: str = Field(max_length=200)
    candidates_hash: str = Field(max_length=64)
    answer: dict[str, Any] | None = _json(dict)
    created_at: datetime = _ts(default_now=True)


class LLMUsageRow(SQLModel, table=True):
    """Tokens spent on models per UTC day, checked against the daily token budget."""

    __tablename__ = "llm_usage"

    day: str = Field(primary_key=True, max_length=10)
    tokens: int = 0
    updated_at: datetime = _ts(default_now=True)


class FeedbackRow(SQLModel, table=True):
    """A person's verdict on what the agent (or a person) did for an incident; latest wins."""

    __tablename__ = "feedback"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incidents.id", index=True)
    verdict: str = Field(max_length=10)  # "correct" | "wrong"
    solution: str | None = Field(default=None, sa_column=Column(Text))
    comment: str | None = Field(default=None, sa_column=Column(Text))
    actor: str = Field(max_length=200)
    at: datetime = _ts(default_now=True, index=True)


class FalsePositive(SQLModel, table=True):
    """A fingerprint that must not open incidents for one source, until a person undoes it."""

    __tablename__ = "false_positives"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(index=True, max_length=64)
    source: str = Field(default="", max_length=500)
    incident_id: int | None = Field(default=None, foreign_key="incidents.id")
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor: str = Field(max_length=200)
    created_at: datetime = _ts(default_now=True, index=True)
    undone_at: datetime | None = _ts()
    undone_by: str | None = Field(default=None, max_length=200)


class ActionOutcomeCount(SQLModel, table=True):
    """Verified successes and failures of one action of one knowledge entry (an A/B arm)."""

    __tablename__ = "action_outcomes"

    knowledge_entry_id: int = Field(foreign_key="knowledge_entries.id", primary_key=True)
    action: str = Field(primary_key=True, max_length=100)
    successes: int = 0
    failures: int = 0
    updated_at: datetime = _ts(default_now=True)


class ModelVersion(SQLModel, table=True):
    """A trained recommendation model: its file, the file's sha256, metrics, and status."""

    __tablename__ = "model_versions"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    path: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    # "current" (at most one), "candidate" (kept, not promoted) or "retired".
    status: str = Field(index=True, max_length=20)
    metrics: dict[str, Any] | None = _json(dict)
    baseline: dict[str, Any] | None = _json(dict)
    promotion_reason: str = Field(default="", sa_column=Column(Text))
    rows: int = 0
    data_end: datetime | None = _ts()
    created_at: datetime = _ts(default_now=True)


class TemplateCount(SQLModel, table=True):
    """Lines of one alerting template (fingerprint) of one source in one time bucket.

    A source's baseline (see detection.baseline): cheap counts that tell steady chatter from
    news. The fingerprint "*" counts every line the source's reader examined, for its span.
    """

    __tablename__ = "template_counts"
    __table_args__ = (UniqueConstraint("source_key", "fingerprint", "bucket"),)

    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(max_length=1000)
    fingerprint: str = Field(max_length=64)
    bucket: int = Field(index=True)  # seconds since the epoch // baseline.BUCKET_S
    count: int = 0


class ResolutionLease(SQLModel, table=True):
    """Who is resolving an incident right now: a lease its holder renews; expired means crashed.

    phase: assessing → acting | awaiting_approval → done; failed (an error before or after
    acting, seen by the next sweep at once); swept (a sweep took it over and retried or
    escalated). One row per incident, reused by each claim; attempts counts the claims of the
    current episode (recurrences) so a resolution that keeps failing before acting escalates.
    """

    __tablename__ = "resolution_leases"

    incident_id: int = Field(primary_key=True, foreign_key="incidents.id")
    episode: int = 0
    attempts: int = 0
    owner: str = Field(max_length=200)
    flow_run_id: str | None = Field(default=None, max_length=64)
    phase: str = Field(index=True, max_length=30)
    claimed_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ConfigProblem(SQLModel, table=True):
    """A configuration problem a run ran into (a glob matching nothing, a missing command, a
    policy that does not validate); one row per place, kept fresh while it lasts, for `oncall
    status`."""

    __tablename__ = "config_problems"

    key: str = Field(primary_key=True, max_length=300)
    problem: str = Field(sa_column=Column(Text, nullable=False))
    first_seen: datetime = _ts(default_now=True)
    last_seen: datetime = _ts(default_now=True, index=True)
    count: int = 1
