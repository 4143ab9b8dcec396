"""Who hears about what: routes from service and severity to channel names, and the storm limits.

A channel name is `<kind>/<block name>` (e.g. `email/oncall-team`, `slack/alerts`) or `console`,
the fallback that prints and appends to the outbox file. Every matching route contributes its
channels (unlike Alertmanager's first-match-wins, so that adding a route never silences another);
when none matches, the default channels are used.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from oncall_agent.models import Severity

CHANNEL_KINDS = ("email", "webhook", "slack", "teams")
CONSOLE = "console"
_CHANNEL = re.compile(rf"^(?:{CONSOLE}|(?:{'|'.join(CHANNEL_KINDS)})/[a-z0-9][a-z0-9-]*)$")
# Alertmanager's defaults: wait a little to group, repeat an unchanged notice every 4 hours.
DEFAULT_REPEAT_INTERVAL_S = 4 * 3600.0
DEFAULT_GROUP_WAIT_S = 30.0


def check_channel_names(names: list[str]) -> list[str]:
    """NAMES if each is `console` or `<kind>/<block-name>`; ValueError naming the bad one."""
    for name in names:
        if not _CHANNEL.match(name):
            raise ValueError(
                f"channel {name!r} must be 'console' or '<kind>/<block-name>' with kind one of "
                f"{list(CHANNEL_KINDS)} and a block name of lowercase letters, digits and dashes"
            )
    return names


ChannelNames = Annotated[list[str], AfterValidator(check_channel_names)]


def severity_rank(value: str) -> int:
    """Rank of a severity string; an unknown one ranks above critical so it is never dropped."""
    try:
        return Severity(value).rank
    except ValueError:
        return len(Severity)


class Route(BaseModel):
    """Send notifications of these services at or above this severity to these channels."""

    services: list[str] = Field(
        default_factory=list, description="Services this route covers; empty means every service."
    )
    min_severity: Severity = Field(
        default=Severity.WARNING, description="Lowest severity this route sends."
    )
    channels: ChannelNames = Field(
        ..., min_length=1, description="Channel names, e.g. slack/alerts."
    )

    def matches(self, service: str | None, severity: str) -> bool:
        """Whether a notification of SERVICE at SEVERITY takes this route."""
        covered = not self.services or (service is not None and service in self.services)
        return covered and severity_rank(severity) >= self.min_severity.rank


class RoutingConfig(BaseModel):
    """Routes, the default channels, and the storm limits (repeat interval, group wait)."""

    routes: list[Route] = Field(default_factory=list, description="Routes, all of them checked.")
    default_channels: ChannelNames = Field(
        default_factory=lambda: [CONSOLE],
        description="Channels used when no route matches.",
    )
    repeat_interval_s: float = Field(
        default=DEFAULT_REPEAT_INTERVAL_S,
        gt=0,
        description="At most one notification per incident and kind per channel in this time.",
    )
    group_wait_s: float = Field(
        default=DEFAULT_GROUP_WAIT_S,
        ge=0,
        description="How long a new notification waits so others due with it share a message.",
    )

    def channels_for(self, service: str | None, severity: str) -> list[str]:
        """Channels for a notification of SERVICE at SEVERITY (the console if nothing else)."""
        matching = [route for route in self.routes if route.matches(service, severity)]
        chosen = [channel for route in matching for channel in route.channels]
        if not chosen:
            chosen = list(self.default_channels) or [CONSOLE]
        return list(dict.fromkeys(chosen))

    def all_channels(self) -> list[str]:
        """Every channel any route or the default names, once each."""
        names = [c for route in self.routes for c in route.channels] + self.default_channels
        return list(dict.fromkeys(names)) or [CONSOLE]
