"""The learning report over a real store, and `oncall report` in the terminal and as JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.learning.false_positives import mark_false_positive
from oncall_agent.learning.feedback import Verdict, record_feedback
from oncall_agent.learning.report import build_report
from oncall_agent.learning.report_render import render_markdown
from oncall_agent.models import ActionSpec, IncidentStatus
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import add_entry
from oncall_agent.store.tables import ActionRun, utcnow
from tests.integration.learning_cli import cli_db, invoke, oncall, simulated_incident
from tests.integration.test_incident_store import draft

__all__ = ["cli_db"]

NOW = utcnow()


def _entry(session: Session, key: str, action: str) -> int:
    """Store an entry whose fix is ACTION; its id."""
    spec = KnowledgeEntrySpec(key=key, title=key, solution="fix", action=ActionSpec(name=action))
    row = add_entry(session, spec)
    assert row.id is not None
    return row.id


def _incident(
    session: Session, name: str, hours_ago: float, entry: int | None, resolved_after_min: int = 0
) -> int:
    """An incident first seen HOURS_AGO, matched to ENTRY, resolved after some minutes (0: not)."""
    seen = NOW - timedelta(hours=hours_ago)
    change = open_or_update_incident(session, draft(fp=name, at=seen), reopen_window_s=60)
    row = get_incident(session, change.incident_id)
    row.knowledge_entry_id = entry
    if resolved_after_min:
        row.status, row.active_fingerprint = IncidentStatus.RESOLVED.value, None
        row.resolved_at = seen + timedelta(minutes=resolved_after_min)
    session.add(row)
    session.flush()
    return change.incident_id


def _run(
    session: Session, incident: int | None, entry: int, action: str, *, ok: bool,
    at: datetime, confidence: float | None = None, by: str = "agent",
) -> None:  # fmt: skip
    """A finished real action run."""
    run = ActionRun(
        idempotency_key=f"k{at.timestamp()}-{incident}-{action}-{ok}-{confidence}",
        incident_id=incident, knowledge_entry_id=entry, action=action,
        status="succeeded" if ok else "failed", verified=ok, triggered_by=by,
        started_at=at, confidence=confidence,
    )  # fmt: skip
    session.add(run)


def _history(session: Session) -> dict[str, int]:
    """Six incidents: automatic, approved, by a person, open, false positive, failed; and drift."""
    disk, hang = _entry(session, "disk-x", "cleanup_files"), _entry(session, "svc-hang", "restart")
    ids = {
        "auto": _incident(session, "auto", 30, disk, resolved_after_min=60),
        "approved": _incident(session, "approved", 50, hang, resolved_after_min=120),
        "person": _incident(session, "person", 70, None, resolved_after_min=180),
        "open": _incident(session, "open", 5, None),
        "noise": _incident(session, "noise", 6, None),
        "failed": _incident(session, "failed", 8, disk),
    }
    day = timedelta(days=1)
    _run(session, ids["auto"], disk, "cleanup_files", ok=True, at=NOW - day, confidence=0.9)
    _run(session, ids["failed"], disk, "cleanup_files", ok=False, at=NOW - day, confidence=0.8)
    _run(session, ids["approved"], hang, "restart", ok=True, at=NOW - 2 * day, confidence=0.6,
         by="ana")  # fmt: skip
    for i in range(4):  # restart used to work ...
        _run(session, None, hang, "restart", ok=True, at=NOW - (40 + i) * day)
    for i in range(3):  # ... and stopped working this week
        _run(session, None, hang, "restart", ok=False, at=NOW - (2 + i / 10) * day)
    mark_false_positive(session, ids["noise"], reason="synthetic probe", actor="ana")
    record_feedback(session, ids["auto"], Verdict.WRONG, actor="bo", solution="resize the disk")
    return ids


def test_report_figures_follow_from_the_history(engine: Engine) -> None:
    """Each figure equals what the stored history implies, and the markdown shows it."""
    with session_scope(engine) as session:
        _history(session)
    with session_scope(engine) as session:
        report = build_report(session, days=30, now=NOW + timedelta(seconds=1))
    assert (report.incidents, report.resolved) == (6, 3)
    assert report.mttr_minutes == pytest.approx(120) and report.median_ttr_minutes == 120
    assert (report.resolved_automatically, report.resolved_with_approval) == (1, 1)
    assert report.resolved_by_people == 1 and report.automation_rate == pytest.approx(1 / 3)
    assert (report.false_positives, report.false_positive_rate) == (1, pytest.approx(1 / 6))
    actions = {r.name: (r.successes, r.failures) for r in report.per_action}
    assert actions == {"cleanup_files": (1, 1), "restart": (1, 3)}
    assert {r.name: (r.successes, r.failures) for r in report.per_entry} == {
        "disk-x": (1, 1), "svc-hang": (1, 3)
    }  # fmt: skip
    assert report.calibration.samples == 3
    assert report.calibration.ece == pytest.approx((0.1 + 0.8 + 0.4) / 3)
    assert (report.matched, report.matched_with_action) == (3, 3)
    assert report.coverage == pytest.approx(3 / 5)
    assert (report.feedback_correct, report.feedback_wrong) == (0, 1)
    assert [(w.entry, w.action, w.recent_outcomes) for w in report.drift] == [
        ("svc-hang", "restart", 4)
    ]
    text = render_markdown(report)
    assert "| automation rate | 33% |" in text
    assert "| calibration error (ECE) | 0.433 (3 outcomes) |" in text
    assert "| 0.8-0.9 | 1 | 0.80 | 0% |" in text
    assert "- WARNING: restart for svc-hang worked 25% of 4 times in the last 7 days" in text


def test_empty_store_reports_no_data_rather_than_zeros(engine: Engine) -> None:
    """With nothing recorded, rates are n/a and the sections say there is nothing yet."""
    with session_scope(engine) as session:
        text = render_markdown(build_report(session, days=7))
    assert "| MTTR (mean, minutes) | n/a |" in text
    assert "No action with a recorded confidence ended in this period." in text
    assert "None: no fix's recent success rate fell." in text


def test_report_cli_prints_text_and_json(cli_db: str) -> None:
    """`oncall report` shows the figures; --json gives the same as data; bad --days exits 2."""
    oncall("db", "upgrade")
    first = simulated_incident("pool", "api", "ERROR connection pool exhausted size=10")
    simulated_incident("ledger", "billing", "ERROR reconciliation failed: checksum mismatch")
    oncall("resolve", str(first), "--solution", "restarted the pool")
    text = oncall("report", "--days", "30")
    assert "# Learning report: last 30 days" in text
    assert "| incidents seen | 2 |" in text and "| incidents resolved | 1 |" in text
    assert "| resolved automatically / with approval / by people | 0 / 0 / 1 |" in text
    data = json.loads(oncall("report", "--json"))
    assert data["days"] == 30 and data["incidents"] == 2 and data["resolved_by_people"] == 1
    assert data["calibration"]["ece"] is None and data["drift"] == []
    bad = invoke("report", "--days", "0")
    assert bad.exit_code == 2 and bad.output.strip() == "error: --days must be at least 1, got 0"
