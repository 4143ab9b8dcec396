"""Each channel against a real receiver on 127.0.0.1: aiosmtpd for email, http.server for hooks."""

from __future__ import annotations

from typing import Any

import pytest

from oncall_agent.errors import ChannelMisconfigured, ChannelUnavailable
from oncall_agent.notify import (
    Notification,
    SlackNotifier,
    SmtpEmailNotifier,
    TeamsNotifier,
    WebhookNotifier,
)
from tests.integration.notify_receivers import USERNAME, Inbox, Receiver, free_port, self_signed

pytestmark = pytest.mark.integration

CANARY = "canary-7f3a9c1e5b"
TOKEN = "T0KEN-b8d2e4"


@pytest.fixture
def note() -> Notification:
    """An escalation with a multi-line body and a Slack mention that must not ping anyone."""
    return Notification(
        incident_id=42,
        kind="escalation",
        severity="critical",
        service="payments",
        subject="[oncall] escalated #42 payments: DB down",
        body="Incident #42: DB down\nSamples:\n  <!channel> connection refused & retry",
    )


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1."""
    rec = Receiver().start()
    yield rec
    rec.stop()


def _email(port: int, **kwargs: Any) -> SmtpEmailNotifier:
    """An email notifier for the local server on PORT."""
    settings: dict[str, Any] = {"security": "plain", "timeout_s": 5.0} | kwargs
    return SmtpEmailNotifier(
        "email/oncall",
        host="127.0.0.1",
        port=port,
        sender="agent@example.org",
        recipients=["ops@example.org", "lead@example.org"],
        **settings,
    )


def test_email_arrives_with_subject_body_and_recipients(note):
    """An email reaches the SMTP server with the subject, body, recipients and incident header."""
    with Inbox() as inbox:
        _email(inbox.port).send(note)
    [(rcpts, message)] = inbox.messages
    assert rcpts == ["ops@example.org", "lead@example.org"]
    assert message["Subject"] == note.subject
    assert message["From"] == "agent@example.org"
    assert message["X-Oncall-Incident"] == "42"
    assert "connection refused" in message.as_string()


def test_email_login_uses_the_password_and_never_sends_it(note):
    """With a username the channel logs in; the password is used for login only."""
    with Inbox(password=CANARY) as inbox:
        _email(inbox.port, username=USERNAME, password=CANARY).send(note)
    assert inbox.logins == [(USERNAME, CANARY)]
    [(_, message)] = inbox.messages
    assert CANARY not in message.as_string()


def test_wrong_password_is_a_configuration_error_without_the_password(note):
    """A refused login raises ChannelMisconfigured naming the user, never the password."""
    with Inbox(password="right-one") as inbox:
        notifier = _email(inbox.port, username=USERNAME, password=CANARY)
        with pytest.raises(ChannelMisconfigured, match="refused the login") as caught:
            notifier.send(note)
    assert CANARY not in str(caught.value)
    assert inbox.messages == []


def test_starttls_and_implicit_tls_deliver(note, tmp_path):
    """STARTTLS on a plain port and implicit TLS (SMTPS) both deliver with a trusted certificate."""
    server_ctx, client_ctx, _ = self_signed(tmp_path)
    with Inbox(starttls=server_ctx) as inbox:
        _email(inbox.port, security="starttls", ssl_context=client_ctx).send(note)
    with Inbox(implicit_tls=server_ctx) as smtps:
        _email(smtps.port, security="ssl", ssl_context=client_ctx).send(note)
    assert len(inbox.messages) == 1
    assert len(smtps.messages) == 1


def test_untrusted_certificate_is_a_configuration_error(note, tmp_path):
    """A server certificate the client cannot verify is reported as a configuration problem."""
    server_ctx, _, _ = self_signed(tmp_path)
    with Inbox(starttls=server_ctx) as inbox, pytest.raises(ChannelMisconfigured, match="CA"):
        _email(inbox.port, security="starttls").send(note)


def test_smtp_down_is_transient(note):
    """Nobody listening on the SMTP port raises ChannelUnavailable (retry later)."""
    with pytest.raises(ChannelUnavailable, match="unavailable"):
        _email(free_port()).send(note)


def test_webhook_posts_every_field_with_headers(note, receiver):
    """The generic webhook POSTs the notification's fields as JSON, with the configured headers."""
    WebhookNotifier("webhook/ops", receiver.url(), headers={"X-Api-Key": TOKEN}).send(note)
    [post] = receiver.posts
    assert post.headers["X-Api-Key"] == TOKEN
    assert post.json() | {"created_at": None} == {
        "incident_id": 42,
        "incident_ids": [42],
        "kind": "escalation",
        "severity": "critical",
        "service": "payments",
        "subject": note.subject,
        "body": note.body,
        "created_at": None,
    }


