"""Durable delivery without storms: write every notification to the outbox, then send what is due.

enqueue        one pending row per channel, or, for a repeat within the repeat interval, a
               held-back count that the next message carries ("N more were held back")
dispatch_due   claims due rows, groups them per channel into one message, sends, and settles:
               sent; pending again with back-off (10 s doubling to 10 min, or the channel's
               Retry-After if longer); or failed when the channel refuses the request itself
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from itertools import groupby

from pydantic import BaseModel, Field
from sqlmodel import Session

from oncall_agent.errors import ChannelMisconfigured, ChannelUnavailable, NotificationError
from oncall_agent.notify.base import RESOLVED, Notification, Notifier
from oncall_agent.notify.compose import compose_digest, with_repeat_note
from oncall_agent.notify.routing import DEFAULT_REPEAT_INTERVAL_S
from oncall_agent.secrets import mask_secrets
from oncall_agent.store import notifications as outbox
from oncall_agent.store.tables import NotificationRow, utcnow

SessionFactory = Callable[[], AbstractContextManager[Session]]

FIRST_RETRY_S = 10.0
MAX_RETRY_S = 600.0
# Longer than one send can take (timeouts are ~10 s): a live dispatcher never loses its lease.
LEASE_S = 120.0
MAX_PER_MESSAGE = 20


class DispatchReport(BaseModel):
    """What one dispatch pass did."""

    messages: int = Field(default=0, description="Messages delivered (a digest counts once).")
    sent: int = Field(default=0, description="Outbox rows those messages covered.")
    retrying: int = Field(default=0, description="Rows put back with back-off.")
    failed: int = Field(default=0, description="Rows the channel refused: fix it, then requeue.")
    unserved: int = Field(default=0, description="Due rows for channels not configured here.")
    errors: list[str] = Field(default_factory=list, description="One line per failed attempt.")


def retry_delay_s(attempts: int, retry_after: float | None = None) -> float:
    """Back-off before the next attempt: 10 s doubling to 10 min, or Retry-After if longer."""
    delay = min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S)
    return max(delay, retry_after) if retry_after is not None else delay


def enqueue(
    session: Session,
    notification: Notification,
    channels: Iterable[str],
    repeat_interval_s: float = DEFAULT_REPEAT_INTERVAL_S,
    now: datetime | None = None,
    *,
    group_wait_s: float = 0.0,
    secrets: Iterable[str] = (),
) -> list[int]:
    """Write NOTIFICATION to the outbox for each channel; the ids of the rows written or bumped."""
    now = now or utcnow()
    known = list(secrets)
    since = now - timedelta(seconds=repeat_interval_s)
    kind, incident_id = notification.kind, notification.incident_id
    ids: list[int] = []
    for channel in dict.fromkeys(channels):
        # The hot path of a storm: one statement, nothing built or redacted.
        bucket = outbox.bump_if_held_back(session, incident_id, kind, channel, since, now)
        if bucket is not None:
            ids.append(bucket)
        elif outbox.is_held_back(session, incident_id, kind, channel, since):
            ids.append(outbox.add_bucket(session, _new_row(notification, channel, known, now)))
        else:
            due = now + timedelta(seconds=group_wait_s)
            row = _new_row(notification, channel, known, now, due)
            ids.append(_id(outbox.add_pending(session, row)))
    return ids


def enqueue_resolved(
    session: Session,
    notification: Notification,
    now: datetime | None = None,
    *,
    group_wait_s: float = 0.0,
    secrets: Iterable[str] = (),
) -> list[int]:
    """Owe a resolved notice only to the channels told about the incident's escalation."""
    assert notification.kind == RESOLVED
    channels = outbox.channels_told(session, notification.incident_id)
    return enqueue(
        session, notification, channels, now=now, group_wait_s=group_wait_s, secrets=secrets
    )


