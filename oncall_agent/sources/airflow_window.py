"""The cursor of a polled API: the newest end time seen and what was reported inside the look-back.

`since` is the latest end time among the items seen (the server's clock, never ours, so clock
skew cannot skip anything). Each read asks from `since - lookback`; `seen` holds the keys of
the items reported inside that window, so the overlap is never reported twice. A read cut short
by its page limit sets `exact`: the next read resumes at `since` itself, without the look-back,
so a window holding more items than one read takes still moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from oncall_agent.errors import SourceError


@dataclass
class SeenWindow:
    """The part of a cursor for one kind of item (task instances, or runs)."""

    since: datetime
    seen: dict[str, str] = field(default_factory=dict)  # key -> end time (ISO 8601)
    exact: bool = False

    @classmethod
    def load(cls, data: Any, default_since: datetime, *, what: str) -> SeenWindow:
        """The window stored as DATA, or a new one starting at DEFAULT_SINCE."""
        if data is None:
            return cls(since=default_since)
        try:
            since = datetime.fromisoformat(data["since"])
            seen = {str(k): str(v) for k, v in dict(data.get("seen", {})).items()}
            return cls(since=since, seen=seen, exact=bool(data.get("exact", False)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(
                f"the stored Airflow cursor's {what!r} part is not readable ({exc}); "
                "delete the source's cursor to start again from the initial window"
            ) from exc

    def query_from(self, lookback: timedelta) -> datetime:
        """The end time the next query starts at."""
        return self.since if self.exact else self.since - lookback

    def saw(self, key: str) -> bool:
        """Whether the item KEY was reported already."""
        return key in self.seen

    def advance(
        self, items: list[tuple[str, datetime]], lookback: timedelta, truncated: bool
    ) -> None:
        """Remember ITEMS (key, end time), move `since`, forget what left the look-back."""
        for key, ended in items:
            self.seen[key] = ended.isoformat()
            self.since = max(self.since, ended)
        self.exact = truncated
        horizon = self.since - lookback
        self.seen = {k: v for k, v in self.seen.items() if datetime.fromisoformat(v) >= horizon}

    def dump(self) -> dict[str, Any]:
        """The window as JSON-ready data for the stored cursor."""
        return {"since": self.since.isoformat(), "seen": dict(self.seen), "exact": self.exact}
