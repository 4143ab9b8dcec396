"""Spark failures as log events: from the History Server, and from driver logs.

`SparkHistorySource` lists completed applications that ended since its cursor (with a look-back
window, because the History Server lists an application only once it has parsed its event log,
which may be after newer ones), and turns each failed stage and each lost executor into an
event that carries the app_id an action needs. Applications are remembered by id inside the
window, so none is reported twice.

`SparkDriverLogSource` tails driver log files (spark-submit output) and tags each line with the
application id the log announced earlier ("Logging events to .../local-1700000000000",
"Connected to Spark cluster with app ID app-...", "Submitted application application_...").
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oncall_agent.errors import SourceError
from oncall_agent.integrations.spark_client import APP_ID, SparkApp, SparkHistory
from oncall_agent.models import LogEvent
from oncall_agent.sources.files import FileSource, ReadBatch

CURSOR_VERSION = 1
# Exit codes Spark documents for executors, said in words so people and patterns recognise them.
_EXIT_HINTS = {
    "52": "java.lang.OutOfMemoryError in the executor",
    "137": "killed by SIGKILL, usually for exceeding its memory limit",
    "143": "terminated by SIGTERM",
}
_EXIT_CODE = re.compile(r"exit(?:ed with)? code:? ?(\d+)", re.IGNORECASE)
_ANNOUNCES_APP = re.compile(
    r"Logging events to|Connected to Spark cluster with app ID|Submitted application|"
    r"Application report for|spark\.app\.id"
)


def _hint(reason: str) -> str:
    """' (exit code N: what it means)' for a reason naming a known exit code, else ''."""
    match = _EXIT_CODE.search(reason)
    meaning = _EXIT_HINTS.get(match.group(1)) if match else None
    return f" (exit code {match.group(1)}: {meaning})" if match and meaning else ""


def _first_line(text: str, limit: int = 2000) -> str:
    """The first line of TEXT, capped."""
    return text.strip().splitlines()[0][:limit] if text.strip() else ""


@dataclass
class SparkReadStats:
    """What one read of the History Server did."""

    applications: int = 0
    failed_applications: int = 0
    lost_executors: int = 0


@dataclass
class SparkBatch:
    """Events, the cursor to save once they are stored, and what happened."""

    events: list[LogEvent]
    cursor: dict[str, Any]
    stats: SparkReadStats = field(default_factory=SparkReadStats)


class SparkHistorySource:
    """Failed applications and lost executors from a Spark History Server."""

    def __init__(
        self,
        history: SparkHistory,
        *,
        look_back_s: float = 600.0,
        start_window_s: float = 3600.0,
        max_apps: int = 20,
        service: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Read HISTORY; SERVICE names the incidents' service (default: the application name)."""
        self.history = history
        self.look_back_ms = int(look_back_s * 1000)
        self.start_window_ms = int(start_window_s * 1000)
        self.max_apps = max_apps
        self.service = service
        self.clock = clock

    def read(self, cursor: dict[str, Any], selector: Any = None) -> SparkBatch:
        """Events of up to max_apps applications completed since CURSOR, oldest first.

        SELECTOR (the file source's line pre-filter) is accepted and unused: every event here
        is a failure already.
        """
        high, seen = _load(cursor)
        floor = (
            high - self.look_back_ms if high is not None else self._now_ms() - self.start_window_ms
        )
        apps = sorted(
            (a for a in self.history.completed_apps(floor) if a.app_id not in seen),
            key=lambda a: (a.end_ms or 0, a.app_id),
        )[: self.max_apps]
        stats = SparkReadStats(applications=len(apps))
        events: list[LogEvent] = []
        for app in apps:
            found = self._events(app)
            stats.failed_applications += any(e.attributes.get("kind") == "stage" for e in found)
            stats.lost_executors += sum(e.attributes.get("kind") == "executor" for e in found)
            events += found
            seen[app.app_id] = app.end_ms or 0
            high = max(high or 0, app.end_ms or 0)
        if high is not None:
            seen = {k: v for k, v in seen.items() if v >= high - self.look_back_ms}
        state = {"version": CURSOR_VERSION, "high_ms": high, "seen": seen}
        return SparkBatch(events, state if apps or cursor else cursor, stats)

    def _now_ms(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self.clock() * 1000)

    def _events(self, app: SparkApp) -> list[LogEvent]:
        """One event per failed stage (or failed job) and per lost executor of APP."""
        events = []
        base = f"Spark application {app.app_id} ({app.name})"
        stages = self.history.failed_stages(app.app_id)
        for stage in stages:
            reason = _first_line(stage.reason) or "no reason recorded"
            text = f"{base} failed: stage {stage.stage_id} ({stage.name}): {reason}{_hint(reason)}"
            events.append(self._event(app, text, "ERROR", kind="stage", stage_id=stage.stage_id))
        if not stages:
            for job_id in self.history.failed_jobs(app.app_id):
                text = f"{base} failed: job {job_id} failed"
                events.append(self._event(app, text, "ERROR", kind="job", job_id=job_id))
        for lost in self.history.lost_executors(app.app_id):
            reason = _first_line(lost.reason)
            text = (
                f"{base}: Lost executor {lost.executor_id} on {lost.host}: {reason}{_hint(reason)}"
            )
            events.append(self._event(app, text, "WARNING", kind="executor",
                                      executor_id=lost.executor_id))  # fmt: skip
        return events

    def _event(self, app: SparkApp, message: str, level: str, **extra: object) -> LogEvent:
        """A log event about APP with the ids an action needs."""
        attributes = {"app_id": app.app_id, "app_name": app.name, "spark_user": app.spark_user}
        if app.attempt_id:
            attributes["attempt_id"] = app.attempt_id
        attributes.update({k: str(v) for k, v in extra.items()})
        ended = datetime.fromtimestamp((app.end_ms or self._now_ms()) / 1000, UTC)
        # The History Server's own ids are targets; the service only when configured.
        targets = {"app_id": app.app_id, "app_name": app.name}
        if self.service:
            targets["service"] = self.service
        return LogEvent(
            source="spark-history", message=message, service=self.service or app.name,
            timestamp=ended, level=level, attributes=attributes, targets=targets,
        )  # fmt: skip