def dispatch_due(
    session_factory: SessionFactory,
    notifiers: Mapping[str, Notifier],
    now: datetime | None = None,
    secrets: Iterable[str] = (),
    *,
    limit: int = 500,
) -> DispatchReport:
    """Send every due outbox row the given notifiers serve; a channel that fails loses nothing."""
    now = now or utcnow()
    known = list(secrets)
    report = DispatchReport()
    with session_factory() as session:
        rows = outbox.claim_due(session, now, list(notifiers), LEASE_S, limit)
        for row in rows:
            outbox.fold_held_back(session, row)
        report.unserved = outbox.due_elsewhere(session, now, list(notifiers))
    for channel, group in groupby(rows, key=lambda r: r.channel):
        batch = list(group)
        for start in range(0, len(batch), MAX_PER_MESSAGE):
            chunk = batch[start : start + MAX_PER_MESSAGE]
            _deliver(session_factory, notifiers[channel], chunk, now, known, report)
    return report


def _message(rows: Sequence[NotificationRow], secrets: list[str]) -> Notification:
    """One message for ROWS (a digest if several), with repeat counts, redacted again."""
    parts = [with_repeat_note(_notification(row), row.suppressed_count) for row in rows]
    message = compose_digest(parts)
    return message.model_copy(
        update={
            "subject": mask_secrets(message.subject, secrets),
            "body": mask_secrets(message.body, secrets),
        }
    )


def _deliver(
    session_factory: SessionFactory,
    notifier: Notifier,
    rows: Sequence[NotificationRow],
    now: datetime,
    secrets: list[str],
    report: DispatchReport,
) -> None:
    """Send ROWS as one message through NOTIFIER and record what happened to each row."""
    ids = [_id(row) for row in rows]
    try:
        notifier.send(_message(rows, secrets))
    except ChannelMisconfigured as exc:
        _give_up(session_factory, ids, now, mask_secrets(str(exc), secrets), report)
    except NotificationError as exc:
        retry_after = exc.retry_after if isinstance(exc, ChannelUnavailable) else None
        _retry(session_factory, rows, now, mask_secrets(str(exc), secrets), retry_after, report)
    except Exception as exc:  # a broken notifier must not stop the other channels
        said = mask_secrets(str(exc), secrets)
        error = f"{notifier.name}: unexpected {type(exc).__name__}: {said}"
        _retry(session_factory, rows, now, error, None, report)
    else:
        with session_factory() as session:
            outbox.settle(session, ids, now, status=outbox.SENT)
        report.messages += 1
        report.sent += len(ids)


def _retry(
    session_factory: SessionFactory,
    rows: Sequence[NotificationRow],
    now: datetime,
    error: str,
    retry_after: float | None,
    report: DispatchReport,
) -> None:
    """Put ROWS back as pending, each due after its own back-off."""
    with session_factory() as session:
        for row in rows:
            due = now + timedelta(seconds=retry_delay_s(row.attempts, retry_after))
            outbox.settle(session, [_id(row)], now, status=outbox.PENDING, error=error, due_at=due)
    report.retrying += len(rows)
    report.errors.append(error)


def _give_up(
    session_factory: SessionFactory,
    ids: list[int],
    now: datetime,
    error: str,
    report: DispatchReport,
) -> None:
    """Mark rows failed: retrying a request the channel refuses cannot help until it is fixed."""
    with session_factory() as session:
        outbox.settle(session, ids, now, status=outbox.FAILED, error=error)
    report.failed += len(ids)
    report.errors.append(error)


def _new_row(
    notification: Notification,
    channel: str,
    secrets: list[str],
    now: datetime,
    due: datetime | None = None,
) -> NotificationRow:
    """An outbox row for NOTIFICATION on CHANNEL, its text redacted of SECRETS."""
    return NotificationRow(
        incident_id=notification.incident_id,
        channel=channel,
        kind=notification.kind,
        severity=notification.severity,
        service=notification.service or "",
        subject=mask_secrets(notification.subject, secrets)[:500],
        body=mask_secrets(notification.body, secrets),
        status=outbox.PENDING,
        dedup_key=outbox.dedup_key(notification.incident_id, notification.kind, channel),
        next_attempt_at=due,
        created_at=now,
        updated_at=now,
    )


def _notification(row: NotificationRow) -> Notification:
    """The notification an outbox row holds."""
    return Notification(
        incident_id=row.incident_id,
        kind=row.kind,
        severity=row.severity,
        service=row.service or None,
        subject=row.subject,
        body=row.body,
        created_at=row.created_at,
    )


def _id(row: NotificationRow) -> int:
    """The id of a stored row."""
    assert row.id is not None
    return row.id
