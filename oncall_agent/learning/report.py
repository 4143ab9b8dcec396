"""The learning report: how well the agent resolves incidents and whether its confidence holds.

Over the last DAYS days: MTTR, automation rate, success per action and per knowledge entry,
false-positive rate, calibration of the confidences recorded on action runs, knowledge-base
coverage, feedback, and drift warnings. The rules behind each figure are in its function.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from statistics import mean, median
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from oncall_agent.learning.calibration import Calibration, calibrate
from oncall_agent.learning.drift import DriftWarning, drift_warnings
from oncall_agent.learning.false_positives import false_positive_incidents
from oncall_agent.learning.feedback import human_corrections
from oncall_agent.models import ActionStatus, IncidentStatus
from oncall_agent.store.tables import (
    ActionRun,
    FeedbackRow,
    Incident,
    KnowledgeEntry,
    utcnow,
)

FINAL = (ActionStatus.SUCCEEDED.value, ActionStatus.FAILED.value, ActionStatus.UNKNOWN.value)


class SuccessRecord(BaseModel):
    """Outcomes of real action runs for one action or one knowledge entry."""

    name: str
    successes: int = 0
    failures: int = 0

    @property
    def rate(self) -> float:
        """Share of runs that worked."""
        return self.successes / max(1, self.successes + self.failures)


class LearningReport(BaseModel):
    """Every figure of the learning report, for the terminal, JSON and the markdown artifact."""

    since: datetime
    until: datetime
    days: int
    incidents: int = 0
    resolved: int = 0
    mttr_minutes: float | None = None
    median_ttr_minutes: float | None = None
    resolved_automatically: int = 0
    resolved_with_approval: int = 0
    resolved_by_people: int = 0
    automation_rate: float | None = None
    per_action: list[SuccessRecord] = Field(default_factory=list)
    per_entry: list[SuccessRecord] = Field(default_factory=list)
    false_positives: int = 0
    false_positive_rate: float | None = None
    calibration: Calibration
    matched: int = 0
    matched_with_action: int = 0
    coverage: float | None = None
    feedback_correct: int = 0
    feedback_wrong: int = 0
    drift: list[DriftWarning] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The columns of an action run the report needs (full rows cost ~5x more to load)."""

    incident_id: int | None
    knowledge_entry_id: int | None
    action: str
    triggered_by: str
    status: str
    verified: bool | None
    held: bool | None
    started_at: datetime
    confidence: float | None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """The columns of an incident the report needs."""

    id: int
    first_seen: datetime
    resolved_at: datetime | None
    knowledge_entry_id: int | None


def run_worked(run: RunRecord) -> bool:
    """A run worked if it succeeded, its verification did not fail, and the problem stayed away."""
    return (
        run.status == ActionStatus.SUCCEEDED.value
        and run.verified is not False
        and (run.held is not False)
    )


def _real_runs(session: Session, until: datetime) -> list[RunRecord]:
    """Real (not dry-run) action runs that ended, started before UNTIL, oldest first."""
    columns = [getattr(ActionRun, f.name) for f in fields(RunRecord)]
    query = select(*columns).where(
        col(ActionRun.dry_run).is_(False),
        col(ActionRun.status).in_(FINAL),
        col(ActionRun.started_at) < until,
    )
    rows = session.exec(query.order_by(col(ActionRun.started_at)))  # type: ignore[call-overload]
    return [RunRecord(*row) for row in rows]


def _incidents(session: Session, *where: Any) -> list[IncidentRecord]:
    """The incidents matching WHERE, as records."""
    columns = [getattr(Incident, f.name) for f in fields(IncidentRecord)]
    rows = session.exec(select(*columns).where(*where))  # type: ignore[call-overload]
    return [IncidentRecord(*row) for row in rows]


def _tally(runs: list[RunRecord], name_of: dict[int, str] | None) -> list[SuccessRecord]:
    """Outcomes grouped by action name (NAME_OF None) or by knowledge entry key."""
    records: dict[str, SuccessRecord] = {}
    for run in runs:
        if name_of is None:
            name = run.action
        elif run.knowledge_entry_id is not None:
            name = name_of.get(run.knowledge_entry_id, str(run.knowledge_entry_id))
        else:
            continue
        record = records.setdefault(name, SuccessRecord(name=name))
        if run_worked(run):
            record.successes += 1
        else:
            record.failures += 1
    return sorted(records.values(), key=lambda r: r.name)


