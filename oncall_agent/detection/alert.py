"""The alert pattern type: a named regex that raises an alert of a category and severity."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from oncall_agent.models import Severity


class AlertPattern(BaseModel):
    """A named regex that, when it matches a log line, raises an alert of a category."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    regex: str = Field(min_length=1)
    category: str = Field(min_length=1, max_length=50)
    severity: Severity = Severity.ERROR
    # Services this pattern applies to; empty means every service.
    services: list[str] = Field(default_factory=list)
    # Short description used in incident titles ("connection pool exhausted"); optional.
    title: str | None = None

    def applies_to(self, service: str | None) -> bool:
        """Whether this pattern is active for SERVICE."""
        return not self.services or service in self.services
