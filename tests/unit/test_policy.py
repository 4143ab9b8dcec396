"""The policy: every branch, its order, and the sentences it gives as reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from oncall_agent.models import AutonomyMode, Decision, RiskClass
from oncall_agent.policy import FreezeWindow, PolicyConfig, PolicyContext, decide

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _ctx(**changes: object) -> PolicyContext:
    """A context that executes under the default policy, with CHANGES applied."""
    base: dict[str, object] = {
        "action": "restart_service",
        "allowed_actions": {"restart_service", "cleanup_files"},
        "risk": RiskClass.LOW,
        "autonomy": AutonomyMode.AUTO,
        "confidence": 0.82,
        "service": "orders-api",
        "now": NOW,
    }
    base.update(changes)
    return PolicyContext.model_validate(base)


def _decide(config: PolicyConfig | None = None, **changes: object) -> tuple[Decision, list[str]]:
    """The decision and reasons for _ctx(**changes) under CONFIG (default policy)."""
    result = decide(_ctx(**changes), config or PolicyConfig())
    return result.decision, result.reasons


def test_confident_low_risk_auto_entry_executes() -> None:
    """A confident, low-risk, auto entry executes, and every passed check is stated."""
    decision, reasons = _decide()
    assert decision is Decision.EXECUTE
    assert reasons[-1] == "confidence 0.82 >= auto threshold 0.75"
    assert "confidence 0.82 >= approve threshold 0.40" in reasons
    assert "action 'restart_service' has a configured executor" in reasons
    assert "circuit breaker closed: 0 failed actions in the last 3600 s < limit 3" in reasons


def test_no_match_escalates() -> None:
    """Nothing matched (no action, no risk, no autonomy known) escalates."""
    decision, reasons = _decide(action=None, risk=None, autonomy=None, confidence=0.0)
    assert decision is Decision.ESCALATE
    assert reasons == ["no knowledge entry with an action matched this incident"]


def test_entry_without_action_escalates_with_its_name() -> None:
    """A matched entry with only a human solution escalates, naming the entry."""
    decision, reasons = _decide(action=None, entry_key="database-deadlock")
    assert decision is Decision.ESCALATE
    assert reasons == [
        "knowledge entry 'database-deadlock' has no automated action; a person must apply "
        "its solution"
    ]


def test_action_not_allowed_escalates_whatever_the_confidence() -> None:
    """An action with no configured executor escalates even at full confidence."""
    decision, reasons = _decide(action="drop_database", confidence=1.0)
    assert decision is Decision.ESCALATE
    assert reasons[-1] == (
        "action 'drop_database' is not in the allowed actions (cleanup_files, restart_service); "
        "it can never run"
    )


def test_shadow_entry_only_records() -> None:
    """A shadow entry yields SHADOW, before the circuit breaker and rate limits are considered."""
    decision, reasons = _decide(autonomy=AutonomyMode.SHADOW, failures_on_target_in_window=9)
    assert decision is Decision.SHADOW
    assert reasons[-1] == "the entry is in shadow mode: the action is recorded, not run"


def test_open_circuit_breaker_escalates() -> None:
    """Three failures on the target within the window open the breaker and escalate."""
    decision, reasons = _decide(failures_on_target_in_window=3, confidence=0.99)
    assert decision is Decision.ESCALATE
    assert reasons[-1] == (
        "circuit breaker open: 3 failed actions on 'orders-api' in the last 3600 s >= limit 3"
    )


def test_circuit_breaker_limit_is_configurable() -> None:
    """A higher breaker limit lets the same failure count through."""
    config = PolicyConfig(circuit_breaker_failures=5, circuit_breaker_window_s=600)
    decision, reasons = _decide(config, failures_on_target_in_window=3)
    assert decision is Decision.EXECUTE
    assert "circuit breaker closed: 3 failed actions in the last 600 s < limit 5" in reasons


def test_per_incident_limit_escalates() -> None:
    """An incident that already had its maximum number of actions escalates."""
    decision, reasons = _decide(actions_for_incident=3)
    assert decision is Decision.ESCALATE
    assert reasons[-1] == "3 actions already run for this incident >= limit 3"


def test_hourly_limit_escalates() -> None:
    """Reaching the hourly action budget escalates."""
    decision, reasons = _decide(actions_last_hour=20)
    assert decision is Decision.ESCALATE
    assert reasons[-1] == "20 actions run in the last hour >= limit 20"


def test_too_little_confidence_escalates() -> None:
    """Confidence below the approve threshold escalates instead of asking."""
    decision, reasons = _decide(confidence=0.39, autonomy=AutonomyMode.APPROVE)
    assert decision is Decision.ESCALATE
    assert reasons[-1] == "confidence 0.39 < approve threshold 0.40"


def test_close_numbers_get_enough_decimals() -> None:
    """A confidence just under a threshold is printed with the decimals that show it."""
    _, reasons = _decide(confidence=0.3999)
    assert reasons[-1] == "confidence 0.3999 < approve threshold 0.4000"
    _, reasons = _decide(confidence=0.7499999)
    assert reasons[-1] == "confidence 0.7499999 < auto threshold 0.75"


def test_freeze_window_asks_for_approval() -> None:
    """Inside a change freeze, even an auto entry needs approval, and the reason says why."""
    window = FreezeWindow(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1),
                          reason="release day")  # fmt: skip
    decision, reasons = _decide(PolicyConfig(freeze_windows=[window]))
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == (
        "change freeze from 2024-05-01T11:00:00+00:00 to 2024-05-01T13:00:00+00:00 covers "
        "'orders-api' (release day)"
    )


def test_freeze_window_for_other_services_or_times_does_not_apply() -> None:
    """A freeze on other services, or one that has ended, does not stop the action."""
    other = FreezeWindow(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1),
                         services=["payments"])  # fmt: skip
    past = FreezeWindow(start=NOW - timedelta(days=2), end=NOW)
    decision, reasons = _decide(PolicyConfig(freeze_windows=[other, past]))
    assert decision is Decision.EXECUTE
    assert "no change freeze is in effect" in reasons


def test_naive_freeze_times_are_utc() -> None:
    """Naive window times are read as UTC and compared with aware times correctly."""
    window = FreezeWindow(start=datetime(2024, 5, 1, 11), end=datetime(2024, 5, 1, 13))
    assert window.covers(NOW, "any")
    assert not window.covers(datetime(2024, 5, 1, 13, 0), "any")


def test_freeze_window_must_end_after_start() -> None:
    """A window that ends before it starts is refused with both times in the message."""
    with pytest.raises(ValidationError, match="must be after start"):
        FreezeWindow(start=NOW, end=NOW - timedelta(minutes=1))


def test_approve_autonomy_asks_even_at_full_confidence() -> None:
    """An entry set to 'approve' never executes on its own, however confident the agent is."""
    decision, reasons = _decide(autonomy=AutonomyMode.APPROVE, confidence=1.0)
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == "the entry's autonomy is 'approve': a person must approve"


def test_risk_outside_auto_classes_asks() -> None:
    """Medium risk is not automatic by default."""
    decision, reasons = _decide(risk=RiskClass.MEDIUM)
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == "risk medium is not among the automatic risk classes (low)"


def test_critical_service_needs_approval_above_low_risk() -> None:
    """On a critical service a medium-risk action asks, even when medium is otherwise automatic."""
    config = PolicyConfig(auto_risk_classes={RiskClass.LOW, RiskClass.MEDIUM},
                          critical_services={"orders-api"})  # fmt: skip
    decision, reasons = _decide(config, risk=RiskClass.MEDIUM)
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == "'orders-api' is a critical service and risk medium is above low"
    assert _decide(config, risk=RiskClass.LOW)[0] is Decision.EXECUTE


def test_confidence_below_auto_threshold_asks() -> None:
    """Enough confidence to propose but not to act asks for approval."""
    decision, reasons = _decide(confidence=0.6)
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == "confidence 0.60 < auto threshold 0.75"


def test_per_action_threshold_overrides_the_default() -> None:
    """A per-action threshold replaces the auto threshold for that action only."""
    config = PolicyConfig(action_thresholds={"restart_service": 0.9})
    decision, reasons = _decide(config)
    assert decision is Decision.ASK_APPROVAL
    assert reasons[-1] == "confidence 0.82 < threshold for 'restart_service' 0.90"
    assert _decide(config, action="cleanup_files")[0] is Decision.EXECUTE


def test_dry_run_only_is_stated() -> None:
    """With dry_run_only the decision is unchanged and the reasons say it will be a dry run."""
    decision, reasons = _decide(PolicyConfig(dry_run_only=True))
    assert decision is Decision.EXECUTE
    assert reasons[-1] == "dry_run_only is set: the action will run as a dry run only"


def test_thresholds_must_be_ordered() -> None:
    """An approve threshold above the auto threshold is refused with advice."""
    with pytest.raises(ValidationError, match="lower approve_threshold or raise auto_threshold"):
        PolicyConfig(auto_threshold=0.5, approve_threshold=0.6)


def test_per_action_threshold_must_be_a_probability() -> None:
    """A per-action threshold outside [0, 1] is refused naming the action."""
    with pytest.raises(ValidationError, match=r"action_thresholds\['restart_service'\] = 1.5"):
        PolicyConfig(action_thresholds={"restart_service": 1.5})


def test_decide_never_changes_autonomy() -> None:
    """Deciding leaves the context's autonomy as it was, for every decision path."""
    for autonomy in AutonomyMode:
        ctx = _ctx(autonomy=autonomy, confidence=1.0)
        decide(ctx, PolicyConfig())
        assert ctx.autonomy is autonomy


def test_approvers_need_a_channel_of_their_own() -> None:
    """An approver without a channel, or with the console as one, is a configuration error."""
    with pytest.raises(ValueError, match=r"approvers \['bob'\] have no channel"):
        PolicyConfig(approvers={RiskClass.LOW: ["bob"]})
    with pytest.raises(ValueError, match="not the console"):
        PolicyConfig(approver_channels={"bob": "console"})
    ok = PolicyConfig(approvers={RiskClass.LOW: ["bob"]}, approver_channels={"bob": "slack/bob"})
    assert ok.allowed_approvers(RiskClass.LOW) == ["bob"]
    assert ok.allowed_approvers(RiskClass.HIGH) == ["bob"]  # no list: everyone with a channel