def _load(cursor: dict[str, Any]) -> tuple[int | None, dict[str, int]]:
    """(high_ms, seen) of a saved cursor; SourceError if it is not this source's."""
    if not cursor:
        return None, {}
    if cursor.get("version") != CURSOR_VERSION or not isinstance(cursor.get("seen"), dict):
        raise SourceError(f"spark source: the saved cursor is not valid: {str(cursor)[:200]}")
    return cursor.get("high_ms"), {str(k): int(v) for k, v in cursor["seen"].items()}


class SparkDriverLogSource:
    """Driver log files, each line tagged with the application id the file announced."""

    def __init__(self, files: FileSource) -> None:
        """Tail FILES (their cursor is kept under "files" in this source's cursor)."""
        self.files = files

    def read(self, cursor: dict[str, Any], selector: Any = None) -> ReadBatch:
        """The file source's next batch, with app_id attributes added where known.

        SELECTOR is not passed on: the lines announcing the application id are not alerts, and
        a pre-filter would drop them.
        """
        apps: dict[str, str] = dict(cursor.get("apps", {}))
        batch = self.files.read(dict(cursor.get("files", {})))
        events = []
        for event in batch.events:
            key = event.path or event.source
            if _ANNOUNCES_APP.search(event.message):
                found = APP_ID.search(event.message)
                if found:
                    apps[key] = found.group(1)
            if key in apps:
                # The id comes from a line of the log: a target only if the scope allows it.
                found_ids = {"app_id": apps[key]}
                allowed = self.files.scope.targets(None, None, found_ids)
                event = event.model_copy(update={
                    "attributes": {**event.attributes, **found_ids},
                    "targets": {**event.targets, **allowed},
                })  # fmt: skip
            events.append(event)
        return ReadBatch(events, {"files": batch.cursor, "apps": apps}, batch.stats)
