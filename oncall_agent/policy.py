"""The remediation policy: confidence x risk x context -> execute, ask approval, escalate, shadow.

Checks run in a fixed order and the first that fails decides; the reasons list every check that
passed before it, so a person reads why the agent got as far as it did. Nothing here changes an
entry's autonomy: only a person raises it (learning may lower confidence, never autonomy).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from oncall_agent.models import AutonomyMode, Decision, RiskClass
from oncall_agent.notify.routing import CONSOLE, check_channel_names


def _aware(value: datetime) -> datetime:
    """VALUE as an aware datetime; naive ones are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class FreezeWindow(BaseModel):
    """A change freeze from start to end; every action needs approval inside it."""

    start: datetime
    end: datetime
    services: list[str] = Field(default_factory=list)  # empty: the freeze covers every service
    reason: str = ""

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """Naive times are read as UTC so comparisons never mix naive and aware."""
        return _aware(value)

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        """A window must end after it starts."""
        if self.end <= self.start:
            raise ValueError(f"freeze window end {self.end} must be after start {self.start}")
        return self

    def covers(self, now: datetime, service: str) -> bool:
        """Whether NOW falls in the window and SERVICE is frozen by it."""
        in_time = self.start <= _aware(now) < self.end
        return in_time and (not self.services or service in self.services)


class PolicyConfig(BaseModel):
    """User-facing policy settings (the Prefect policy block holds these fields)."""

    auto_threshold: float = Field(default=0.75, ge=0, le=1)
    approve_threshold: float = Field(default=0.4, ge=0, le=1)
    action_thresholds: dict[str, float] = Field(default_factory=dict)
    auto_risk_classes: set[RiskClass] = Field(default_factory=lambda: {RiskClass.LOW})
    critical_services: set[str] = Field(default_factory=set)
    freeze_windows: list[FreezeWindow] = Field(default_factory=list)
    max_actions_per_incident: int = Field(default=3, ge=0)
    max_actions_per_hour: int = Field(default=20, ge=0)
    circuit_breaker_failures: int = Field(default=3, ge=1)
    circuit_breaker_window_s: int = Field(default=3600, gt=0)
    # The executor runs actions as dry runs only; decisions stay the same so they can be reviewed.
    dry_run_only: bool = False
    # Approvals: how long a request waits per risk class, who may approve each class (empty or
    # missing: anyone), and which classes need an approver other than the requester.
    approval_timeout_s: dict[RiskClass, int] = Field(
        default_factory=lambda: {
            RiskClass.LOW: 3600,
            RiskClass.MEDIUM: 3600,
            RiskClass.HIGH: 1800,
            RiskClass.CRITICAL: 900,
        }
    )
    approvers: dict[RiskClass, list[str]] = Field(default_factory=dict)
    four_eyes_risk_classes: set[RiskClass] = Field(default_factory=lambda: {RiskClass.CRITICAL})
    approval_poll_interval_s: int = Field(default=5, ge=1, le=60)
    # Proven approvers: each name gets its one-time codes through its own channel (a channel
    # block name as in the notification routing, e.g. "email/alice"). A risk class with no
    # `approvers` list may be approved by every approver that has a channel here.
    approver_channels: dict[str, str] = Field(default_factory=dict)
    # Off by default: accept a declared approver name without a code (`oncall approve --as`).
    # Meant for the demo and a single-user laptop, never for a shared deployment.
    trust_local_approver: bool = False

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> PolicyConfig:
        """Approval must not need more confidence than automatic execution."""
        if self.approve_threshold > self.auto_threshold:
            raise ValueError(
                f"approve_threshold {self.approve_threshold} is above auto_threshold "
                f"{self.auto_threshold}; lower approve_threshold or raise auto_threshold"
            )
        for name, channel in self.approver_channels.items():
            if channel == CONSOLE or not name.strip():
                raise ValueError(
                    f"approver_channels[{name!r}] = {channel!r}: an approver needs a channel of "
                    "their own (email/..., slack/..., webhook/..., teams/...), not the console"
                )
        check_channel_names(list(self.approver_channels.values()))
        unreachable = sorted(
            {name for names in self.approvers.values() for name in names}
            - set(self.approver_channels)
        )
        if unreachable and not self.trust_local_approver:
            raise ValueError(
                f"approvers {unreachable} have no channel: add them to approver_channels "
                "(e.g. {'alice': 'email/alice'}) so they can receive one-time codes"
            )
        for action, value in self.action_thresholds.items():
            if not 0 <= value <= 1:
                raise ValueError(f"action_thresholds[{action!r}] = {value} is not in [0, 1]")
        return self

    def approval_timeout_for(self, risk: RiskClass) -> int:
        """Seconds an approval request for RISK waits before it expires."""
        return self.approval_timeout_s.get(risk, 3600)

    def allowed_approvers(self, risk: RiskClass) -> list[str]:
        """Who may approve RISK: its approvers list, else everyone with a channel."""
        return list(self.approvers.get(risk) or self.approver_channels)

    def threshold_for(self, action: str) -> float:
        """The confidence ACTION needs to run without approval."""
        return self.action_thresholds.get(action, self.auto_threshold)


