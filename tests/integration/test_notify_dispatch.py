"""The outbox on SQLite and PostgreSQL: nothing lost while a channel is down, no storms, groups."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from oncall_agent.notify import (
    ConsoleOutboxNotifier,
    Notification,
    Notifier,
    RoutedOutbox,
    RoutingConfig,
    SlackNotifier,
    SmtpEmailNotifier,
    WebhookNotifier,
    dispatch_due,
    enqueue,
    enqueue_resolved,
)
from oncall_agent.store.engine import session_scope
from oncall_agent.store.notifications import count_by_status, outbox_rows, requeue_failed
from oncall_agent.store.tables import NotificationRow
from tests.integration.notify_receivers import Inbox, Receiver, free_port

pytestmark = pytest.mark.integration

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CANARY = "canary-secret-5e1d7b"
HOUR = timedelta(hours=1)


@pytest.fixture
def store(engine):
    """A session factory on a fresh, migrated store."""
    return lambda: session_scope(engine)


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1."""
    rec = Receiver().start()
    yield rec
    rec.stop()


def _note(incident_id: int = 1, kind: str = "escalation", body: str = "disk full") -> Notification:
    """A notification about INCIDENT_ID."""
    return Notification(
        incident_id=incident_id,
        kind=kind,
        severity="error",
        service="payments",
        subject=f"[oncall] {kind} #{incident_id}",
        body=body,
    )


def _put(store, note, channels, at, **kwargs) -> list[int]:
    """Enqueue NOTE for CHANNELS at time AT."""
    with store() as session:
        return enqueue(session, note, channels, now=at, **kwargs)


def _rows(store, **filters) -> list[NotificationRow]:
    """Outbox rows."""
    with store() as session:
        return outbox_rows(session, **filters)


def test_smtp_down_keeps_rows_pending_with_backoff_then_delivers(store):
    """While SMTP refuses, the row stays pending with 10 s doubling back-off; then it arrives."""
    port = free_port()
    email = SmtpEmailNotifier(
        "email/oncall",
        host="127.0.0.1",
        port=port,
        sender="a@example.org",
        recipients=["ops@example.org"],
        security="plain",
        timeout_s=2,
    )
    notifiers = {"email/oncall": email}
    _put(store, _note(), ["email/oncall"], T0)
    first = dispatch_due(store, notifiers, T0)
    assert (first.sent, first.retrying) == (0, 1)
    [row] = _rows(store)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        T0 + timedelta(seconds=10),
    )
    assert "unavailable" in (row.last_error or "")
    assert dispatch_due(store, notifiers, T0 + timedelta(seconds=9)).retrying == 0  # not due yet
    dispatch_due(store, notifiers, T0 + timedelta(seconds=10))
    assert _rows(store)[0].next_attempt_at == T0 + timedelta(seconds=30)  # 10 s, then 20 s
    with Inbox(port) as inbox:
        done = dispatch_due(store, notifiers, T0 + timedelta(seconds=30))
    assert (done.messages, done.sent) == (1, 1)
    assert [m["Subject"] for _, m in inbox.messages] == ["[oncall] escalation #1"]
    assert _rows(store)[0].status == "sent"


def test_webhook_429_is_retried_after_its_retry_after(store, receiver):
    """A 429 with Retry-After: 120 puts the row back for 120 s (not 10), then it is delivered."""
    receiver.answer(429, "rate limited", Retry_After="120")
    notifiers = {"teams/ops": WebhookNotifier("teams/ops", receiver.url())}
    _put(store, _note(), ["teams/ops"], T0)
    assert dispatch_due(store, notifiers, T0).retrying == 1
    assert _rows(store)[0].next_attempt_at == T0 + timedelta(seconds=120)
    assert dispatch_due(store, notifiers, T0 + timedelta(seconds=60)).sent == 0
    assert dispatch_due(store, notifiers, T0 + timedelta(seconds=120)).sent == 1
    assert len(receiver.posts) == 2
    assert _rows(store)[0].status == "sent"


