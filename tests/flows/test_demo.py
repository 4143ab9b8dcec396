"""The demo scenario end to end, asserting what a user would see."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import select

from oncall_agent.models import ActionStatus, IncidentStatus
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.tables import (
    ActionRun,
    Approval,
    Incident,
    KnowledgeEntry,
    NotificationRow,
)


def _alive(pid: int) -> bool:
    """Whether PID is a live (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_demo_heals_the_service_cleans_the_disk_and_escalates_the_unknown(data_dir: Path) -> None:
    """The demo opens one incident per problem, fixes two, escalates one, and a re-run adds none."""
    from flows.demo import run_demo

    report = run_demo(data_dir / "demo")

    from oncall_agent.demo.scenario import health_status

    assert report.health_before == 503
    assert report.health_after == 200
    assert health_status(report.world) is None  # the demo stops the service at the end...
    pid = int(report.world.pidfile.read_text())
    assert not _alive(pid)  # ...and leaves no process running
    assert report.second_run == []
    assert report.archive_after < report.archive_before
    assert not [p for p in report.world.archive.iterdir() if p.name.startswith("app-2026")]
    assert len([p for p in report.world.archive.iterdir()]) == 3  # recent files kept

    with session_scope(get_engine()) as session:
        incidents = session.exec(select(Incident).order_by(Incident.id)).all()
        runs = session.exec(select(ActionRun).order_by(ActionRun.id)).all()
        entries = {e.id: e for e in session.exec(select(KnowledgeEntry)).all()}
        approvals = session.exec(select(Approval).order_by(Approval.id)).all()
    by_category: dict[str, list[Incident]] = {}
    for incident in incidents:
        by_category.setdefault(incident.category, []).append(incident)
    assert sorted(by_category) == ["database", "disk", "error", "memory"]
    [pool], [disk], [unknown] = by_category["database"], by_category["disk"], by_category["error"]
    assert pool.occurrences == report.bursts["pool"]
    assert (pool.status, disk.status) == (IncidentStatus.RESOLVED, IncidentStatus.RESOLVED)
    assert unknown.status == IncidentStatus.ESCALATED

    # Two memory incidents ask for approval: the demo's engineer approves one, the other expires.
    approved, expired = sorted(by_category["memory"], key=lambda i: i.status != "resolved")
    assert (approved.status, expired.status) == (IncidentStatus.RESOLVED, IncidentStatus.ESCALATED)
    assert [a.status for a in approvals] == ["approved", "expired"] or [
        a.status for a in approvals
    ] == ["expired", "approved"]
    assert any("oncall approve" in line for line in report.approvals)

    assert sorted(r.action for r in runs) == ["cleanup_files", "restart_service", "restart_service"]
    assert all(r.status == ActionStatus.SUCCEEDED and r.verified for r in runs)
    assert {r.incident_id for r in runs} == {pool.id, disk.id, approved.id}
    assert next(r for r in runs if r.incident_id == approved.id).triggered_by == "demo-oncall"
    pool_run = next(r for r in runs if r.incident_id == pool.id)
    # Resolved, but credited to the entry only once the verification window has stayed quiet.
    assert pool_run.credit == "pending" and pool_run.credit_due_at is not None
    assert entries[pool_run.knowledge_entry_id].successes == 0

    # Every escalation was delivered (several due together go out as one digest message).
    with session_scope(get_engine()) as session:
        rows = session.exec(select(NotificationRow)).all()
    escalated = {r.incident_id for r in rows if r.kind == "escalation"}
    assert escalated == {unknown.id, expired.id}
    assert all(r.status == "sent" for r in rows), [(r.kind, r.status) for r in rows]
    outbox = (data_dir / "outbox.jsonl").read_text()
    assert "checksum mismatch" in outbox and "oncall approve" in outbox
    assert os.environ["ONCALL_DATA_DIR"] == str(data_dir)
