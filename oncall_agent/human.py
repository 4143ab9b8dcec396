"""Learning from people: a human resolution updates the record or teaches a new entry.

An outcome counts once: resolving an incident that is already resolved counts nothing again, and
the same failed solution reported twice for one episode of an incident counts one failure.
"""

from __future__ import annotations

from sqlmodel import Session, select

from oncall_agent.models import IncidentStatus
from oncall_agent.notify.compose import compose_resolved
from oncall_agent.notify.dispatch import enqueue_resolved
from oncall_agent.store.audit import audit, audit_trail
from oncall_agent.store.incidents import get_incident, set_status
from oncall_agent.store.knowledge import entry_from_resolution, record_outcome
from oncall_agent.store.tables import Incident, KnowledgeEntry, utcnow


def _locked_incident(session: Session, incident_id: int) -> Incident:
    """The incident, row-locked on PostgreSQL so two resolutions of it cannot both count."""
    get_incident(session, incident_id)  # a clear error for an unknown id
    query = select(Incident).where(Incident.id == incident_id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).one()


def _failure_already_counted(session: Session, incident: Incident, solution: str) -> bool:
    """Whether this episode already counted a failure of the same solution."""
    assert incident.id is not None
    return any(
        event.kind == "human_resolution"
        and (event.details or {}).get("counted")
        and (event.details or {}).get("success") is False
        and (event.details or {}).get("episode") == incident.recurrences
        and (event.details or {}).get("solution") == solution
        for event in audit_trail(session, incident.id)
    )


def _learn(session: Session, incident: Incident, solution: str, success: bool) -> str:
    """Count the outcome on the incident's entry (or teach a new one); what was learned."""
    if incident.knowledge_entry_id is not None:
        record_outcome(session, incident.knowledge_entry_id, success=success)
        entry = session.get(KnowledgeEntry, incident.knowledge_entry_id)
        return (
            f"knowledge entry {entry.key if entry else incident.knowledge_entry_id} "
            f"recorded a {'success' if success else 'failure'}"
        )
    entry = entry_from_resolution(
        session,
        title=incident.title,
        service=incident.service,
        category=incident.category,
        template=incident.template,
        solution=solution,
        success=success,
        action=None,
    )
    incident.knowledge_entry_id = entry.id
    return f"new knowledge entry {entry.key} ({entry.autonomy}) will recognise this next time"


def record_human_resolution(
    session: Session, incident_id: int, *, solution: str, success: bool, note: str, actor: str
) -> str:
    """Store what a person did; return a sentence saying what the agent learned."""
    incident = _locked_incident(session, incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        learned = "already resolved: its outcome was counted once and is not counted again"
        hint = f" (to correct the record: oncall feedback {incident_id} --wrong --solution ...)"
        counted = False
    elif not success and _failure_already_counted(session, incident, solution):
        learned, hint, counted = "this failed solution was already counted for it", "", False
    else:
        learned, hint, counted = _learn(session, incident, solution, success), "", True
    if counted and success:
        was_escalated = incident.status == IncidentStatus.ESCALATED
        set_status(session, incident_id, IncidentStatus.RESOLVED, note=f"{solution} {note}".strip())
        if was_escalated:  # the people told of the escalation hear it is over (next dispatch)
            notice = compose_resolved(incident, note=f"resolved by {actor}: {solution}")
            enqueue_resolved(session, notice, utcnow(), group_wait_s=0)
    audit(
        session,
        "human_resolution",
        actor=actor,
        incident_id=incident_id,
        solution=solution,
        success=success,
        note=note,
        episode=incident.recurrences,
        counted=counted,
    )
    state = "resolved" if success else "left open"
    if not counted:
        state = "unchanged"
    return f"incident #{incident_id} {state}; {learned}{hint}"