def test_storm_of_ten_thousand_escalations_sends_one_message(store, receiver):
    """10,000 escalations of one incident within the interval give one message with the count."""
    notifiers = {"slack/alerts": SlackNotifier("slack/alerts", receiver.url())}
    # Many short transactions, as escalations arrive from separate resolution runs.
    for batch in range(100):
        with store() as session:
            for i in range(batch * 100, batch * 100 + 100):
                enqueue(session, _note(7), ["slack/alerts"], now=T0 + timedelta(milliseconds=i))
    report = dispatch_due(store, notifiers, T0 + timedelta(seconds=30))
    assert report.messages == 1
    assert len(receiver.posts) == 1
    assert "9999 more notification(s)" in receiver.posts[0].body.decode()
    with store() as session:
        assert count_by_status(session, 7) == {"sent": 1, "suppressed": 1}
    dispatch_due(store, notifiers, T0 + 3 * HOUR)
    assert len(receiver.posts) == 1


def test_repeats_after_a_send_are_folded_into_the_next_interval(store, receiver):
    """Repeats held back after a message are counted in the next one, sent after the interval."""
    notifiers = {"webhook/ops": WebhookNotifier("webhook/ops", receiver.url())}
    _put(store, _note(3), ["webhook/ops"], T0)
    dispatch_due(store, notifiers, T0)
    for minute in range(1, 6):
        _put(store, _note(3), ["webhook/ops"], T0 + timedelta(minutes=minute))
    assert dispatch_due(store, notifiers, T0 + HOUR).messages == 0
    _put(store, _note(3), ["webhook/ops"], T0 + 4 * HOUR + timedelta(seconds=1))
    assert dispatch_due(store, notifiers, T0 + 5 * HOUR).messages == 1
    bodies = [post.json()["body"] for post in receiver.posts]
    assert "held back" not in bodies[0]
    assert "5 more notification(s)" in bodies[1]


def test_incidents_due_together_share_one_message_per_channel(store, receiver):
    """Three incidents enqueued within the group wait reach each channel as one digest."""
    notifiers: dict[str, Notifier] = {
        "slack/alerts": SlackNotifier("slack/alerts", receiver.url("/slack")),
        "webhook/ops": WebhookNotifier("webhook/ops", receiver.url("/ops")),
    }
    for n in (1, 2, 3):
        _put(
            store,
            _note(n),
            ["slack/alerts", "webhook/ops"],
            T0 + timedelta(seconds=n),
            group_wait_s=30,
        )
    assert dispatch_due(store, notifiers, T0 + timedelta(seconds=20)).messages == 0
    report = dispatch_due(store, notifiers, T0 + timedelta(seconds=40))
    assert (report.messages, report.sent) == (2, 6)
    by_path = {post.path: post.json() for post in receiver.posts}
    assert by_path["/ops"]["incident_ids"] == [1, 2, 3]
    assert by_path["/ops"]["kind"] == "digest"
    assert "#1 escalation, #2 escalation, #3 escalation" in by_path["/slack"]["text"]


def test_resolved_notice_goes_only_to_channels_told_about_the_escalation(store):
    """A resolved notice is owed to the channels that got the escalation, and to no others."""
    _put(store, _note(1), ["email/oncall", "slack/alerts"], T0)
    _put(store, _note(2), ["slack/alerts"], T0)
    with store() as session:
        told = enqueue_resolved(session, _note(1, kind="resolved"), T0 + HOUR)
        never_escalated = enqueue_resolved(session, _note(9, kind="resolved"), T0 + HOUR)
    assert never_escalated == []
    assert {r.channel for r in _rows(store, incident_id=1) if r.id in told} == {
        "email/oncall",
        "slack/alerts",
    }
    # The episode is closed: a second resolved notice is owed to nobody.
    with store() as session:
        assert enqueue_resolved(session, _note(1, kind="resolved"), T0 + 2 * HOUR) == []


def test_reescalation_after_resolution_is_not_held_back(store):
    """An incident that resolved and escalates again inside the interval is announced again."""
    _put(store, _note(4), ["slack/alerts"], T0)
    with store() as session:
        enqueue_resolved(session, _note(4, kind="resolved"), T0 + HOUR)
    _put(store, _note(4), ["slack/alerts"], T0 + 2 * HOUR)
    assert [r.status for r in _rows(store, incident_id=4)] == ["pending"] * 3


