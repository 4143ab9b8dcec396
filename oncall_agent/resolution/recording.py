"""Record: close the loop on an incident (resolve or escalate) and feed the outcome back."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from oncall_agent.models import ActionStatus, Decision, IncidentStatus
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.compose import compose_escalation
from oncall_agent.resolution.acting import ActionOutcome
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.settings import get_settings
from oncall_agent.store.actions import runs_for_incident
from oncall_agent.store.audit import audit
from oncall_agent.store.credits import hold_credit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, set_status
from oncall_agent.store.knowledge import record_outcome


def record_action_outcome(engine: Engine, analysis: Analysis, outcome: ActionOutcome) -> bool:
    """Resolve the incident on a verified success (its credit pending); True if it resolved.

    The entry's record changes at once only for a failure. A verified success is credited once
    the incident stayed quiet for the verification window (`store.credits`); an action with no
    effect, a dry run or an unknown outcome never counts.
    """
    resolved = outcome.status is ActionStatus.SUCCEEDED and outcome.verified is True
    fresh = not outcome.reused and outcome.action_run_id is not None
    with session_scope(engine) as session:
        if fresh and resolved and outcome.action_run_id is not None:
            hold_credit(session, outcome.action_run_id, get_settings().verification_window_s)
        elif fresh and outcome.status is ActionStatus.FAILED and analysis.entry_id is not None:
            action = analysis.action.name if analysis.action else None
            record_outcome(session, analysis.entry_id, success=False, action=action)
        if resolved:
            note = f"{outcome.action} on {outcome.target} succeeded and was verified"
            set_status(session, analysis.incident_id, IncidentStatus.RESOLVED, note=note)
            audit(session, "resolved", incident_id=analysis.incident_id, by="agent", note=note)
    return resolved


def escalate_incident(
    engine: Engine,
    incident_id: int,
    reasons: list[str],
    notifier: Notifier,
    ui_url: str | None = None,
) -> None:
    """Mark the incident escalated and tell humans why, with what was tried."""
    with session_scope(engine) as session:
        incident = set_status(session, incident_id, IncidentStatus.ESCALATED)
        incident.decision_reasons = list(
            reasons
        )  # the full why, including what came after deciding
        session.add(incident)
        runs = runs_for_incident(session, incident_id)
        notification = compose_escalation(incident, reasons, runs, ui_url)
        audit(session, "escalated", incident_id=incident_id, reasons=reasons, channel=notifier.name)
    notifier.send(notification)


def escalation_reasons(
    decision: Decision,
    reasons: list[str],
    outcome: ActionOutcome | None,
    approvals_enabled: bool = True,
) -> list[str]:
    """Why a human is needed, in the words the notification will use."""
    why = list(reasons)
    if decision is Decision.ASK_APPROVAL and not approvals_enabled:
        why.append(
            "approval is required, and approvals by pause are not enabled: escalated instead"
        )
    elif decision is Decision.ASK_APPROVAL and outcome is None:
        why.append("approval was required and not given: nothing ran")
    if decision is Decision.SHADOW:
        why.append("the knowledge entry is in shadow mode: the agent only records what it would do")
    if outcome is not None and outcome.status is ActionStatus.DRY_RUN:
        why.append(f"dry run of {outcome.action} on {outcome.target}: {outcome.output[:300]}")
    elif outcome is not None and outcome.status is ActionStatus.NO_EFFECT:
        why.append(
            f"the action {outcome.action} on {outcome.target} ran and changed nothing "
            f"(no effect): {outcome.output[:300]}"
        )
    elif outcome is not None and outcome.status is not ActionStatus.SUCCEEDED:
        why.append(
            f"the action {outcome.action} ended {outcome.status.value}: {outcome.verification}"
        )
    elif outcome is not None and outcome.verified is False:
        why.append(f"the action ran but verification failed: {outcome.verification}")
    return why


def incident_summary(engine: Engine, incident_id: int) -> dict[str, object]:
    """One row of the summary table a user sees after a run."""
    with session_scope(engine) as session:
        inc = get_incident(session, incident_id)
        runs = runs_for_incident(session, incident_id)
        last = runs[-1] if runs else None
        return {
            "id": inc.id,
            "title": inc.title,
            "service": inc.service,
            "occurrences": inc.occurrences,
            "entry": (inc.analysis or {}).get("entry_key"),
            "confidence": inc.confidence,
            "decision": inc.decision,
            "reasons": list(inc.decision_reasons or []),
            "action": f"{last.target} (by {last.triggered_by})" if last else None,
            "verification": (last.verification or {}).get("detail") if last else None,
            "outcome": inc.status,
        }
