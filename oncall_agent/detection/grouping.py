"""Grouping in memory: one incident draft per fingerprint, before anything is stored."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from oncall_agent.models import Detection, IncidentDraft

SAMPLE_LIMIT = 2000  # characters kept of one sample line


def _aware(moment: datetime | None, now: datetime) -> datetime:
    """MOMENT as an aware UTC datetime (naive means UTC); NOW when there is none."""
    if moment is None:
        return now
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _new_draft(detection: Detection, seen: datetime) -> IncidentDraft:
    """A draft holding only DETECTION."""
    return IncidentDraft(
        fingerprint=detection.fingerprint,
        title=detection.title,
        service=detection.event.service,
        severity=detection.severity,
        category=detection.category,
        template=detection.template,
        source=detection.event.source,
        first_seen=seen,
        last_seen=seen,
        attributes=dict(detection.event.attributes),
    )


def _absorb(draft: IncidentDraft, detection: Detection, seen: datetime, samples: int) -> None:
    """Count DETECTION in DRAFT: times, a distinct sample, the highest severity."""
    draft.count += 1
    draft.first_seen = min(draft.first_seen, seen)
    draft.last_seen = max(draft.last_seen, seen)
    sample = detection.event.message[:SAMPLE_LIMIT]
    if len(draft.samples) < samples and sample not in draft.samples:
        draft.samples.append(sample)
    if detection.severity.rank > draft.severity.rank:
        draft.severity = detection.severity


def group_detections(detections: Iterable[Detection], samples: int = 5) -> list[IncidentDraft]:
    """One draft per fingerprint (in order of first appearance) with counts and samples."""
    now = datetime.now(UTC)
    drafts: dict[str, IncidentDraft] = {}
    for detection in detections:
        seen = _aware(detection.event.timestamp, now)
        draft = drafts.get(detection.fingerprint)
        if draft is None:
            draft = drafts[detection.fingerprint] = _new_draft(detection, seen)
        _absorb(draft, detection, seen, samples)
    return list(drafts.values())