class PolicyContext(BaseModel):
    """What the policy knows about one proposed action."""

    action: str | None
    allowed_actions: set[str]
    risk: RiskClass = RiskClass.HIGH
    autonomy: AutonomyMode = AutonomyMode.APPROVE
    confidence: float = Field(default=0.0, ge=0, le=1)
    service: str = ""
    now: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actions_for_incident: int = Field(default=0, ge=0)
    actions_last_hour: int = Field(default=0, ge=0)
    failures_on_target_in_window: int = Field(default=0, ge=0)
    entry_key: str | None = None  # only used to word the reasons
    # Why the executor's allow-lists refuse the concrete action (its target and parameters);
    # None when they accept it, or when the caller did not check (e.g. `oncall scan`).
    refusal: str | None = None

    @field_validator("risk", mode="before")
    @classmethod
    def _unknown_risk_is_high(cls, value: object) -> object:
        """No known risk (nothing matched) is treated as high risk."""
        return RiskClass.HIGH if value is None else value

    @field_validator("autonomy", mode="before")
    @classmethod
    def _unknown_autonomy_needs_approval(cls, value: object) -> object:
        """No known autonomy (nothing matched) never means automatic."""
        return AutonomyMode.APPROVE if value is None else value


class PolicyDecision(BaseModel):
    """The policy's choice and the sentences that justify it."""

    decision: Decision
    reasons: list[str]


def _fmt(value: float, other: float) -> tuple[str, str]:
    """Two numbers with enough decimals that a strict comparison is visible."""
    for digits in (2, 3, 4):
        a, b = f"{value:.{digits}f}", f"{other:.{digits}f}"
        if a != b or value == other:
            return a, b
    return repr(value), repr(other)  # the shortest text that tells the two floats apart


# A check returns (None, reason-it-passed) or (decision, reason-it-stopped).
Check = Callable[[PolicyContext, PolicyConfig], tuple[Decision | None, str]]


