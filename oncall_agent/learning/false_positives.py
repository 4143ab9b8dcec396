"""False positives: a person says an incident was not a problem; its fingerprint stops opening
incidents for that source until the mark is undone. Every mark and undo is audited.

Detection loads the active marks once per run (`active_false_positives`, one query) and drops
matching drafts in memory (`drop_false_positives`), so the cost per line is a set lookup.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from oncall_agent.errors import ConfigError
from oncall_agent.models import IncidentDraft, IncidentStatus
from oncall_agent.store.audit import audit
from oncall_agent.store.incidents import get_incident, set_status
from oncall_agent.store.tables import FalsePositive, utcnow


def _active_marks(session: Session, fingerprint: str, source: str) -> list[FalsePositive]:
    """The marks not undone for this fingerprint and source."""
    query = select(FalsePositive).where(
        FalsePositive.fingerprint == fingerprint,
        FalsePositive.source == source,
        col(FalsePositive.undone_at).is_(None),
    )
    return list(session.exec(query).all())


def mark_false_positive(
    session: Session, incident_id: int, *, reason: str, actor: str
) -> FalsePositive:
    """Mark the incident a false positive: close it and suppress its fingerprint for its source."""
    incident = get_incident(session, incident_id)
    if not reason.strip():
        raise ConfigError("say why this is a false positive (--reason TEXT): it is audited")
    if _active_marks(session, incident.fingerprint, incident.source):
        raise ConfigError(
            f"incident #{incident_id}'s fingerprint is already marked a false positive for "
            f"{incident.source or 'its source'}; use --undo to lift the mark"
        )
    mark = FalsePositive(
        fingerprint=incident.fingerprint,
        source=incident.source,
        incident_id=incident_id,
        reason=reason.strip(),
        actor=actor,
    )
    session.add(mark)
    if incident.status != IncidentStatus.RESOLVED:
        # Closed without an outcome: nothing was fixed, so no knowledge entry's record moves.
        set_status(session, incident_id, IncidentStatus.RESOLVED, note=f"false positive: {reason}")
    session.flush()
    audit(
        session,
        "false_positive",
        actor=actor,
        incident_id=incident_id,
        fingerprint=incident.fingerprint,
        source=incident.source,
        reason=mark.reason,
    )
    return mark


def undo_false_positive(session: Session, incident_id: int, *, actor: str, reason: str = "") -> int:
    """Lift the incident's false-positive mark: its fingerprint opens incidents again; audited."""
    incident = get_incident(session, incident_id)
    marks = _active_marks(session, incident.fingerprint, incident.source)
    if not marks:
        raise ConfigError(
            f"incident #{incident_id}'s fingerprint is not marked a false positive: nothing to undo"
        )
    now = utcnow()
    for mark in marks:
        mark.undone_at, mark.undone_by = now, actor
        session.add(mark)
    session.flush()
    audit(
        session,
        "false_positive_undone",
        actor=actor,
        incident_id=incident_id,
        fingerprint=incident.fingerprint,
        source=incident.source,
        reason=reason,
    )
    return len(marks)


def active_false_positives(session: Session) -> frozenset[tuple[str, str]]:
    """Every (fingerprint, source) currently marked a false positive, in one query."""
    query = select(FalsePositive.fingerprint, FalsePositive.source).where(
        col(FalsePositive.undone_at).is_(None)
    )
    return frozenset((fp, src) for fp, src in session.exec(query).all())


def false_positive_incidents(session: Session) -> set[int]:
    """Ids of incidents whose false-positive mark is in force (retraining leaves them out)."""
    query = select(FalsePositive.incident_id).where(col(FalsePositive.undone_at).is_(None))
    return {i for i in session.exec(query).all() if i is not None}


def drop_false_positives(
    drafts: Iterable[IncidentDraft], marked: frozenset[tuple[str, str]]
) -> tuple[list[IncidentDraft], int]:
    """The drafts not marked a false positive, and how many occurrences were dropped."""
    if not marked:
        return list(drafts), 0
    kept: list[IncidentDraft] = []
    dropped = 0
    for draft in drafts:
        if (draft.fingerprint, draft.source) in marked:
            dropped += draft.count
        else:
            kept.append(draft)
    return kept, dropped
