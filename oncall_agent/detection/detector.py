"""The detector: turns log events into detections (pattern, template, fingerprint, title).

Events are matched in batches through the pattern set's engine (see `engine`), which answers
exactly as `PatternSet.match` would; templates come from `templating`: the header learned from
the event's file cut off, the body masked (each shape of line once), then mined into clusters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import LEVEL_WORD_PATTERNS, WARNING_LEVEL_PATTERN
from oncall_agent.detection.engine import MatchEngine
from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.patterns import PatternSet
from oncall_agent.detection.templating import Templater
from oncall_agent.models import Detection, LogEvent, Severity
from oncall_agent.secrets import mask_secrets

TITLE_LIMIT = 200
# An event whose parsed level is one of these alerts even when no pattern matches its text
# (a JSON line {"level": "error", "message": "payment declined"}). Every one of them must be
# found by engine.LEVEL_HINT in the line that gives it (a test holds the parsers to it).
ERROR_LEVELS = {
    "ERROR": Severity.ERROR,
    "SEVERE": Severity.ERROR,
    "FATAL": Severity.CRITICAL,
    "CRITICAL": Severity.CRITICAL,
    "EMERGENCY": Severity.CRITICAL,
    "ALERT": Severity.CRITICAL,
}
# Levels below warning: the writer said the line is routine, so a level word in it is not news.
QUIET_LEVELS = frozenset(
    {"TRACE", "DEBUG", "INFO", "NOTICE", "FINE", "FINER", "FINEST", "CONFIG", "VERBOSE"}
)


@lru_cache(maxsize=16)
def _level_pattern(level: str) -> AlertPattern:
    """The pseudo-pattern recorded for an alert raised by the event's level alone."""
    return AlertPattern(
        name=f"level-{level.lower()}", regex=level, category="error", severity=ERROR_LEVELS[level]
    )


def build_title(pattern: AlertPattern, template: str, service: str) -> str:
    """A readable title: "<category>: <pattern title or template> in <service>"."""
    return _fingerprint_and_title(pattern.category, pattern.title, template, service)[1]


class Detector:
    """Matches events against a compiled pattern set and describes the matches."""

    def __init__(
        self,
        pattern_set: PatternSet,
        engine: MatchEngine | None = None,
        templater: Templater | None = None,
    ) -> None:
        """Use PATTERN_SET (compiled once by the caller) through ENGINE (default: its own);
        TEMPLATER's clusters (default: new ones) turn events into templates."""
        self.pattern_set = pattern_set
        self._engine = engine
        self._templates = templater or Templater()
        # WARN lines alert only where the rules opted in (the set then holds this pattern).
        self._warning = next(
            (p for p in pattern_set.patterns if p.name == WARNING_LEVEL_PATTERN.name), None
        )

    def remember(self, service: str, template: str) -> None:
        """Know TEMPLATE (an incident's, from an earlier run) as a kind of SERVICE's events,
        so that lines of that kind keep its fingerprint even if this run meets a variant first."""
        self._templates.miner(service).add(template)

    @property
    def engine(self) -> MatchEngine:
        """The engine matching events; also the line selector of a file source's fast path."""
        return self._engine or self.pattern_set.engine

    def match(self, event: LogEvent) -> AlertPattern | None:
        """The pattern EVENT raises an alert for, by text first and then by level."""
        return self.match_many([event])[0]

    def match_many(self, events: Sequence[LogEvent]) -> list[AlertPattern | None]:
        """`match` for each of EVENTS, in one pass of the engine."""
        found = self.engine.match_texts([e.message for e in events], [e.service for e in events])
        return [
            judge_level(pattern, event, self._warning)
            for pattern, event in zip(found, events, strict=True)
        ]

    def detect(self, event: LogEvent) -> Detection | None:
        """A Detection for EVENT, or None when it raises no alert."""
        return next(iter(self.detect_many([event])), None)

    def detect_many(self, events: Iterable[LogEvent]) -> list[Detection]:
        """The detections of EVENTS, in order; events that raise no alert are left out."""
        batch = list(events)
        return [
            self._describe(event, pattern)
            for event, pattern in zip(batch, self.match_many(batch), strict=True)
            if pattern is not None
        ]

    def _describe(self, event: LogEvent, pattern: AlertPattern) -> Detection:
        """The Detection of EVENT alerting with PATTERN (its secrets masked first)."""
        event = _masked(event)
        template = self._templates.template(event)
        digest, title = _fingerprint_and_title(
            pattern.category, pattern.title, template, event.service
        )
        return Detection(
            event=event,
            pattern=pattern.name,
            category=pattern.category,
            severity=pattern.severity,
            template=template,
            fingerprint=digest,
            title=title,
        )


@lru_cache(maxsize=65536)
def _fingerprint_and_title(
    category: str, title: str | None, template: str, service: str
) -> tuple[str, str]:
    """Fingerprint and title of a detection (pure functions of these, so cached)."""
    what = title or template
    if len(what) > TITLE_LIMIT:
        what = what[: TITLE_LIMIT - 1] + "…"
    return fingerprint(template, service, category), f"{category}: {what} in {service}"


def _masked(event: LogEvent) -> LogEvent:
    """EVENT with secrets masked out of its message and attributes: nothing after sees them."""
    message = mask_secrets(event.message)
    attributes = {key: mask_secrets(f"{key}={value}")[len(key) + 1 :]
                  for key, value in event.attributes.items()}  # fmt: skip
    if message == event.message and attributes == event.attributes:
        return event
    return event.model_copy(update={"message": message, "attributes": attributes})


def judge_level(
    pattern: AlertPattern | None, event: LogEvent, warning: AlertPattern | None = None
) -> AlertPattern | None:
    """The pattern EVENT alerts with once its parsed level is heard (None: no alert).

    A specific pattern (disk full, OOM, 5xx) alerts whatever the level. A level-word pattern
    (LEVEL_WORD_PATTERNS) defers to a known level: at ERROR or worse the level sets the
    severity, at WARNING the line alerts only as WARNING (the rules' opt-in), below that never.
    A line no pattern matches still alerts when its level is ERROR or worse.
    """
    level = event.level.upper() if event.level else None
    if pattern is None:
        return _level_pattern(level) if level in ERROR_LEVELS else None
    if level is None or pattern.name not in LEVEL_WORD_PATTERNS:
        return pattern
    if level in ERROR_LEVELS:
        stated = ERROR_LEVELS[level]
        return pattern if pattern.severity.rank >= stated.rank else _level_pattern(level)
    if level == "WARNING":
        return warning
    return None if level in QUIET_LEVELS else pattern
