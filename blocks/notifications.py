"""Blocks for telling humans: four channels (email, webhook, Slack, Teams) and the routing.

A route names channels as `<kind>/<block name>`: `email/oncall-team` is the `EmailChannel` block
saved as "oncall-team". `console` is the built-in fallback (print + outbox file). Secrets (the
SMTP password, webhook URLs, which embed their token, and header values) are SecretStr fields.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any, ClassVar, Literal, cast

from prefect.blocks.core import Block
from prefect.types import SecretDict
from pydantic import ConfigDict, Field, HttpUrl, SecretStr, field_validator

from oncall_agent.errors import ConfigError
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.routing import CONSOLE, RoutingConfig
from oncall_agent.notify.smtp import SmtpEmailNotifier
from oncall_agent.notify.webhook import SlackNotifier, TeamsNotifier, WebhookNotifier


def _example(name: str) -> str:
    """The code example Prefect shows for block class NAME."""
    return (
        f"```python\nfrom blocks.notifications import {name}\n\n"
        f'channel = {name}.load("BLOCK_NAME")\n```'
    )


def _http_url(value: SecretStr) -> SecretStr:
    """VALUE if it is an http(s) URL; the error never repeats the URL (it holds a token)."""
    if not value.get_secret_value().startswith(("https://", "http://")):
        raise ValueError("must be an http:// or https:// URL (the value is not shown: a secret)")
    return value


class _ChannelBlock(Block):
    """What every channel block offers: a notifier, and its secrets for redaction."""

    # Validation errors must not echo a value back: it may be a webhook URL with its token.
    model_config = ConfigDict(hide_input_in_errors=True)

    kind: ClassVar[str] = ""
    timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Seconds before a send gives up and retries later."
    )

    def channel_name(self) -> str:
        """`<kind>/<block name>`, the name routes use."""
        return f"{self.kind}/{self._block_document_name or 'unsaved'}"

    def build_notifier(self) -> Notifier:
        """The channel this block describes."""
        raise NotImplementedError

    def secret_values(self) -> list[str]:
        """The plaintext secrets of this block, for redaction only (never logged)."""
        return []


class EmailChannel(_ChannelBlock):
    """An SMTP server and the recipients who get the on-call agent's emails."""

    kind: ClassVar[str] = "email"
    _block_type_name = "Oncall Email Channel"
    _block_type_slug = "oncall-email-channel"
    _description = "Send the on-call agent's notifications by email through an SMTP server."
    _documentation_url = HttpUrl("https://docs.python.org/3/library/smtplib.html")
    _code_example = _example("EmailChannel")

    host: str = Field(..., description="SMTP server host name or address.")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    security: Literal["starttls", "ssl", "plain"] = Field(
        default="starttls", description="starttls (port 587), ssl (port 465) or plain (no TLS)."
    )
    username: str | None = Field(default=None, description="Login name; empty for no login.")
    password: SecretStr | None = Field(default=None, description="Login password.")
    from_address: str = Field(..., description="The From address of every email.")
    to: list[str] = Field(..., min_length=1, description="Recipient addresses.")
    ca_file: str | None = Field(
        default=None, description="CA bundle that signed the server's certificate, if private."
    )

    @field_validator("from_address", "to")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        """Each address holds an @ and no whitespace (a line break would forge headers)."""
        for address in [value] if isinstance(value, str) else value:
            if "@" not in address or any(ch.isspace() for ch in address):
                raise ValueError(f"{address!r} is not an email address")
        return value

    def build_notifier(self) -> SmtpEmailNotifier:
        """An SMTP email notifier with this block's server, login and recipients."""
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        return SmtpEmailNotifier(
            self.channel_name(),
            host=self.host,
            port=self.port,
            security=self.security,
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            sender=self.from_address,
            recipients=self.to,
            timeout_s=self.timeout_s,
            ssl_context=context,
        )

    def secret_values(self) -> list[str]:
        """The password, for redaction only."""
        return [self.password.get_secret_value()] if self.password else []

    @classmethod
    def from_email_server_credentials(
        cls, credentials: Any, *, from_address: str, to: list[str]
    ) -> EmailChannel:
        """An EmailChannel from prefect-email's `EmailServerCredentials` (read by field name)."""
        smtp_type = getattr(credentials.smtp_type, "name", str(credentials.smtp_type)).upper()
        server = getattr(credentials.smtp_server, "value", credentials.smtp_server)
        return cls(
            host=str(server),
            port=int(credentials.smtp_port or getattr(credentials.smtp_type, "value", 587)),
            security={"SSL": "ssl", "STARTTLS": "starttls"}.get(smtp_type, "plain"),
            username=credentials.username or None,
            password=credentials.password,
            from_address=from_address or credentials.username,
            to=to,
        )