def _has_action(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Escalate when nothing matched or the matched entry has no automated action."""
    if ctx.action:
        return None, f"proposed action {ctx.action!r}"
    if ctx.entry_key:
        return Decision.ESCALATE, (
            f"knowledge entry {ctx.entry_key!r} has no automated action; a person must apply "
            "its solution"
        )
    return Decision.ESCALATE, "no knowledge entry with an action matched this incident"


def _allowed(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Escalate when the action has no configured executor (the allow-list)."""
    if ctx.action in ctx.allowed_actions and ctx.refusal:
        return Decision.ESCALATE, (
            f"the allow-lists refuse {ctx.action!r} with these parameters, so nobody is asked "
            f"and nothing runs: {ctx.refusal}"
        )
    if ctx.action in ctx.allowed_actions:
        return None, f"action {ctx.action!r} has a configured executor"
    allowed = ", ".join(sorted(ctx.allowed_actions)) or "none"
    return Decision.ESCALATE, (
        f"action {ctx.action!r} is not in the allowed actions ({allowed}); it can never run"
    )


def _not_shadow(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Only record what would have been done when the entry is in shadow mode."""
    if ctx.autonomy is AutonomyMode.SHADOW:
        return Decision.SHADOW, "the entry is in shadow mode: the action is recorded, not run"
    return None, "the entry is not in shadow mode"


def _circuit_closed(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Escalate when recent actions on this target keep failing."""
    failures, limit = ctx.failures_on_target_in_window, cfg.circuit_breaker_failures
    window = f"in the last {cfg.circuit_breaker_window_s} s"
    if failures >= limit:
        return Decision.ESCALATE, (
            f"circuit breaker open: {failures} failed actions on {ctx.service!r} {window} "
            f">= limit {limit}"
        )
    return None, f"circuit breaker closed: {failures} failed actions {window} < limit {limit}"


def _within_rate_limits(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Escalate when this incident or this hour has had its share of actions."""
    if ctx.actions_for_incident >= cfg.max_actions_per_incident:
        return Decision.ESCALATE, (
            f"{ctx.actions_for_incident} actions already run for this incident >= limit "
            f"{cfg.max_actions_per_incident}"
        )
    if ctx.actions_last_hour >= cfg.max_actions_per_hour:
        return Decision.ESCALATE, (
            f"{ctx.actions_last_hour} actions run in the last hour >= limit "
            f"{cfg.max_actions_per_hour}"
        )
    return None, (
        f"rate limits respected: {ctx.actions_for_incident} < {cfg.max_actions_per_incident} "
        f"for this incident, {ctx.actions_last_hour} < {cfg.max_actions_per_hour} this hour"
    )


def _enough_to_ask(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Escalate when confidence is too low even to propose the action."""
    value, limit = _fmt(ctx.confidence, cfg.approve_threshold)
    if ctx.confidence < cfg.approve_threshold:
        return Decision.ESCALATE, f"confidence {value} < approve threshold {limit}"
    return None, f"confidence {value} >= approve threshold {limit}"


def _not_frozen(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Ask a person during a change freeze covering this service."""
    for window in cfg.freeze_windows:
        if window.covers(ctx.now, ctx.service):
            why = f" ({window.reason})" if window.reason else ""
            return Decision.ASK_APPROVAL, (
                f"change freeze from {window.start.isoformat()} to {window.end.isoformat()} "
                f"covers {ctx.service!r}{why}"
            )
    return None, "no change freeze is in effect"


def _autonomy_auto(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Ask a person when the entry is set to need approval."""
    if ctx.autonomy is AutonomyMode.APPROVE:
        return Decision.ASK_APPROVAL, "the entry's autonomy is 'approve': a person must approve"
    return None, "the entry's autonomy is 'auto'"


def _risk_auto(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Ask a person when the action's risk class is not allowed to run on its own."""
    classes = ", ".join(sorted(c.value for c in cfg.auto_risk_classes)) or "none"
    if ctx.risk not in cfg.auto_risk_classes:
        return Decision.ASK_APPROVAL, (
            f"risk {ctx.risk.value} is not among the automatic risk classes ({classes})"
        )
    return None, f"risk {ctx.risk.value} is among the automatic risk classes ({classes})"


def _critical_service(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Ask a person before anything above low risk touches a critical service."""
    if ctx.service in cfg.critical_services and ctx.risk is not RiskClass.LOW:
        return Decision.ASK_APPROVAL, (
            f"{ctx.service!r} is a critical service and risk {ctx.risk.value} is above low"
        )
    critical = "a critical" if ctx.service in cfg.critical_services else "not a critical"
    return None, f"{ctx.service!r} is {critical} service at risk {ctx.risk.value}"


def _confident_enough(ctx: PolicyContext, cfg: PolicyConfig) -> tuple[Decision | None, str]:
    """Ask a person when confidence is below the action's automatic threshold."""
    action = str(ctx.action)
    kind = "threshold for " + repr(action) if action in cfg.action_thresholds else "auto threshold"
    value, limit = _fmt(ctx.confidence, cfg.threshold_for(action))
    if ctx.confidence < cfg.threshold_for(action):
        return Decision.ASK_APPROVAL, f"confidence {value} < {kind} {limit}"
    return None, f"confidence {value} >= {kind} {limit}"


CHECKS: list[Check] = [
    _has_action,
    _allowed,
    _not_shadow,
    _circuit_closed,
    _within_rate_limits,
    _enough_to_ask,
    _not_frozen,
    _autonomy_auto,
    _risk_auto,
    _critical_service,
    _confident_enough,
]


def decide(ctx: PolicyContext, config: PolicyConfig) -> PolicyDecision:
    """Run the checks in order; the first that stops decides, else the action executes."""
    reasons: list[str] = []
    decision = Decision.EXECUTE
    for check in CHECKS:
        stop, reason = check(ctx, config)
        reasons.append(reason)
        if stop is not None:
            decision = stop
            break
    if config.dry_run_only and decision in (Decision.EXECUTE, Decision.ASK_APPROVAL):
        reasons.append("dry_run_only is set: the action will run as a dry run only")
    return PolicyDecision(decision=decision, reasons=reasons)
