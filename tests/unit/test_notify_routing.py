"""Routing by service and severity, back-off arithmetic, Retry-After, and payload limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from oncall_agent.notify import Notification, RoutingConfig, retry_delay_s
from oncall_agent.notify.payloads import (
    SLACK_SECTION_CHARS,
    TEAMS_MAX_LINES,
    slack_payload,
    teams_adaptive_card,
    teams_message_card,
)
from oncall_agent.notify.posting import MAX_RETRY_AFTER_S, parse_retry_after, where


@pytest.fixture
def routing() -> RoutingConfig:
    """Payments errors to email and Slack; everything critical to Teams; default a webhook."""
    return RoutingConfig(
        routes=[
            {
                "services": ["payments"],
                "min_severity": "error",
                "channels": ["email/oncall-team", "slack/alerts"],
            },
            {"min_severity": "critical", "channels": ["teams/major", "slack/alerts"]},
        ],
        default_channels=["webhook/catch-all"],
    )


@pytest.mark.parametrize(
    ("service", "severity", "channels"),
    [
        ("payments", "error", ["email/oncall-team", "slack/alerts"]),
        ("payments", "critical", ["email/oncall-team", "slack/alerts", "teams/major"]),
        ("payments", "warning", ["webhook/catch-all"]),
        ("search", "critical", ["teams/major", "slack/alerts"]),
        ("search", "error", ["webhook/catch-all"]),
        (None, "panic", ["teams/major", "slack/alerts"]),
    ],
)
def test_channels_follow_service_and_minimum_severity(routing, service, severity, channels):
    """Every matching route contributes its channels once; nothing matching uses the default."""
    assert routing.channels_for(service, severity) == channels


def test_defaults_send_everything_to_the_console_every_four_hours():
    """With no configuration the console gets everything; the repeat interval is Alertmanager's."""
    config = RoutingConfig()
    assert config.channels_for("anything", "info") == ["console"]
    assert config.repeat_interval_s == 4 * 3600
    assert RoutingConfig(default_channels=[]).channels_for("x", "error") == ["console"]


@pytest.mark.parametrize("bad", ["slack", "pager/x", "email/Ops Team", "slack/", ""])
def test_malformed_channel_names_are_refused(bad):
    """A channel name must be console or <kind>/<block-name>; the error says the expected shape."""
    with pytest.raises(ValidationError, match="must be 'console' or '<kind>/<block-name>'"):
        RoutingConfig(routes=[{"channels": [bad]}])


def test_backoff_doubles_from_ten_seconds_to_ten_minutes():
    """Retries wait 10, 20, 40 ... seconds, never more than 600."""
    assert [retry_delay_s(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]


def test_retry_after_lengthens_but_never_shortens_the_backoff():
    """A server's Retry-After is honored when longer than the back-off, ignored when shorter."""
    assert retry_delay_s(1, retry_after=120) == 120
    assert retry_delay_s(5, retry_after=3) == 160


def test_retry_after_header_forms():
    """Retry-After in seconds or as an HTTP date gives seconds; junk gives None; caps hold."""
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("90") == 90
    assert parse_retry_after("Sat, 01 Mar 2025 12:02:00 GMT", now) == 120
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0
    assert parse_retry_after("999999") == MAX_RETRY_AFTER_S


def test_where_shows_host_but_not_the_token():
    """Error messages name a webhook by scheme, host and port only."""
    url = "https://hooks.slack.com:443/services/T000/B000/SECRET?x=1"
    assert where(url) == "https://hooks.slack.com:443"


def _long(lines: int, width: int = 80) -> Notification:
    """A notification with a long body."""
    return Notification(
        incident_id=1,
        kind="digest",
        severity="warning",
        subject="s",
        body="\n".join(f"{i:05d} " + "z" * width for i in range(lines)),
    )


def test_slack_sections_stay_within_slack_limits():
    """A long body is split into sections of at most 3000 characters and at most 50 blocks."""
    blocks = slack_payload(_long(2000))["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= min(SLACK_SECTION_CHARS, 3000) for b in blocks[1:])


def test_teams_cards_stay_bounded():
    """Teams cards keep a bounded number of lines and say when the message was cut."""
    card = teams_adaptive_card(_long(1000, width=10))["attachments"][0]["content"]
    assert len(card["body"]) == TEAMS_MAX_LINES + 1
    assert card["body"][-1]["text"] == "... (message cut)"
    assert teams_message_card(_long(3))["themeColor"] == "F1C40F"
