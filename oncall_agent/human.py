"""Learning from people: a human resolution updates the record or teaches a new entry."""

from __future__ import annotations

from sqlmodel import Session

from oncall_agent.models import IncidentStatus
from oncall_agent.notify.compose import compose_resolved
from oncall_agent.notify.dispatch import enqueue_resolved
from oncall_agent.store.audit import audit
from oncall_agent.store.incidents import get_incident, set_status
from oncall_agent.store.knowledge import entry_from_resolution, record_outcome
from oncall_agent.store.tables import KnowledgeEntry, utcnow


def record_human_resolution(
    session: Session, incident_id: int, *, solution: str, success: bool, note: str, actor: str
) -> str:
    """Store what a person did; return a sentence saying what the agent learned."""
    incident = get_incident(session, incident_id)
    learned: str
    if incident.knowledge_entry_id is not None:
        record_outcome(session, incident.knowledge_entry_id, success=success)
        entry = session.get(KnowledgeEntry, incident.knowledge_entry_id)
        learned = (
            f"knowledge entry {entry.key if entry else incident.knowledge_entry_id} "
            f"recorded a {'success' if success else 'failure'}"
        )
    else:
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
        learned = (
            f"new knowledge entry {entry.key} ({entry.autonomy}) will recognise this next time"
        )
    if success:
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
    )
    state = "resolved" if success else "left open"
    return f"incident #{incident_id} {state}; {learned}"
