"""Decide: gather the guardrail counts from the store and apply the policy."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from oncall_agent.models import Decision, IncidentStatus
from oncall_agent.policy import PolicyConfig, PolicyContext, PolicyDecision, decide
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.actions import actions_for_incident, actions_since, failures_on_target
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import record_analysis, set_status
from oncall_agent.store.tables import utcnow

# Parameters that name what an action touches, in the order the target is read from them.
TARGET_KEYS = ("service", "root", "url", "dag_id", "app_id", "database", "template")


def action_target(analysis: Analysis) -> str:
    """The thing an action touches, for rate limits and the circuit breaker."""
    if analysis.action is None:
        return ""
    params = analysis.action.params
    for key in TARGET_KEYS:
        if key in params:
            return f"{analysis.action.name}:{params[key]}"
    return analysis.action.name


def _gate_model_choice(analysis: Analysis, decision: PolicyDecision) -> PolicyDecision:
    """An action a model chose never runs unattended: EXECUTE becomes ASK_APPROVAL."""
    asks = decision.decision in (Decision.EXECUTE, Decision.ASK_APPROVAL)
    if not analysis.chosen_by_model or not asks:
        return decision
    why = "the action was chosen by a model, not the agent's own top match: a person must approve"
    return PolicyDecision(decision=Decision.ASK_APPROVAL, reasons=[*decision.reasons, why])


def decide_incident(
    engine: Engine,
    analysis: Analysis,
    policy: PolicyConfig,
    allowed_actions: set[str],
    now: datetime | None = None,
    refusal: str | None = None,
) -> PolicyDecision:
    """Apply the policy to an analysis and store the decision with its reasons.

    REFUSAL says why the executor's allow-lists refuse the concrete action (see `plan_refusal`).
    """
    now = now or utcnow()
    with session_scope(engine) as session:
        ctx = PolicyContext(
            action=analysis.action.name if analysis.action else None,
            allowed_actions=allowed_actions,
            risk=analysis.risk,
            autonomy=analysis.autonomy,
            confidence=analysis.confidence or 0.0,
            service=analysis.service,
            now=now,
            actions_for_incident=actions_for_incident(session, analysis.incident_id),
            actions_last_hour=actions_since(session, now - timedelta(hours=1)),
            failures_on_target_in_window=failures_on_target(
                session, action_target(analysis), policy.circuit_breaker_window_s, now
            ),
            refusal=refusal,
        )
        decision = _gate_model_choice(analysis, decide(ctx, policy))
        reasons = analysis.problems + decision.reasons
        decision = PolicyDecision(decision=decision.decision, reasons=reasons)
        record_analysis(
            session,
            analysis.incident_id,
            analysis=analysis.model_dump(mode="json"),
            knowledge_entry_id=analysis.entry_id,
            confidence=analysis.confidence,
            decision=decision.decision.value,
            reasons=reasons,
        )
        if decision.decision is Decision.ASK_APPROVAL:
            set_status(session, analysis.incident_id, IncidentStatus.AWAITING_APPROVAL)
        audit(
            session,
            "decision",
            incident_id=analysis.incident_id,
            decision=decision.decision.value,
            reasons=reasons,
            entry=analysis.entry_key,
            confidence=analysis.confidence,
        )
        return decision
