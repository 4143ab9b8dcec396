"""The detector: turns log events into detections (pattern, template, fingerprint, title)."""

from __future__ import annotations

from collections.abc import Iterable

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.fingerprint import TEMPLATE_LIMIT, fingerprint
from oncall_agent.detection.masking import mask
from oncall_agent.detection.patterns import PatternSet
from oncall_agent.models import Detection, LogEvent, Severity

TITLE_LIMIT = 200
# An event whose parsed level is one of these alerts even when no pattern matches its text
# (a JSON line {"level": "error", "message": "payment declined"}).
_ERROR_LEVELS = {
    "ERROR": Severity.ERROR,
    "SEVERE": Severity.ERROR,
    "FATAL": Severity.CRITICAL,
    "CRITICAL": Severity.CRITICAL,
    "EMERGENCY": Severity.CRITICAL,
    "ALERT": Severity.CRITICAL,
}


def _level_pattern(level: str) -> AlertPattern:
    """The pseudo-pattern recorded for an alert raised by the event's level alone."""
    return AlertPattern(
        name=f"level-{level.lower()}", regex=level, category="error", severity=_ERROR_LEVELS[level]
    )


def build_title(pattern: AlertPattern, template: str, service: str) -> str:
    """A readable title: "<category>: <pattern title or template> in <service>"."""
    what = pattern.title or template
    if len(what) > TITLE_LIMIT:
        what = what[: TITLE_LIMIT - 1] + "…"
    return f"{pattern.category}: {what} in {service}"


class Detector:
    """Matches events against a compiled pattern set and describes the matches."""

    def __init__(self, pattern_set: PatternSet) -> None:
        """Use PATTERN_SET (compiled once by the caller) for every event."""
        self.pattern_set = pattern_set

    def match(self, event: LogEvent) -> AlertPattern | None:
        """The pattern EVENT raises an alert for, by text first and then by level."""
        pattern = self.pattern_set.match(event.message, event.service)
        if pattern is None and event.level and event.level.upper() in _ERROR_LEVELS:
            return _level_pattern(event.level.upper())
        return pattern

    def detect(self, event: LogEvent) -> Detection | None:
        """A Detection for EVENT, or None when it raises no alert."""
        pattern = self.match(event)
        if pattern is None:
            return None
        template = mask(event.message)[:TEMPLATE_LIMIT]
        return Detection(
            event=event,
            pattern=pattern.name,
            category=pattern.category,
            severity=pattern.severity,
            template=template,
            fingerprint=fingerprint(template, event.service, pattern.category),
            title=build_title(pattern, template, event.service),
        )

    def detect_many(self, events: Iterable[LogEvent]) -> list[Detection]:
        """The detections of EVENTS, in order; events that raise no alert are left out."""
        detections = []
        for event in events:
            detection = self.detect(event)
            if detection is not None:
                detections.append(detection)
        return detections
