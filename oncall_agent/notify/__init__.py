"""Telling humans: the notification model, the channel interface, and message composition."""

from oncall_agent.notify.base import Notification, Notifier
from oncall_agent.notify.console import ConsoleOutboxNotifier

__all__ = ["ConsoleOutboxNotifier", "Notification", "Notifier"]
