"""Grouping in memory: one incident draft per fingerprint, before anything is stored.

`IncidentGrouper` takes detections batch after batch, so a caller streaming a large file keeps
one draft per kind of problem in memory, never the events themselves.
"""

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
        targets=dict(detection.event.targets),
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
    if detection.event.attributes and seen >= draft.last_seen:
        # The newest identifiers win (as in the store): act on the latest failed run.
        draft.attributes.update(detection.event.attributes)
    if detection.event.targets and seen >= draft.last_seen:
        draft.targets.update(detection.event.targets)


class IncidentGrouper:
    """Drafts by fingerprint, in order of first appearance, fed one detection at a time."""

    def __init__(self, samples: int = 5, now: datetime | None = None) -> None:
        """Keep SAMPLES distinct lines per draft; NOW stands in for events without a time."""
        self.samples = samples
        self.now = now or datetime.now(UTC)
        self._drafts: dict[str, IncidentDraft] = {}

    def add(self, detection: Detection) -> IncidentDraft:
        """Count DETECTION in the draft of its fingerprint (opened if new); that draft."""
        seen = _aware(detection.event.timestamp, self.now)
        draft = self._drafts.get(detection.fingerprint)
        if draft is None:
            draft = self._drafts[detection.fingerprint] = _new_draft(detection, seen)
        _absorb(draft, detection, seen, self.samples)
        return draft

    def add_many(self, detections: Iterable[Detection]) -> None:
        """Count every one of DETECTIONS."""
        for detection in detections:
            self.add(detection)

    def __len__(self) -> int:
        """How many drafts (kinds of problem) there are so far."""
        return len(self._drafts)

    def drafts(self) -> list[IncidentDraft]:
        """The drafts so far, in order of first appearance."""
        return list(self._drafts.values())


def group_detections(detections: Iterable[Detection], samples: int = 5) -> list[IncidentDraft]:
    """One draft per fingerprint (in order of first appearance) with counts and samples."""
    grouper = IncidentGrouper(samples=samples)
    grouper.add_many(detections)
    return grouper.drafts()
