"""Grouping detections into incident drafts, all at once or batch after batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.grouping import IncidentGrouper, group_detections
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.models import Detection, LogEvent, Severity

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _detections() -> list[Detection]:
    """Six alerts of two kinds, the second kind once critical, over five minutes."""
    lines = [
        "2024-05-01 10:00:00 ERROR pool: timeout after 30s for conn 17",
        "2024-05-01 10:00:00 ERROR invoice 7 has no customer",
        "2024-05-01 10:00:00 ERROR pool: timeout after 45s for conn 9",
        "2024-05-01 10:00:00 FATAL invoice 8 has no customer",
        "2024-05-01 10:00:00 ERROR pool: timeout after 12s for conn 3",
        "2024-05-01 10:00:00 ERROR invoice 9 has no customer",
    ]
    events = [
        LogEvent(source="t", message=m, service="api", timestamp=T0 + timedelta(minutes=n))
        for n, m in enumerate(lines)
    ]
    return Detector(default_pattern_set()).detect_many(events)


def test_batches_group_like_one_pass() -> None:
    """Feeding detections in batches gives the same drafts as grouping them at once."""
    detections = _detections()
    grouper = IncidentGrouper(samples=5)
    for start in range(0, len(detections), 2):
        grouper.add_many(detections[start : start + 2])
    batched = [d.model_dump() for d in grouper.drafts()]
    assert batched == [d.model_dump() for d in group_detections(detections)]
    assert len(grouper) == 2


def test_draft_counts_times_samples_and_highest_severity() -> None:
    """A draft counts its lines, spans first to last time, keeps distinct samples, worst level."""
    timeouts, invoices = group_detections(_detections(), samples=2)
    assert (timeouts.count, invoices.count) == (3, 3)
    assert (timeouts.first_seen, timeouts.last_seen) == (T0, T0 + timedelta(minutes=4))
    assert len(timeouts.samples) == 2
    assert (timeouts.severity, invoices.severity) == (Severity.ERROR, Severity.CRITICAL)
