"""The detector and in-memory grouping: titles, level alerts, counts, samples, severities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.grouping import group_detections
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.models import LogEvent, Severity

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _event(message: str, service: str = "orders", **fields: object) -> LogEvent:
    """A log event from a test file."""
    return LogEvent(source="file:/var/log/test.log", message=message, service=service, **fields)


def test_detect_builds_title_template_and_fingerprint() -> None:
    """A pool-exhaustion line gets a readable title naming the service, and a template."""
    detector = Detector(default_pattern_set())
    found = detector.detect(_event("QueuePool limit of size 5 overflow 10 reached, conn 42"))
    assert found is not None
    assert found.title == "database: connection pool exhausted in orders"
    assert found.category == "database" and found.severity is Severity.CRITICAL
    assert found.template == "QueuePool limit of size <NUM> overflow <NUM> reached, conn <NUM>"
    assert len(found.fingerprint) == 40


def test_catch_all_title_comes_from_the_template() -> None:
    """Without a pattern title, the masked message (its level cut off) says what happened."""
    found = Detector(default_pattern_set()).detect(_event("ERROR invoice 991 has no customer"))
    assert found is not None
    assert found.title == "error: invoice <NUM> has no customer in orders"


def test_error_level_alone_raises_an_alert() -> None:
    """A JSON event whose level is error alerts even if its text matches no pattern."""
    found = Detector(default_pattern_set()).detect(
        _event("payment declined by issuer", level="ERROR")
    )
    assert found is not None
    assert found.pattern == "level-error" and found.category == "error"


def test_info_line_is_not_detected() -> None:
    """A routine line gives no detection."""
    assert Detector(default_pattern_set()).detect(_event("INFO user logged in")) is None


def test_detect_many_keeps_only_alerts_in_order() -> None:
    """detect_many drops quiet events and keeps the order of the others."""
    events = [
        _event("INFO start"),
        _event("java.lang.OutOfMemoryError: Java heap space"),
        _event("INFO still fine"),
        _event("No space left on device"),
    ]
    found = Detector(default_pattern_set()).detect_many(events)
    assert [d.category for d in found] == ["memory", "disk"]


def test_grouping_counts_repeats_under_one_fingerprint() -> None:
    """Repeats of one kind become one draft with count, first/last seen and distinct samples."""
    detector = Detector(default_pattern_set())
    events = [
        _event(f"ERROR timeout after {n}s calling bank", timestamp=T0 + timedelta(minutes=n))
        for n in (5, 1, 9, 1)
    ]
    drafts = group_detections(detector.detect_many(events), samples=2)
    assert len(drafts) == 1
    draft = drafts[0]
    assert draft.count == 4
    assert draft.first_seen == T0 + timedelta(minutes=1)
    assert draft.last_seen == T0 + timedelta(minutes=9)
    assert draft.samples == [
        "ERROR timeout after 5s calling bank",
        "ERROR timeout after 1s calling bank",
    ]


def test_grouping_keeps_kinds_and_services_apart_with_highest_severity() -> None:
    """Different kinds or services give separate drafts; a draft takes its worst severity."""
    detector = Detector(default_pattern_set())
    events = [
        _event("Failed password for root from 1.2.3.4 port 22 ssh2", service="ssh"),
        _event("Failed password for root from 5.6.7.8 port 22 ssh2", service="ssh"),
        _event("Failed password for root from 5.6.7.8 port 22 ssh2", service="vpn"),
        _event("No space left on device", service="ssh"),
    ]
    drafts = group_detections(detector.detect_many(events))
    assert sorted((d.service, d.category, d.count) for d in drafts) == [
        ("ssh", "auth", 2),
        ("ssh", "disk", 1),
        ("vpn", "auth", 1),
    ]
    disk = next(d for d in drafts if d.category == "disk")
    assert disk.severity is Severity.CRITICAL


def test_grouping_without_timestamps_uses_now() -> None:
    """Events without a timestamp are seen 'now'; naive timestamps are taken as UTC."""
    detector = Detector(default_pattern_set())
    before = datetime.now(UTC)
    naive = datetime(2024, 5, 1, 10, 0)
    drafts = group_detections(
        detector.detect_many([_event("ERROR a"), _event("ERROR a", timestamp=naive)])
    )
    assert drafts[0].first_seen == naive.replace(tzinfo=UTC)
    assert drafts[0].last_seen >= before


def test_grouping_takes_the_highest_severity_of_one_fingerprint() -> None:
    """When one fingerprint is seen at two severities, the draft keeps the worst."""
    detector = Detector(default_pattern_set())
    warning = detector.detect(_event("quota check", level="ERROR"))
    critical = detector.detect(_event("quota check", level="FATAL"))
    assert warning is not None and critical is not None
    same = critical.model_copy(update={"fingerprint": warning.fingerprint})
    drafts = group_detections([warning, same])
    assert len(drafts) == 1 and drafts[0].severity is Severity.CRITICAL