def test_canary_secret_never_reaches_rows_or_receivers(store, receiver, tmp_path):
    """A known secret in a body is redacted in the stored row, the email and the webhook post."""
    note = _note(5, body=f"login failed for db, key {CANARY}, Authorization: Bearer abcdef123456")
    _put(store, note, ["webhook/ops", "console"], T0, secrets=[CANARY])
    outbox_file = tmp_path / "outbox.jsonl"
    notifiers: dict[str, Notifier] = {
        "webhook/ops": WebhookNotifier("webhook/ops", receiver.url()),
        "console": ConsoleOutboxNotifier(outbox_file, stream=io.StringIO()),
    }
    assert dispatch_due(store, notifiers, T0, secrets=[CANARY]).sent == 2
    stored = " ".join(r.body for r in _rows(store))
    delivered = receiver.posts[0].body.decode() + outbox_file.read_text()
    for text in (stored, delivered):
        assert CANARY not in text
        assert "abcdef123456" not in text
        assert "[REDACTED]" in text


def test_refused_message_fails_then_is_delivered_after_requeue(store, receiver):
    """A 404 marks the row failed (no token in the error); after a fix, requeue delivers it."""
    receiver.answer(404, "no_service")
    url = receiver.url("/services/T0KEN-XYZ")
    notifiers = {"slack/alerts": SlackNotifier("slack/alerts", url)}
    _put(store, _note(), ["slack/alerts"], T0)
    report = dispatch_due(store, notifiers, T0, secrets=[url])
    assert report.failed == 1
    [row] = _rows(store)
    assert row.status == "failed"
    assert "configuration is wrong" in (row.last_error or "")
    assert "T0KEN-XYZ" not in (row.last_error or "")
    with store() as session:
        assert requeue_failed(session, T0 + HOUR, channel="slack/alerts") == 1
    assert dispatch_due(store, notifiers, T0 + HOUR).sent == 1


def test_channel_without_notifier_waits_and_a_broken_one_does_not_stop_others(store, receiver):
    """Rows for an unconfigured channel stay pending; a notifier bug only delays its own rows."""

    class Broken:
        name = "webhook/broken"

        def send(self, notification: Notification) -> None:
            raise RuntimeError("bug")

    notifiers: dict[str, Notifier] = {
        "webhook/broken": Broken(),
        "webhook/ops": WebhookNotifier("ops", receiver.url()),
    }
    _put(store, _note(), ["teams/elsewhere", "webhook/broken", "webhook/ops"], T0)
    report = dispatch_due(store, notifiers, T0)
    assert (report.sent, report.retrying, report.unserved) == (1, 1, 1)
    assert "unexpected RuntimeError" in report.errors[0]
    statuses = {r.channel: r.status for r in _rows(store)}
    assert statuses == {
        "teams/elsewhere": "pending",
        "webhook/broken": "pending",
        "webhook/ops": "sent",
    }


def test_a_second_dispatcher_does_not_resend_a_row_in_flight(store, receiver):
    """While one dispatcher is sending a row, another dispatcher pass does not send it again."""
    inner: list[int] = []
    webhook = WebhookNotifier("webhook/ops", receiver.url())

    class Racing:
        name = "webhook/ops"

        def send(self, notification: Notification) -> None:
            inner.append(dispatch_due(store, {"webhook/ops": webhook}, T0).sent)
            webhook.send(notification)

    _put(store, _note(), ["webhook/ops"], T0)
    assert dispatch_due(store, {"webhook/ops": Racing()}, T0).sent == 1
    assert inner == [0]
    assert len(receiver.posts) == 1


def test_routed_outbox_routes_by_service_and_falls_back_to_console(store, tmp_path):
    """RoutedOutbox stores rows for the routed channels; unrouted services go to the console."""
    routing = RoutingConfig(
        routes=[
            {
                "services": ["payments"],
                "min_severity": "error",
                "channels": ["email/oncall-team", "slack/alerts"],
            }
        ],
        group_wait_s=0,
    )
    outbox = RoutedOutbox(store, routing, clock=lambda: T0)
    outbox.send(_note(1))
    outbox.send(_note(2).model_copy(update={"service": "search"}))
    channels = {(r.incident_id, r.channel) for r in _rows(store)}
    assert channels == {(1, "email/oncall-team"), (1, "slack/alerts"), (2, "console")}
    console = ConsoleOutboxNotifier(tmp_path / "outbox.jsonl", stream=io.StringIO())
    assert dispatch_due(store, {"console": console}, T0).sent == 1
    assert '"incident_id":2' in (tmp_path / "outbox.jsonl").read_text()
