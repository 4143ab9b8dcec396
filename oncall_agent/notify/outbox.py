"""A `Notifier` that only writes to the outbox: escalating never waits on, or fails with, a channel.

Use it wherever a flow hands a notification to "the notifier"; a separate dispatch pass
(`dispatch_due`) delivers the rows with back-off, grouping, and the repeat interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from oncall_agent.notify.base import RESOLVED, Notification
from oncall_agent.notify.dispatch import SessionFactory, enqueue, enqueue_resolved
from oncall_agent.notify.routing import RoutingConfig
from oncall_agent.store.tables import utcnow


class RoutedOutbox:
    """Routes each notification to its channels and stores it there, pending, for dispatch."""

    name = "outbox"

    def __init__(
        self,
        session_factory: SessionFactory,
        routing: RoutingConfig | None = None,
        secrets: Iterable[str] = (),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.routing = routing or RoutingConfig()
        self._secrets = list(secrets)
        self.clock = clock

    def send(self, notification: Notification) -> None:
        """Store NOTIFICATION for its channels (a resolved notice: for the channels told)."""
        wait = self.routing.group_wait_s
        with self.session_factory() as session:
            if notification.kind == RESOLVED:
                enqueue_resolved(
                    session, notification, self.clock(), group_wait_s=wait, secrets=self._secrets
                )
                return
            channels = self.routing.channels_for(notification.service, notification.severity)
            enqueue(
                session,
                notification,
                channels,
                self.routing.repeat_interval_s,
                self.clock(),
                group_wait_s=wait,
                secrets=self._secrets,
            )
