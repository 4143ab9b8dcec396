"""The demo scenario end to end, asserting what a user would see."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlmodel import select

from oncall_agent.models import ActionStatus, IncidentStatus
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.tables import ActionRun, Incident, KnowledgeEntry


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
        incidents = {i.category: i for i in session.exec(select(Incident)).all()}
        runs = session.exec(select(ActionRun)).all()
        entries = {e.key: e for e in session.exec(select(KnowledgeEntry)).all()}
    assert set(incidents) == {"database", "disk", "error"}, incidents
    assert incidents["database"].occurrences == report.bursts["pool"]
    assert incidents["database"].status == IncidentStatus.RESOLVED
    assert incidents["disk"].status == IncidentStatus.RESOLVED
    assert incidents["error"].status == IncidentStatus.ESCALATED
    assert sorted(r.action for r in runs) == ["cleanup_files", "restart_service"]
    assert all(r.status == ActionStatus.SUCCEEDED and r.verified for r in runs)
    restart = next(r for r in runs if r.action == "restart_service")
    assert entries[[k for k, e in entries.items() if e.id == restart.knowledge_entry_id][0]].successes == 1

    outbox = [json.loads(line) for line in (data_dir / "outbox.jsonl").read_text().splitlines()]
    assert [n["incident_id"] for n in outbox] == [incidents["error"].id]
    assert "checksum mismatch" in outbox[0]["body"]
    assert os.environ["ONCALL_DATA_DIR"] == str(data_dir)