def _how_resolved(runs: list[RunRecord]) -> str:
    """'auto' if an unattended run fixed it, 'approved' if an approved one did, else 'people'."""
    worked = [r for r in runs if r.status == ActionStatus.SUCCEEDED.value]
    if any(r.triggered_by == "agent" for r in worked):
        return "auto"
    return "approved" if worked else "people"


def _ratio(part: int, whole: int) -> float | None:
    """PART / WHOLE, or None when there is nothing to divide."""
    return part / whole if whole else None


def _add_resolutions(
    report: LearningReport, resolved: list[IncidentRecord], runs: list[RunRecord]
) -> None:
    """MTTR (first seen to resolved) and who resolved, over incidents resolved in the window."""
    by_incident: dict[int, list[RunRecord]] = defaultdict(list)
    for run in runs:
        if run.incident_id is not None:
            by_incident[run.incident_id].append(run)
    minutes = [
        (i.resolved_at - i.first_seen).total_seconds() / 60 for i in resolved if i.resolved_at
    ]
    report.resolved = len(resolved)
    report.mttr_minutes = mean(minutes) if minutes else None
    report.median_ttr_minutes = median(minutes) if minutes else None
    kinds = [_how_resolved(by_incident.get(i.id, [])) for i in resolved]
    report.resolved_automatically = kinds.count("auto")
    report.resolved_with_approval = kinds.count("approved")
    report.resolved_by_people = kinds.count("people")
    report.automation_rate = _ratio(report.resolved_automatically, len(resolved))


def _add_coverage(report: LearningReport, session: Session, seen: list[IncidentRecord]) -> None:
    """Share of incidents seen in the window that matched an entry (and one with an action)."""
    with_action = {e.id for e in session.exec(select(KnowledgeEntry)).all() if e.action is not None}
    matched = [i for i in seen if i.knowledge_entry_id is not None]
    report.matched = len(matched)
    report.matched_with_action = sum(i.knowledge_entry_id in with_action for i in matched)
    report.coverage = _ratio(len(matched), len(seen))


def _add_feedback(report: LearningReport, session: Session, since: datetime) -> None:
    """The latest verdict per incident, for incidents given feedback in the window."""
    recent = session.exec(select(FeedbackRow.incident_id).where(col(FeedbackRow.at) >= since))
    ids = set(recent.all())
    latest = human_corrections(session)
    verdicts = [latest[i] for i in ids if i in latest]
    report.feedback_wrong = sum(1 for solution, ok in verdicts if solution or not ok)
    report.feedback_correct = len(verdicts) - report.feedback_wrong


def build_report(session: Session, days: int = 30, now: datetime | None = None) -> LearningReport:
    """The learning report over the DAYS days up to NOW."""
    until = now or utcnow()
    since = until - timedelta(days=days)
    false_ids = false_positive_incidents(session)
    seen = _incidents(session, col(Incident.first_seen) >= since, col(Incident.first_seen) < until)
    resolved = _incidents(
        session,
        Incident.status == IncidentStatus.RESOLVED.value,
        col(Incident.resolved_at) >= since,
        col(Incident.resolved_at) < until,
    )
    resolved = [i for i in resolved if i.id not in false_ids]
    history = _real_runs(session, until)
    runs = [r for r in history if r.started_at >= since]
    keys = {e.id: e.key for e in session.exec(select(KnowledgeEntry)).all() if e.id is not None}
    pairs = [(r.confidence, run_worked(r)) for r in runs if r.confidence is not None]
    report = LearningReport(since=since, until=until, days=days, calibration=calibrate(pairs))
    report.incidents = len(seen)
    report.false_positives = sum(i.id in false_ids for i in seen)
    report.false_positive_rate = _ratio(report.false_positives, len(seen))
    _add_resolutions(report, resolved, history)
    report.per_action = _tally(runs, None)
    report.per_entry = _tally(runs, keys)
    _add_coverage(report, session, [i for i in seen if i.id not in false_ids])
    _add_feedback(report, session, since)
    report.drift = drift_warnings(
        [
            (keys.get(r.knowledge_entry_id or -1, "-"), r.action, r.started_at, run_worked(r))
            for r in history
        ],
        until,
    )
    return report
