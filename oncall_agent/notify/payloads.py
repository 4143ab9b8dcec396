"""The JSON each webhook channel expects: a generic shape, Slack blocks, and Teams cards."""

from __future__ import annotations

from typing import Any

from oncall_agent.executors.base import truncate
from oncall_agent.notify.base import Notification

# Slack: a section's text is at most 3000 characters and a message at most 50 blocks.
SLACK_SECTION_CHARS = 2900
SLACK_MAX_SECTIONS = 20
# Teams refuses cards over about 28 KB; the body is kept well below that.
TEAMS_BODY_CHARS = 18000
TEAMS_MAX_LINES = 150
THEME = {"info": "2E86C1", "warning": "F1C40F", "error": "E67E22", "critical": "C0392B"}


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The generic webhook's JSON: every field of the notification, times in ISO 8601."""
    return {
        "incident_id": notification.incident_id,
        "incident_ids": notification.incident_ids or [notification.incident_id],
        "kind": notification.kind,
        "severity": notification.severity,
        "service": notification.service,
        "subject": notification.subject,
        "body": notification.body,
        "created_at": notification.created_at.isoformat(),
    }


def slack_escape(text: str) -> str:
    """TEXT safe for Slack mrkdwn: a log line holding `<!channel>` must not ping everyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chunks(text: str, size: int, limit: int) -> list[str]:
    """TEXT in pieces of at most SIZE characters, at most LIMIT pieces (the last one says so)."""
    pieces = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    if len(pieces) > limit:
        pieces = [*pieces[: limit - 1], "... (message cut; see the agent's store for the rest)"]
    return pieces


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: `text` for the notification, `blocks` for the message."""
    subject = slack_escape(notification.subject)
    sections = _chunks(slack_escape(notification.body), SLACK_SECTION_CHARS, SLACK_MAX_SECTIONS)
    return {
        "text": subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notification.subject[:150]}},
            *[
                {"type": "section", "text": {"type": "mrkdwn", "text": piece or " "}}
                for piece in sections
            ],
        ],
    }


def _teams_lines(body: str) -> list[str]:
    """The body's lines, bounded (each line becomes one wrapped TextBlock: newlines are lost)."""
    lines = truncate(body, TEAMS_BODY_CHARS).splitlines()
    if len(lines) > TEAMS_MAX_LINES:
        lines = [*lines[: TEAMS_MAX_LINES - 1], "... (message cut)"]
    return [line if line.strip() else " " for line in lines]


def teams_adaptive_card(notification: Notification) -> dict[str, Any]:
    """An Adaptive Card message, the shape Teams Workflows (Power Automate) webhooks accept."""
    title = {
        "type": "TextBlock",
        "text": notification.subject,
        "weight": "Bolder",
        "size": "Medium",
        "wrap": True,
        "color": "Attention" if notification.severity in ("error", "critical") else "Default",
    }
    lines = [
        {
            "type": "TextBlock",
            "text": line,
            "wrap": True,
            "spacing": "None",
            "fontType": "Monospace",
        }
        for line in _teams_lines(notification.body)
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [title, *lines],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def teams_message_card(notification: Notification) -> dict[str, Any]:
    """A legacy MessageCard, for Office 365 connector webhooks that still accept it."""
    # MessageCard text is markdown: two spaces before a newline keep the line breaks.
    text = "  \n".join(_teams_lines(notification.body))
    return {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notification.subject,
        "themeColor": THEME.get(notification.severity, THEME["critical"]),
        "title": notification.subject,
        "text": text,
    }
