"""Repository functions for the notification outbox: add, hold back repeats, claim, settle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlmodel import Session, col
from sqlmodel import select as model_select

from oncall_agent.store.tables import NotificationRow, UTCDateTime

PENDING, SENT, FAILED, SUPPRESSED = "pending", "sent", "failed", "suppressed"
# Kinds after which a "resolved" notice is owed to the same channels.
ANNOUNCING_KINDS = ("escalation", "approval_requested")


def dedup_key(incident_id: int, kind: str, channel: str) -> str:
    """The unit of the repeat interval: one incident, one kind, one channel."""
    return f"{incident_id}:{kind}:{channel}"


_T = NotificationRow.__table__  # type: ignore[attr-defined]
_LAST, _MAX = _T.alias("last_announced"), _T.alias("newer")
# "Held back": the newest row sent (or to be sent) for this incident and channel is of the same
# kind and is still pending or went out within the repeat interval. Another kind in between
# (a resolved notice) means the incident changed state, which is always worth telling.
_NEWEST_ID = (
    select(func.max(_MAX.c.id))
    .where(
        _MAX.c.incident_id == bindparam("b_incident_id"), _MAX.c.channel == bindparam("b_channel")
    )
    .where(_MAX.c.status != SUPPRESSED)
    .scalar_subquery()
)
_HELD_BACK = exists().where(
    _LAST.c.id == _NEWEST_ID,
    _LAST.c.kind == bindparam("b_kind"),
    or_(
        _LAST.c.status == PENDING,
        func.coalesce(_LAST.c.sent_at, _LAST.c.created_at)
        > bindparam("b_since", type_=UTCDateTime()),
    ),
)
# Built once: a storm runs this per notification, and compiling it each time cost more than
# running it. One round trip on the hot path: bump the open bucket if the repeat is held back.
_BUMP_IF_HELD_BACK = (
    update(_T)
    .where(_T.c.dedup_key == bindparam("b_key"), _T.c.status == SUPPRESSED)
    .where(_T.c.folded_into.is_(None), _HELD_BACK)
    .values(
        suppressed_count=_T.c.suppressed_count + 1,
        updated_at=bindparam("b_now", type_=UTCDateTime()),
    )
    .returning(_T.c.id)
)
_IS_HELD_BACK = select(_HELD_BACK)


def _params(incident_id: int, kind: str, channel: str, since: datetime) -> dict[str, object]:
    """Bind values of the held-back test."""
    return {"b_incident_id": incident_id, "b_kind": kind, "b_channel": channel, "b_since": since}


def bump_if_held_back(
    session: Session, incident_id: int, kind: str, channel: str, since: datetime, now: datetime
) -> int | None:
    """Count a repeat in its open bucket if it is held back; the bucket's id, else None."""
    params = _params(incident_id, kind, channel, since)
    params |= {"b_key": dedup_key(incident_id, kind, channel), "b_now": now}
    bumped = session.connection().execute(_BUMP_IF_HELD_BACK, params).first()
    return int(bumped[0]) if bumped is not None else None


def is_held_back(
    session: Session, incident_id: int, kind: str, channel: str, since: datetime
) -> bool:
    """Whether a KIND notice now repeats one sent since SINCE (or still pending) on CHANNEL."""
    params = _params(incident_id, kind, channel, since)
    return bool(session.connection().execute(_IS_HELD_BACK, params).scalar())


def add_pending(session: Session, row: NotificationRow) -> NotificationRow:
    """Store ROW as pending (due at its next_attempt_at) and return it with its id."""
    row.status = PENDING
    session.add(row)
    session.flush()
    return row


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