class WebhookChannel(_ChannelBlock):
    """A URL that receives each notification as JSON (incident, kind, severity, subject, body)."""

    kind: ClassVar[str] = "webhook"
    _block_type_name = "Oncall Webhook Channel"
    _block_type_slug = "oncall-webhook-channel"
    _description = "POST the on-call agent's notifications as JSON to any URL."
    _documentation_url = HttpUrl("https://www.python-httpx.org/api/#client")
    _code_example = _example("WebhookChannel")

    url: SecretStr = Field(..., description="The URL to POST to (secret: URLs embed tokens).")
    headers: SecretDict = Field(
        default_factory=lambda: SecretDict({}), description="Extra HTTP headers (secret values)."
    )

    _url = field_validator("url")(_http_url)

    def build_notifier(self) -> WebhookNotifier:
        """A JSON webhook notifier for this URL and headers."""
        headers = {k: str(v) for k, v in self.headers.get_secret_value().items()}
        return WebhookNotifier(
            self.channel_name(),
            self.url.get_secret_value(),
            headers=headers,
            timeout_s=self.timeout_s,
        )

    def secret_values(self) -> list[str]:
        """The URL and header values, for redaction only."""
        values = [str(v) for v in self.headers.get_secret_value().values()]
        return [self.url.get_secret_value(), *values]


class SlackChannel(_ChannelBlock):
    """A Slack incoming webhook (https://hooks.slack.com/services/...)."""

    kind: ClassVar[str] = "slack"
    _block_type_name = "Oncall Slack Channel"
    _block_type_slug = "oncall-slack-channel"
    _description = "Post the on-call agent's notifications to Slack through an incoming webhook."
    _documentation_url = HttpUrl("https://api.slack.com/messaging/webhooks")
    _code_example = _example("SlackChannel")

    webhook_url: SecretStr = Field(..., description="The incoming webhook URL (secret).")

    _url = field_validator("webhook_url")(_http_url)

    def build_notifier(self) -> SlackNotifier:
        """A Slack notifier for this webhook."""
        url = self.webhook_url.get_secret_value()
        return SlackNotifier(self.channel_name(), url, timeout_s=self.timeout_s)

    def secret_values(self) -> list[str]:
        """The webhook URL, for redaction only."""
        return [self.webhook_url.get_secret_value()]


class TeamsChannel(_ChannelBlock):
    """A Microsoft Teams webhook: a Workflows (Power Automate) URL, or a legacy connector URL."""

    kind: ClassVar[str] = "teams"
    _block_type_name = "Oncall Teams Channel"
    _block_type_slug = "oncall-teams-channel"
    _description = "Post the on-call agent's notifications to a Microsoft Teams channel."
    _documentation_url = HttpUrl(
        "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/"
        "how-to/add-incoming-webhook"
    )
    _code_example = _example("TeamsChannel")

    webhook_url: SecretStr = Field(..., description="The webhook URL (secret).")
    card: Literal["adaptive", "messagecard"] = Field(
        default="adaptive",
        description="adaptive for Workflows webhooks, messagecard for legacy connectors.",
    )

    _url = field_validator("webhook_url")(_http_url)

    def build_notifier(self) -> TeamsNotifier:
        """A Teams notifier for this webhook and card format."""
        url = self.webhook_url.get_secret_value()
        return TeamsNotifier(self.channel_name(), url, card=self.card, timeout_s=self.timeout_s)

    def secret_values(self) -> list[str]:
        """The webhook URL, for redaction only."""
        return [self.webhook_url.get_secret_value()]


class NotificationRouting(Block, RoutingConfig):
    """Which channels hear about which services and severities, and the storm limits."""

    _block_type_name = "Oncall Notification Routing"
    _block_type_slug = "oncall-notification-routing"
    _description = (
        "Routes from service and minimum severity to channels (e.g. email/oncall-team), the "
        "default channels, the repeat interval and the group wait."
    )
    _documentation_url = HttpUrl("https://prometheus.io/docs/alerting/latest/configuration/#route")
    _code_example = _example("NotificationRouting")

    def config(self) -> RoutingConfig:
        """The routing as the core's plain value object."""
        return RoutingConfig.model_validate(
            self.model_dump(include=set(RoutingConfig.model_fields))
        )


CHANNEL_BLOCKS: dict[str, type[_ChannelBlock]] = {
    block.kind: block for block in (EmailChannel, WebhookChannel, SlackChannel, TeamsChannel)
}
NOTIFICATION_BLOCKS: tuple[type[Block], ...] = (*CHANNEL_BLOCKS.values(), NotificationRouting)


async def aload_notifiers(
    channel_names: Iterable[str], fallback: Notifier
) -> tuple[dict[str, Notifier], list[str]]:
    """Notifiers for CHANNEL_NAMES (`console` is FALLBACK) and every secret they hold."""
    notifiers: dict[str, Notifier] = {}
    secrets: list[str] = []
    for name in dict.fromkeys(channel_names):
        if name == CONSOLE:
            notifiers[name] = fallback
            continue
        kind, _, block_name = name.partition("/")
        block_cls = CHANNEL_BLOCKS.get(kind)
        if block_cls is None or not block_name:
            raise ConfigError(f"channel {name!r}: expected one of {sorted(CHANNEL_BLOCKS)}/<name>")
        try:
            block = cast(_ChannelBlock, await block_cls.aload(block_name))
        except ValueError as exc:
            raise ConfigError(
                f"channel {name!r}: no {block_cls.__name__} block named {block_name!r} "
                "(create it, or remove the channel from the routing block)"
            ) from exc
        notifiers[name] = block.build_notifier()
        secrets += block.secret_values()
    return notifiers, secrets
