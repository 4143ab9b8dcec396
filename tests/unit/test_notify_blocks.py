"""Notification blocks: Prefect's block standards, hidden secrets, and the notifiers they build."""

from __future__ import annotations

import asyncio
import enum
from types import SimpleNamespace

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

from blocks.notifications import (
    NOTIFICATION_BLOCKS,
    EmailChannel,
    NotificationRouting,
    SlackChannel,
    TeamsChannel,
    WebhookChannel,
    aload_notifiers,
)
from oncall_agent.errors import ConfigError
from oncall_agent.notify import (
    ConsoleOutboxNotifier,
    SlackNotifier,
    SmtpEmailNotifier,
    TeamsNotifier,
    WebhookNotifier,
)

CANARY = "canary-31d4c9aa"


class TestBlockStandards(BlockStandardTestSuite):
    """Prefect's own block checks (description, field docs, code example) for every block."""

    @pytest.fixture(params=NOTIFICATION_BLOCKS, ids=lambda b: b.__name__)
    def block(self, request):
        """Each notification block class."""
        return request.param


def _channels() -> list:
    """One instance of each channel block, every secret set to the canary."""
    return [
        EmailChannel(
            host="smtp.example.org",
            username="bot",
            password=CANARY,
            from_address="bot@example.org",
            to=["ops@example.org"],
        ),
        WebhookChannel(
            url=f"https://hooks.example.org/{CANARY}", headers={"Authorization": CANARY}
        ),
        SlackChannel(webhook_url=f"https://hooks.slack.com/services/{CANARY}"),
        TeamsChannel(
            webhook_url=f"https://example.webhook.office.com/{CANARY}", card="messagecard"
        ),
    ]


@pytest.mark.parametrize("channel", _channels(), ids=lambda c: type(c).__name__)
def test_secrets_are_hidden_in_dumps_and_reprs(channel):
    """model_dump, its JSON form and repr never show a secret; secret_values returns it."""
    for shown in (str(channel.model_dump()), channel.model_dump_json(), repr(channel)):
        assert CANARY not in shown
    assert any(CANARY in value for value in channel.secret_values())
    assert CANARY not in repr(channel.build_notifier())


def test_blocks_build_their_notifiers():
    """Each block builds the notifier of its kind, named by kind (and block name when saved)."""
    built = [channel.build_notifier() for channel in _channels()]
    kinds = [SmtpEmailNotifier, WebhookNotifier, SlackNotifier, TeamsNotifier]
    assert [type(n) for n in built] == kinds
    assert [n.name for n in built] == [
        "email/unsaved",
        "webhook/unsaved",
        "slack/unsaved",
        "teams/unsaved",
    ]
    email = built[0]
    assert isinstance(email, SmtpEmailNotifier)
    assert (email.host, email.port, email.security, email.recipients) == (
        "smtp.example.org",
        587,
        "starttls",
        ["ops@example.org"],
    )


def test_a_bad_webhook_url_is_refused_without_echoing_it():
    """A webhook URL that is not http(s) fails validation; the error does not repeat it."""
    with pytest.raises(ValidationError, match="http:// or https://") as caught:
        SlackChannel(webhook_url=f"hooks.slack.com/{CANARY}")
    assert CANARY not in str(caught.value)


def test_email_addresses_cannot_smuggle_headers():
    """An address with a line break (header injection) or without @ is refused."""
    with pytest.raises(ValidationError, match="not an email address"):
        EmailChannel(host="h", from_address="a@b\nBcc: x@y", to=["ops@example.org"])
    with pytest.raises(ValidationError, match="not an email address"):
        EmailChannel(host="h", from_address="a@b", to=["ops"])


class SMTPType(enum.Enum):
    """Stand-in for prefect-email's SMTPType (same names and values)."""

    SSL = 465
    STARTTLS = 587
    INSECURE = 25


def test_email_channel_from_prefect_email_credentials():
    """prefect-email's EmailServerCredentials fields map onto an EmailChannel."""
    credentials = SimpleNamespace(
        smtp_server="smtp.example.org",
        smtp_port=None,
        smtp_type=SMTPType.SSL,
        username="bot@example.org",
        password=SecretStr(CANARY),
    )
    channel = EmailChannel.from_email_server_credentials(
        credentials, from_address="bot@example.org", to=["ops@example.org"]
    )
    assert (channel.host, channel.port, channel.security) == ("smtp.example.org", 465, "ssl")
    assert channel.secret_values() == [CANARY]


def test_routing_block_is_the_core_routing():
    """The routing block validates like the core config and routes the same way."""
    block = NotificationRouting(
        routes=[{"services": ["payments"], "min_severity": "error", "channels": ["slack/alerts"]}],
        repeat_interval_s=600,
    )
    assert block.channels_for("payments", "critical") == ["slack/alerts"]
    assert block.config().repeat_interval_s == 600
    assert block.config().channels_for("search", "critical") == ["console"]


def test_loading_console_needs_no_block_and_unknown_kinds_are_refused(tmp_path):
    """`console` maps to the fallback notifier; an unknown channel kind is a ConfigError."""
    fallback = ConsoleOutboxNotifier(tmp_path / "outbox.jsonl")
    notifiers, secrets = asyncio.run(aload_notifiers(["console"], fallback))
    assert notifiers == {"console": fallback}
    assert secrets == []
    with pytest.raises(ConfigError, match="pager/x"):
        asyncio.run(aload_notifiers(["pager/x"], fallback))
