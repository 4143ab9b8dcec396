"""Repository functions for incidents: open, absorb repeats, reopen, claim, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oncall_agent.errors import StoreError
from oncall_agent.models import IncidentDraft, IncidentStatus, Severity
from oncall_agent.store.actions import mark_did_not_hold
from oncall_agent.store.audit import audit
from oncall_agent.store.credits import fail_pending
from oncall_agent.store.knowledge import record_outcome
from oncall_agent.store.tables import Incident, utcnow


@dataclass(frozen=True)
class IncidentChange:
    """What storing one draft did: opened a new incident, reopened one, or absorbed repeats."""

    incident_id: int
    fingerprint: str
    kind: str  # "opened" | "reopened" | "updated"


def _merge_samples(old: list[str] | None, new: list[str], limit: int) -> list[str]:
    """Keep up to LIMIT distinct samples, oldest first (the first sighting is the most telling)."""
    merged = list(old or [])
    for sample in new:
        if sample not in merged and len(merged) < limit:
            merged.append(sample)
    return merged


def _max_severity(a: str, b: str) -> str:
    """The more severe of two severities."""
    return max(Severity(a), Severity(b), key=lambda s: s.rank).value


def _absorb(session: Session, draft: IncidentDraft, sample_limit: int) -> int | None:
    """Add a draft's occurrences to the active incident with its fingerprint, if there is one."""
    row = session.exec(
        select(Incident).where(Incident.active_fingerprint == draft.fingerprint).with_for_update()
    ).first()
    if row is None or row.id is None:
        return None
    # Counting in SQL keeps concurrent detectors from losing each other's increments.
    session.execute(
        update(Incident)
        .where(col(Incident.id) == row.id)
        .values(
            occurrences=Incident.occurrences + draft.count,  # type: ignore[operator]
            updated_at=utcnow(),
        )
    )
    row.last_seen = max(row.last_seen, draft.last_seen)
    row.first_seen = min(row.first_seen, draft.first_seen)
    row.samples = _merge_samples(row.samples, draft.samples, sample_limit)
    row.severity = _max_severity(row.severity, draft.severity)
    # The newest identifiers win: an action should target the latest failed run, not the first.
    row.attributes = {**(row.attributes or {}), **draft.attributes}
    row.targets = {**(row.targets or {}), **draft.targets}
    session.add(row)
    session.flush()
    return row.id


def _reopen(session: Session, draft: IncidentDraft, window: timedelta, now: datetime) -> int | None:
    """Reopen the latest resolved incident with this fingerprint if it was resolved recently."""
    row = session.exec(
        select(Incident)
        .where(
            Incident.fingerprint == draft.fingerprint, Incident.status == IncidentStatus.RESOLVED
        )
        .order_by(col(Incident.resolved_at).desc())
    ).first()
    if row is None or row.resolved_at is None or now - row.resolved_at > window:
        return None
    row.status = IncidentStatus.OPEN
    row.active_fingerprint = draft.fingerprint
    row.recurrences += 1
    row.occurrences += draft.count
    row.last_seen = max(row.last_seen, draft.last_seen)
    row.needs_resolution = True
    row.resolved_at = None
    row.decision = None
    row.updated_at = now
    session.add(row)
    session.flush()
    _learn_recurrence(session, row)
    return row.id


def _learn_recurrence(session: Session, row: Incident) -> None:
    """A recurrence is a learning signal: the fix that resolved it did not hold."""
    assert row.id is not None
    run = fail_pending(session, row.id)  # inside the verification window: a failure, counted
    if run is None:
        run = mark_did_not_hold(session, row.id)
        # Runs from before pending credits (credit NULL) were counted a success at once.
        if run is not None and run.credit is None and run.knowledge_entry_id is not None:
            record_outcome(session, run.knowledge_entry_id, success=False, action=run.action)
    audit(
        session,
        "recurrence",
        incident_id=row.id,
        recurrences=row.recurrences,
        action_run_id=run.id if run else None,
    )


