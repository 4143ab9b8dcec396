"""Resolution leases: claim an incident with an expiry, renew it, hand it on, or take it over.

Every write is a conditional UPDATE on (incident, owner, phase), so a holder that was declared
dead by a sweep can neither renew nor act any more, and two sweeps never take the same lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from oncall_agent.store.incidents import claim_for_resolution, get_incident
from oncall_agent.store.tables import ResolutionLease, utcnow


class LeasePhase(StrEnum):
    """Where a resolution stands; the first three are held by a live run."""

    ASSESSING = "assessing"
    ACTING = "acting"
    AWAITING_APPROVAL = "awaiting_approval"
    FAILED = "failed"
    SWEPT = "swept"
    DONE = "done"


HELD = (LeasePhase.ASSESSING.value, LeasePhase.ACTING.value, LeasePhase.AWAITING_APPROVAL.value)


def claim_lease(
    session: Session,
    incident_id: int,
    owner: str,
    ttl_s: float,
    flow_run_id: str | None = None,
    now: datetime | None = None,
) -> ResolutionLease | None:
    """Take the incident's pending resolution with a lease; None if another run took it first."""
    if not claim_for_resolution(session, incident_id):
        return None
    now = now or utcnow()
    episode = get_incident(session, incident_id).recurrences
    lease = session.get(ResolutionLease, incident_id)
    if lease is None:
        lease = ResolutionLease(
            incident_id=incident_id,
            owner=owner,
            phase="",
            claimed_at=now,
            heartbeat_at=now,
            expires_at=now,
        )
    if lease.episode != episode:
        lease.episode, lease.attempts = episode, 0
    lease.attempts += 1
    lease.owner, lease.flow_run_id, lease.phase = owner, flow_run_id, LeasePhase.ASSESSING.value
    lease.claimed_at = lease.heartbeat_at = now
    lease.expires_at = now + timedelta(seconds=ttl_s)
    lease.last_error = None
    session.add(lease)
    session.flush()
    return lease


def claim_name(session: Session, incident_id: int) -> str:
    """Names the next claim of the incident: its episode and how many claims it has had."""
    episode = get_incident(session, incident_id).recurrences
    lease = session.get(ResolutionLease, incident_id)
    attempts = lease.attempts if lease is not None and lease.episode == episode else 0
    return f"{episode}-{attempts}"


def _held_by(incident_id: int, owner: str) -> list[object]:
    """The WHERE clause of every write by a holder: its own lease, still in a held phase."""
    return [
        col(ResolutionLease.incident_id) == incident_id,
        col(ResolutionLease.owner) == owner,
        col(ResolutionLease.phase).in_(HELD),
    ]


def renew_lease(session: Session, incident_id: int, owner: str, ttl_s: float) -> bool:
    """Push the expiry TTL_S ahead (a heartbeat); False if OWNER no longer holds the lease."""
    now = utcnow()
    result = session.execute(
        update(ResolutionLease)
        .where(*_held_by(incident_id, owner))  # type: ignore[arg-type]
        .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl_s))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def move_lease(
    session: Session, incident_id: int, owner: str, phase: LeasePhase, error: str | None = None
) -> bool:
    """Move OWNER's unexpired lease to PHASE; False if it was lost (expired or taken over)."""
    conditions = _held_by(incident_id, owner)
    if phase in (LeasePhase.ACTING, LeasePhase.AWAITING_APPROVAL):
        # The fence before a side effect: a lease past its expiry may be swept at any moment.
        conditions.append(col(ResolutionLease.expires_at) > utcnow())
    values: dict[str, object] = {"phase": phase.value}
    if error is not None:
        values["last_error"] = error[:2000]
    result = session.execute(
        update(ResolutionLease).where(*conditions).values(**values)  # type: ignore[arg-type]
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def stale_leases(
    session: Session, now: datetime, gone_run_ids: Sequence[str] = ()
) -> list[ResolutionLease]:
    """Leases a sweep must take over: failed, expired, or held by a Prefect run that is gone."""
    held = col(ResolutionLease.phase).in_(HELD)
    # A sweep that died half-way leaves its own SWEPT lease to expire: the next sweep redoes it.
    expirable = col(ResolutionLease.phase).in_((*HELD, LeasePhase.SWEPT.value))
    query = select(ResolutionLease).where(
        or_(
            col(ResolutionLease.phase) == LeasePhase.FAILED.value,
            expirable & (col(ResolutionLease.expires_at) < now),
            held & col(ResolutionLease.flow_run_id).in_(list(gone_run_ids)),
        )
    )
    return list(session.exec(query).all())


def leased_run_ids(session: Session) -> list[str]:
    """The Prefect run ids of leases still held (to ask Prefect which of them are gone)."""
    query = select(ResolutionLease.flow_run_id).where(
        col(ResolutionLease.phase).in_(HELD), col(ResolutionLease.flow_run_id).is_not(None)
    )
    return [run_id for run_id in session.exec(query).all() if run_id]


def take_over(session: Session, lease: ResolutionLease, sweeper: str, ttl_s: float) -> bool:
    """Make SWEEPER hold LEASE (phase swept) if nobody changed it since it was read.

    False if another sweep won, or the holder moved on meanwhile.
    """
    now = utcnow()
    result = session.execute(
        update(ResolutionLease)
        .where(
            col(ResolutionLease.incident_id) == lease.incident_id,
            col(ResolutionLease.owner) == lease.owner,
            col(ResolutionLease.phase) == lease.phase,
            col(ResolutionLease.attempts) == lease.attempts,
        )
        .values(
            phase=LeasePhase.SWEPT.value,
            owner=sweeper,
            heartbeat_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish_sweep(session: Session, incident_id: int, sweeper: str) -> None:
    """Close a lease SWEEPER took over, once the incident was retried or escalated."""
    session.execute(
        update(ResolutionLease)
        .where(
            col(ResolutionLease.incident_id) == incident_id,
            col(ResolutionLease.owner) == sweeper,
            col(ResolutionLease.phase) == LeasePhase.SWEPT.value,
        )
        .values(phase=LeasePhase.DONE.value)
    )


def count_by_phase(session: Session, now: datetime | None = None) -> dict[str, int]:
    """How many leases are in each phase, with held ones past expiry counted as 'expired'."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    query = select(ResolutionLease.phase, ResolutionLease.expires_at).where(
        col(ResolutionLease.phase) != LeasePhase.DONE.value
    )
    for phase, expires_at in session.exec(query).all():
        name = "expired" if phase in HELD and expires_at < now else phase
        counts[name] = counts.get(name, 0) + 1
    return counts
