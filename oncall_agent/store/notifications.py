"""Repository functions for the notification outbox: add, hold back repeats, claim, settle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session, col
from sqlmodel import select as model_select

from oncall_agent.store.tables import NotificationRow

PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"
# Kinds after which a "resolved" notice is owed to the same channels.
ANNOUNCING_KINDS = ("escalation", "approval_requested")


def dedup_key(incident_id: int, kind: str, channel: str) -> str:
    """The unit of the repeat interval: one incident, one kind, one channel."""
    return f"{incident_id}:{kind}:{channel}"


@dataclass(frozen=True)
class Announced:
    """The newest row for an incident and channel that was (or will be) sent."""

    kind: str
    status: str
    created_at: datetime
    sent_at: datetime | None


_T = NotificationRow.__table__  # type: ignore[attr-defined]
# Built once: a storm calls these two statements per notification, and compiling each time
# cost more than running it.
_LAST_ANNOUNCED = (
    select(_T.c.kind, _T.c.status, _T.c.created_at, _T.c.sent_at)
    .where(_T.c.incident_id == bindparam("incident_id"), _T.c.channel == bindparam("channel"))
    .where(_T.c.status != SUPPRESSED)
    .order_by(_T.c.id.desc())
    .limit(1)
)
_BUMP_BUCKET = (
    update(_T)
    .where(_T.c.dedup_key == bindparam("key"), _T.c.status == SUPPRESSED)
    .where(_T.c.folded_into.is_(None))
    .values(suppressed_count=_T.c.suppressed_count + 1, updated_at=bindparam("now"))
    .returning(_T.c.id)
)


def last_announced(session: Session, incident_id: int, channel: str) -> Announced | None:
    """The newest row for this incident and channel that was (or will be) sent, of any kind."""
    params = {"incident_id": incident_id, "channel": channel}
    found = session.connection().execute(_LAST_ANNOUNCED, params).first()
    return Announced(*found) if found is not None else None


def add_pending(session: Session, row: NotificationRow) -> NotificationRow:
    """Store ROW as pending (due at its next_attempt_at) and return it with its id."""
    row.status = PENDING
    session.add(row)
    session.flush()
    return row


def bump_bucket(session: Session, key: str, now: datetime) -> int | None:
    """Count one more held-back repeat in KEY's open bucket; its id, or None if there is none."""
    params = {"key": key, "now": now}
    bumped = session.connection().execute(_BUMP_BUCKET, params).first()
    return int(bumped[0]) if bumped is not None else None


def add_bucket(session: Session, row: NotificationRow) -> int:
    """Store ROW as a new open bucket holding one held-back repeat (ROW's text is the first's)."""
    row.status, row.suppressed_count, row.next_attempt_at = SUPPRESSED, 1, None
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def claim_due(
    session: Session, now: datetime, channels: Sequence[str], lease_s: float, limit: int
) -> list[NotificationRow]:
    """Take the pending rows due by NOW for CHANNELS, oldest first, leased for LEASE_S seconds.

    The lease (next_attempt_at moved ahead, attempts counted) is what stops a second dispatcher
    from sending the same row; if this one dies mid-send the row is due again when the lease
    ends, so a crash can duplicate a message but never lose one.
    """
    query = (
        model_select(NotificationRow)
        .where(NotificationRow.status == PENDING)
        .where(col(NotificationRow.next_attempt_at) <= now)
        .where(col(NotificationRow.channel).in_(list(channels)))
        .order_by(col(NotificationRow.channel), col(NotificationRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(query).all())
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=lease_s)
        row.updated_at = now
    session.flush()
    return rows


def fold_held_back(session: Session, row: NotificationRow) -> int:
    """Attach the open buckets of ROW's dedup key to ROW; add and return their repeat count."""
    assert row.id is not None
    folded = session.execute(
        update(NotificationRow)
        .where(col(NotificationRow.dedup_key) == row.dedup_key)
        .where(col(NotificationRow.status) == SUPPRESSED)
        .where(col(NotificationRow.folded_into).is_(None))
        .values(folded_into=row.id)
        .returning(col(NotificationRow.suppressed_count))
    ).all()
    count = sum(int(r[0]) for r in folded)
    row.suppressed_count += count
    session.flush()
    return count


def settle(
    session: Session,
    ids: Sequence[int],
    now: datetime,
    *,
    status: str,
    error: str | None = None,
    due_at: datetime | None = None,
) -> None:
    """Record the outcome of one delivery attempt for rows IDS."""
    session.execute(
        update(NotificationRow)
        .where(col(NotificationRow.id).in_(list(ids)))
        .values(
            status=status,
            last_error=error,
            next_attempt_at=due_at,
            sent_at=now if status == SENT else None,
            updated_at=now,
        )
    )


def requeue_failed(session: Session, now: datetime, channel: str | None = None) -> int:
    """Make failed rows (of CHANNEL, or all) pending again, due now; how many (after a fix)."""
    statement = (
        update(NotificationRow)
        .where(col(NotificationRow.status) == FAILED)
        .values(status=PENDING, next_attempt_at=now, attempts=0, updated_at=now)
    )
    if channel is not None:
        statement = statement.where(col(NotificationRow.channel) == channel)
    return int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


def channels_told(session: Session, incident_id: int) -> list[str]:
    """Channels told about this incident's current episode (escalation or approval request)."""
    rows = session.exec(
        model_select(NotificationRow)
        .where(NotificationRow.incident_id == incident_id)
        .where(NotificationRow.status != SUPPRESSED)
        .order_by(col(NotificationRow.id))
    ).all()
    told: dict[str, bool] = {}
    for row in rows:
        # A resolved notice closes the episode: only what came after it is still owed one.
        told[row.channel] = row.kind in ANNOUNCING_KINDS
    return [channel for channel, owed in told.items() if owed]


def count_by_status(session: Session, incident_id: int | None = None) -> dict[str, int]:
    """How many rows there are in each status (of one incident, or all)."""
    query = model_select(NotificationRow.status, func.count()).group_by(col(NotificationRow.status))
    if incident_id is not None:
        query = query.where(NotificationRow.incident_id == incident_id)
    return {status: int(n) for status, n in session.exec(query).all()}


def outbox_rows(
    session: Session, incident_id: int | None = None, status: str | None = None
) -> list[NotificationRow]:
    """Outbox rows, oldest first, optionally of one incident and one status."""
    query = model_select(NotificationRow).order_by(col(NotificationRow.id))
    if incident_id is not None:
        query = query.where(NotificationRow.incident_id == incident_id)
    if status is not None:
        query = query.where(NotificationRow.status == status)
    return list(session.exec(query).all())


def due_elsewhere(session: Session, now: datetime, channels: Sequence[str]) -> int:
    """Pending rows due by NOW for channels not in CHANNELS (no notifier here can send them)."""
    query = (
        model_select(func.count())
        .select_from(NotificationRow)
        .where(NotificationRow.status == PENDING)
        .where(col(NotificationRow.next_attempt_at) <= now)
        .where(col(NotificationRow.channel).not_in(list(channels)))
    )
    return int(session.exec(query).one())