def test_slack_gets_text_and_blocks_with_mentions_escaped(note, receiver):
    """Slack receives {"text", "blocks"}; a `<!channel>` in a log sample is escaped."""
    SlackNotifier("slack/alerts", receiver.url("/services/T/B/x")).send(note)
    payload = receiver.posts[0].json()
    assert payload["text"] == note.subject
    header, section = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": note.subject}}
    assert section["text"]["type"] == "mrkdwn"
    assert "&lt;!channel&gt; connection refused &amp; retry" in section["text"]["text"]
    assert "<!channel>" not in receiver.posts[0].body.decode()


def test_teams_gets_an_adaptive_card_or_a_message_card(note, receiver):
    """Teams receives an Adaptive Card message by default, or a legacy MessageCard if chosen."""
    TeamsNotifier("teams/ops", receiver.url()).send(note)
    TeamsNotifier("teams/legacy", receiver.url(), card="messagecard").send(note)
    adaptive, legacy = (post.json() for post in receiver.posts)
    [attachment] = adaptive["attachments"]
    assert adaptive["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [block["text"] for block in attachment["content"]["body"]]
    assert texts[0] == note.subject
    assert "  <!channel> connection refused & retry" in texts
    assert legacy["@type"] == "MessageCard"
    assert legacy["title"] == note.subject
    assert "Samples:" in legacy["text"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_broken_webhook_is_transient_with_retry_after(note, receiver, status):
    """429 and 5xx raise ChannelUnavailable carrying the server's Retry-After in seconds."""
    receiver.answer(status, "slow down", Retry_After="90")
    with pytest.raises(ChannelUnavailable, match=str(status)) as caught:
        SlackNotifier("slack/alerts", receiver.url(f"/services/{TOKEN}")).send(note)
    assert caught.value.retry_after == 90
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_refusing_webhook_is_a_configuration_error_without_the_token(note, receiver, status):
    """4xx other than 429 raises ChannelMisconfigured; the URL's token never appears in it."""
    receiver.answer(status, "invalid_token")
    with pytest.raises(ChannelMisconfigured, match="configuration is wrong") as caught:
        TeamsNotifier("teams/ops", receiver.url(f"/webhook?sig={TOKEN}")).send(note)
    assert TOKEN not in str(caught.value)
    assert "invalid_token" in str(caught.value)


def test_webhook_timeout_and_refused_connection_are_transient(note, receiver):
    """A receiver slower than the timeout, or nobody listening, raises ChannelUnavailable."""
    receiver.delay_s = 0.5
    with pytest.raises(ChannelUnavailable, match=r"did not answer within 0\.1 s"):
        WebhookNotifier("webhook/ops", receiver.url(), timeout_s=0.1).send(note)
    with pytest.raises(ChannelUnavailable, match="cannot reach"):
        WebhookNotifier("webhook/ops", f"http://127.0.0.1:{free_port()}/h").send(note)


def test_not_an_http_url_is_a_configuration_error(note):
    """A webhook URL without http(s) is refused as configuration, without echoing it."""
    with pytest.raises(ChannelMisconfigured, match="not a usable") as caught:
        SlackNotifier("slack/alerts", f"hooks.slack.com/services/{TOKEN}").send(note)
    assert TOKEN not in str(caught.value)
