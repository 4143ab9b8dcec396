"""What a log source may speak for: the only values from its lines that actions may use.

Log text is data. A line may say `"service": "payments-db"` or `dag_id=billing`, and the incident
shows that, but an action's `{{incident.X}}` placeholders are filled only from the incident's
*targets*: values configuration vouches for. A source's service is a target when the source fixes
it (`service`), or when a parsed name is one of the names listed in `services`; a parsed
attribute (dag_id, run_id, app_id, ...) is a target when it matches one of the globs listed for
it in `attributes`. Everything else is denied: a source configured with neither lets its lines
open incidents and escalate, never choose what an action touches.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

SERVICE = "service"


class TargetScope(BaseModel):
    """The services and parsed values a source's lines may select among (empty: none)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    services: list[str] = Field(default_factory=list)
    attributes: dict[str, list[str]] = Field(default_factory=dict)

    def targets(
        self, fixed_service: str | None, parsed_service: str | None, parsed: Mapping[str, str]
    ) -> dict[str, str]:
        """The values actions may use: the fixed or an allowed parsed service, allowed values."""
        found = {
            name: value
            for name, value in parsed.items()
            if name != SERVICE
            and any(fnmatch.fnmatchcase(value, glob) for glob in self.attributes.get(name, ()))
        }
        if fixed_service:
            found[SERVICE] = fixed_service
        elif parsed_service is not None and parsed_service in self.services:
            found[SERVICE] = parsed_service
        return found


NO_SCOPE = TargetScope()
