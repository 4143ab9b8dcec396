"""Telling humans: the notification model, the channels, composition, routing, and the outbox.

Flow of a notification: compose_* builds it → RoutedOutbox (or enqueue) stores one outbox row per
routed channel, holding back repeats → dispatch_due sends what is due, grouped per channel, with
back-off → the channel (console, SMTP email, webhook, Slack, Teams) delivers it.
"""

from oncall_agent.notify.base import Notification, Notifier
from oncall_agent.notify.compose import (
    compose_approval_request,
    compose_digest,
    compose_escalation,
    compose_resolved,
)
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.notify.dispatch import (
    DispatchReport,
    dispatch_due,
    enqueue,
    enqueue_resolved,
    retry_delay_s,
)
from oncall_agent.notify.outbox import RoutedOutbox
from oncall_agent.notify.routing import Route, RoutingConfig
from oncall_agent.notify.smtp import SmtpEmailNotifier
from oncall_agent.notify.webhook import SlackNotifier, TeamsNotifier, WebhookNotifier

__all__ = [
    "ConsoleOutboxNotifier",
    "DispatchReport",
    "Notification",
    "Notifier",
    "Route",
    "RoutedOutbox",
    "RoutingConfig",
    "SlackNotifier",
    "SmtpEmailNotifier",
    "TeamsNotifier",
    "WebhookNotifier",
    "compose_approval_request",
    "compose_digest",
    "compose_escalation",
    "compose_resolved",
    "dispatch_due",
    "enqueue",
    "enqueue_resolved",
    "retry_delay_s",
]
