"""Detection pipeline: read a source from its cursor, detect, group, store, then move the cursor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.grouping import group_detections
from oncall_agent.settings import get_settings
from oncall_agent.sources.base import EventSource
from oncall_agent.store.cursors import load_cursor, save_cursor
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import IncidentChange, open_or_update_incident
from oncall_agent.store.patterns import load_pattern_set
from oncall_agent.store.problems import clear_problem, note_problem


@dataclass
class ScanReport:
    """What one pass over a source found and stored."""

    source_key: str
    lines: int = 0
    detections: int = 0
    changes: list[IncidentChange] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
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
) -> ScanReport:
    """Read everything new in SOURCE; each batch's incidents and cursor commit together."""
    settings = get_settings()
    detector = detector or load_detector(engine)
    report = ScanReport(source_key=source_key, problems=_source_problems(source))
    with session_scope(engine) as session:
        if report.problems:
            note_problem(session, source_key, "; ".join(report.problems))
        else:
            clear_problem(session, source_key)
        cursor = load_cursor(session, source_key)
    while True:
        # The detector's engine picks, chunk by chunk, the lines that may alert: only those
        # become events; the rest are consumed (and counted) without per-line work.
        batch = source.read(cursor, selector=detector.engine)
        if not batch.events and batch.cursor == cursor:
            break
        detections = detector.detect_many(batch.events)
        drafts = group_detections(detections, samples=settings.samples_per_incident)
        # Incidents and cursor in one transaction: a crash re-reads the batch (at-least-once),
        # and re-reading only adds occurrences to the same incidents.
        with session_scope(engine) as session:
            for draft in drafts:
                report.changes.append(
                    open_or_update_incident(
                        session,
                        draft,
                        reopen_window_s=settings.reopen_window_s,
                        sample_limit=settings.samples_per_incident,
                    )
                )
            save_cursor(session, source_key, batch.cursor)
        report.lines += len(batch.events)
        report.detections += len(detections)
        report.add_stats(_stats_dict(batch.stats))
        cursor = batch.cursor
        if progress:
            progress(report)
    return report


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
