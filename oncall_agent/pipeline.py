"""Detection pipeline: read a source from its cursor, detect, group, store, then move the cursor."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from oncall_agent.detection import baseline
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.grouping import group_detections
from oncall_agent.gc_tuning import fewer_collections
from oncall_agent.learning.false_positives import active_false_positives, drop_false_positives
from oncall_agent.models import Detection, IncidentDraft, LogEvent
from oncall_agent.settings import get_settings
from oncall_agent.shutdown import stop_requested
from oncall_agent.sources.base import EventSource
from oncall_agent.store import baseline as stored
from oncall_agent.store.cursors import advance_cursor, load_cursor_at
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import (
    IncidentChange,
    open_or_update_incident,
    recent_templates,
    update_existing_incident,
)
from oncall_agent.store.patterns import load_pattern_set
from oncall_agent.store.problems import clear_problem, note_problem

LOOKBACK_BUCKETS = 7 * 24 * 3600 // baseline.BUCKET_S  # a week of history per source


@dataclass
class ScanReport:
    """What one pass over a source found and stored."""

    source_key: str
    lines: int = 0
    detections: int = 0
    changes: list[IncidentChange] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    # Batches another detector stored first (ours were dropped and read again from its cursor).
    lost_races: int = 0
    stopped: bool = False  # asked to stop (SIGTERM, Ctrl-C) before the source was read to its end
    held_back: dict[str, str] = field(default_factory=dict)  # fingerprint -> why (chatter)
    # Configuration problems of the source (a glob matching no file): said loudly, and kept for
    # `oncall status` until they are fixed.
    problems: list[str] = field(default_factory=list)

    def add_stats(self, stats: dict[str, Any]) -> None:
        """Sum a batch's reader statistics into the report."""
        for name, value in stats.items():
            if isinstance(value, int):
                self.stats[name] = self.stats.get(name, 0) + value


def load_detector(engine: Engine) -> Detector:
    """The detector with the built-in patterns plus the user's enabled ones."""
    with session_scope(engine) as session:
        return Detector(load_pattern_set(session))


def scan_source(
    engine: Engine,
    source: EventSource,
    source_key: str,
    detector: Detector | None = None,
    progress: Callable[[ScanReport], None] | None = None,
    use_baseline: bool = True,
) -> ScanReport:
    """Read everything new in SOURCE; each batch's incidents and cursor commit together.

    The cursor advances by compare-and-swap: a batch another detector stored first is dropped
    (never counted twice) and reading goes on from that detector's cursor. With USE_BASELINE,
    the source's baseline (see `detection.baseline`) is kept in the store and steady chatter
    does not open incidents (it still counts in open ones).
    """
    with fewer_collections():
        return _scan_source(engine, source, source_key, detector, progress, use_baseline)


def _scan_source(
    engine: Engine,
    source: EventSource,
    source_key: str,
    detector: Detector | None,
    progress: Callable[[ScanReport], None] | None,
    use_baseline: bool,
) -> ScanReport:
    """`scan_source`'s loop."""
    settings = get_settings()
    detector = detector or load_detector(engine)
    report = ScanReport(source_key=source_key, problems=_source_problems(source))
    with session_scope(engine) as session:
        if report.problems:
            note_problem(session, source_key, "; ".join(report.problems))
        else:
            clear_problem(session, source_key)
        cursor, version = load_cursor_at(session, source_key)
        # One query per run: marks made during the run apply from the next run on.
        false_positives = active_false_positives(session)
        since = datetime.now(UTC) - timedelta(seconds=settings.reopen_window_s)
        for service, template in recent_templates(session, since):
            detector.remember(service, template)
    while not stop_requested():
        # The detector's engine picks, chunk by chunk, the lines that may alert: only those
        # become events; the rest are consumed (and counted) without per-line work.
        batch = source.read(cursor, selector=detector.engine)
        if not batch.events and batch.cursor == cursor:
            break
        detections = detector.detect_many(batch.events)
        drafts = group_detections(detections, samples=settings.samples_per_incident)
        drafts, dropped = drop_false_positives(drafts, false_positives)
        if dropped:
            report.add_stats({"false_positive_lines": dropped})
        # Incidents, baseline counts and cursor in one transaction: a crash re-reads the batch
        # (at-least-once), and the compare-and-swap makes sure only one detector stores it.
        with session_scope(engine) as session:
            if not advance_cursor(session, source_key, batch.cursor, version):
                cursor, version = load_cursor_at(session, source_key)
                report.lost_races += 1
                continue
            version += 1
            verdicts = _judge(session, source_key, batch.events, detections) if use_baseline else {}
            for draft in drafts:
                _store_draft(session, draft, verdicts.get(draft.fingerprint), report)
        report.lines += len(batch.events)
        report.detections += len(detections)
        report.add_stats(_stats_dict(batch.stats))
        cursor = batch.cursor
        if progress:
            progress(report)
    report.stopped = stop_requested()
    return report


def _store_draft(
    session: Session, draft: IncidentDraft, verdict: baseline.Verdict | None, report: ScanReport
) -> None:
    """Open or update DRAFT's incident; chatter (VERDICT says so) only updates an existing one."""
    settings = get_settings()
    window, samples = settings.reopen_window_s, settings.samples_per_incident
    if verdict is None or verdict.opens:
        report.changes.append(
            open_or_update_incident(session, draft, reopen_window_s=window, sample_limit=samples)
        )
        return
    change = update_existing_incident(session, draft, reopen_window_s=window, sample_limit=samples)
    if change is not None:
        report.changes.append(change)
    else:
        report.held_back[draft.fingerprint] = verdict.why


def _judge(
    session: Session, source_key: str, events: Sequence[LogEvent], detections: list[Detection]
) -> dict[str, baseline.Verdict]:
    """Count the batch into the source's baseline; the verdict for each fingerprint in it."""
    now = datetime.now(UTC)
    counts: dict[str, dict[int, int]] = {stored.SPAN: {}}
    for event in events:
        bucket = baseline.bucket_of(event.timestamp or now)
        counts[stored.SPAN][bucket] = counts[stored.SPAN].get(bucket, 0) + 1
    for found in detections:
        series = counts.setdefault(found.fingerprint, {})
        bucket = baseline.bucket_of(found.event.timestamp or now)
        series[bucket] = series.get(bucket, 0) + 1
    stored.add_counts(session, source_key, counts)
    latest = max(counts[stored.SPAN], default=baseline.bucket_of(now))
    stored.prune(session, source_key, latest - LOOKBACK_BUCKETS)
    history = stored.load_series(session, source_key, counts, latest - LOOKBACK_BUCKETS)
    start = stored.observed_from(session, source_key)
    span = history.get(stored.SPAN, {})
    last = max(span, default=latest)
    return {
        fp: baseline.judge(history.get(fp, series), start or min(series), last, min(series))
        for fp, series in counts.items()
        if fp != stored.SPAN
    }


def _source_problems(source: EventSource) -> list[str]:
    """What is wrong with SOURCE's configuration, for sources that can tell (files can)."""
    check = getattr(source, "configuration_problems", None)
    return list(check()) if callable(check) else []


def _stats_dict(stats: Any) -> dict[str, Any]:
    """Reader statistics as a plain dict, whatever shape the reader returns."""
    if isinstance(stats, dict):
        return stats
    if hasattr(stats, "model_dump"):
        return dict(stats.model_dump())
    return dict(vars(stats))
