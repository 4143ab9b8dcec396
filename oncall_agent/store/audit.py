"""The audit trail: append-only rows of who did what, when, and why."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from oncall_agent.store.tables import AuditEvent


def audit(
    session: Session,
    kind: str,
    *,
    actor: str = "agent",
    incident_id: int | None = None,
    action_run_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one audit event."""
    row = AuditEvent(
        kind=kind,
        actor=actor,
        incident_id=incident_id,
        action_run_id=action_run_id,
        details=details,
    )
    session.add(row)
    session.flush()
    return row


def audit_trail(session: Session, incident_id: int) -> list[AuditEvent]:
    """Every audit event of one incident, oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.incident_id == incident_id)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return list(session.exec(query).all())