def _insert(session: Session, draft: IncidentDraft, now: datetime) -> int:
    """Insert a new active incident for the draft."""
    row = Incident(
        fingerprint=draft.fingerprint,
        active_fingerprint=draft.fingerprint,
        title=draft.title[:500],
        service=draft.service,
        severity=draft.severity.value,
        category=draft.category,
        status=IncidentStatus.OPEN.value,
        source=draft.source[:500],
        template=draft.template,
        first_seen=draft.first_seen,
        last_seen=draft.last_seen,
        occurrences=draft.count,
        samples=list(draft.samples),
        attributes=dict(draft.attributes),
        targets=dict(draft.targets),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def update_existing_incident(
    session: Session,
    draft: IncidentDraft,
    *,
    reopen_window_s: int,
    sample_limit: int = 5,
    now: datetime | None = None,
) -> IncidentChange | None:
    """Absorb a draft into its active incident or reopen a recent one; None if neither exists.

    Steady chatter goes here: it never opens an incident, but it still counts in one that is
    open (or was just resolved), so a fix that did not hold shows.
    """
    now = now or utcnow()
    incident_id = _absorb(session, draft, sample_limit)
    if incident_id is not None:
        return IncidentChange(incident_id, draft.fingerprint, "updated")
    reopened = _reopen(session, draft, timedelta(seconds=reopen_window_s), now)
    if reopened is not None:
        return IncidentChange(reopened, draft.fingerprint, "reopened")
    return None


def open_or_update_incident(
    session: Session,
    draft: IncidentDraft,
    *,
    reopen_window_s: int,
    sample_limit: int = 5,
    now: datetime | None = None,
) -> IncidentChange:
    """Store a draft: absorb into the active incident, reopen a recent one, or open a new one."""
    now = now or utcnow()
    change = update_existing_incident(
        session, draft, reopen_window_s=reopen_window_s, sample_limit=sample_limit, now=now
    )
    if change is not None:
        return change
    savepoint = session.begin_nested()
    try:
        incident_id = _insert(session, draft, now)
        savepoint.commit()
        return IncidentChange(incident_id, draft.fingerprint, "opened")
    except IntegrityError:
        # Another detector opened the same fingerprint between our read and insert: absorb instead.
        savepoint.rollback()
        absorbed = _absorb(session, draft, sample_limit)
        if absorbed is None:
            raise StoreError(f"incident {draft.fingerprint} vanished during a race") from None
        return IncidentChange(absorbed, draft.fingerprint, "updated")


def claim_for_resolution(session: Session, incident_id: int) -> bool:
    """Take the one right to resolve this incident episode; False if another run holds it."""
    result = session.execute(
        update(Incident)
        .where(col(Incident.id) == incident_id, col(Incident.needs_resolution).is_(True))
        .values(needs_resolution=False, updated_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def get_incident(session: Session, incident_id: int) -> Incident:
    """The incident with this id, or StoreError naming it."""
    row = session.get(Incident, incident_id)
    if row is None:
        raise StoreError(f"no incident with id {incident_id}: see `oncall incidents` for ids")
    return row


def list_incidents(session: Session, status: str | None = None, limit: int = 100) -> list[Incident]:
    """Incidents, most recently seen first, optionally with one status."""
    query = select(Incident).order_by(col(Incident.last_seen).desc()).limit(limit)
    if status:
        query = query.where(Incident.status == status)
    return list(session.exec(query).all())


def pending_resolution(session: Session) -> list[int]:
    """Ids of incidents opened or reopened that no resolution has claimed yet."""
    query = select(Incident.id).where(col(Incident.needs_resolution).is_(True))
    return [i for i in session.exec(query).all() if i is not None]


def still_pending(session: Session, incident_id: int) -> bool:
    """Whether the incident still waits for a resolution to claim it (a cheap look before one)."""
    query = select(Incident.needs_resolution).where(col(Incident.id) == incident_id)
    return bool(session.exec(query).first())


def set_status(
    session: Session, incident_id: int, status: IncidentStatus, note: str | None = None
) -> Incident:
    """Move an incident to STATUS; resolving frees its fingerprint for a future reopen."""
    row = get_incident(session, incident_id)
    row.status = status.value
    row.updated_at = utcnow()
    if status is IncidentStatus.RESOLVED:
        row.active_fingerprint = None
        row.resolved_at = utcnow()
    else:
        row.active_fingerprint = row.fingerprint
    if note:
        row.resolution_note = note
    session.add(row)
    session.flush()
    return row


def record_analysis(
    session: Session,
    incident_id: int,
    *,
    analysis: dict[str, Any],
    knowledge_entry_id: int | None,
    confidence: float | None,
    decision: str,
    reasons: list[str],
) -> Incident:
    """Store what the agent concluded about an incident and why."""
    row = get_incident(session, incident_id)
    row.analysis = analysis
    row.knowledge_entry_id = knowledge_entry_id
    row.confidence = confidence
    row.decision = decision
    row.decision_reasons = reasons
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def count_by_status(session: Session) -> dict[str, int]:
    """How many incidents are in each status."""
    counts: dict[str, int] = {}
    for status in session.exec(select(Incident.status)).all():
        counts[status] = counts.get(status, 0) + 1
    return counts


def recent_templates(
    session: Session, since: datetime, limit: int = 10000
) -> list[tuple[str, str]]:
    """(service, template) of active incidents and of those updated since SINCE, oldest first:
    the kinds of events a detector should know before it reads on, so that a variant of one
    keeps its fingerprint (and a recurrence reopens it)."""
    rows = session.exec(
        select(Incident.service, Incident.template)
        .where(
            or_(col(Incident.active_fingerprint).is_not(None), col(Incident.updated_at) >= since)
        )
        .order_by(col(Incident.first_seen), col(Incident.id))
        .limit(limit)
    ).all()
    return [(service, template) for service, template in rows if template]
