"""Webhook channels: a generic JSON webhook, a Slack incoming webhook, a Microsoft Teams webhook.

Each is a small `Notifier` around `post_json`; we post Slack's and Teams' JSON ourselves with
httpx rather than through apprise, whose Slack plugin refuses local URLs and whose failures are
silent unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import httpx

from oncall_agent.notify.base import Notification
from oncall_agent.notify.payloads import (
    slack_payload,
    teams_adaptive_card,
    teams_message_card,
    webhook_payload,
)
from oncall_agent.notify.posting import post_json

TeamsCard = Literal["adaptive", "messagecard"]


class _JsonWebhook:
    """What the three webhook channels share: a secret URL, headers, a timeout, one payload."""

    def __init__(
        self,
        name: str,
        url: str,
        payload: Callable[[Notification], Any],
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._payload = payload
        self._headers = dict(headers or {})
        self.timeout_s = timeout_s
        self._transport = transport

    def secrets(self) -> list[str]:
        """The values no message may show: the URL (it embeds a token) and header values."""
        return [self._url, *self._headers.values()]

    def send(self, notification: Notification) -> None:
        """POST the notification; ChannelUnavailable / ChannelMisconfigured when it fails."""
        post_json(
            self.name,
            self._url,
            self._payload(notification),
            headers=self._headers,
            timeout_s=self.timeout_s,
            secrets=self.secrets(),
            transport=self._transport,
        )

    def __repr__(self) -> str:
        """Name only: the URL holds a token."""
        return f"{type(self).__name__}({self.name!r})"


class WebhookNotifier(_JsonWebhook):
    """A generic JSON webhook: posts every field of the notification (see `webhook_payload`)."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            name, url, webhook_payload, headers=headers, timeout_s=timeout_s, transport=transport
        )


class SlackNotifier(_JsonWebhook):
    """A Slack incoming webhook: `{"text": ..., "blocks": [...]}`."""

    def __init__(
        self,
        name: str,
        webhook_url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(name, webhook_url, slack_payload, timeout_s=timeout_s, transport=transport)


class TeamsNotifier(_JsonWebhook):
    """A Microsoft Teams webhook: an Adaptive Card (Workflows) or a legacy MessageCard."""

    def __init__(
        self,
        name: str,
        webhook_url: str,
        *,
        card: TeamsCard = "adaptive",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        payload = teams_adaptive_card if card == "adaptive" else teams_message_card
        super().__init__(name, webhook_url, payload, timeout_s=timeout_s, transport=transport)
