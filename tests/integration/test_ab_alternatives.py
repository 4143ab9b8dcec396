"""A/B between an entry's alternative actions on a real store: choice, allow-list, records, CLI."""

from __future__ import annotations

import io
import os
import random
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import configured_actions
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, Decision, IncidentStatus, RiskClass
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.analysis import analyze_incident
from oncall_agent.resolution.decision import decide_incident
from oncall_agent.resolution.steps import resolve_unattended
from oncall_agent.store.credits import settle_credits
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, open_or_update_incident
from oncall_agent.store.knowledge import (
    action_records,
    add_entry,
    get_entry,
    record_outcome,
    to_spec,
    upsert_entries,
)
from oncall_agent.store.tables import ActionRun, utcnow
from tests.integration.learning_cli import cli_db, invoke, oncall
from tests.integration.test_resolution_steps import draft_for

__all__ = ["cli_db"]


def _entry(root: Path) -> KnowledgeEntrySpec:
    """Spool full: delete old files, or (alternative) run a compaction command."""
    return KnowledgeEntrySpec(
        key="spool-full",
        title="Spool full",
        patterns=[r"spool is full"],
        categories=["disk"],
        solution="Free the spool",
        action=ActionSpec(name="cleanup_files", params={"root": str(root), "pattern": "*.log"}),
        alternatives=[ActionSpec(name="run_command", params={"template": "compact"})],
        risk=RiskClass.LOW,
        autonomy=AutonomyMode.AUTO,
    )


def _store(engine: Engine, root: Path, records: dict[str, tuple[int, int]]) -> int:
    """Add the entry, give its arms RECORDS, and open one incident it matches; the incident id."""
    with session_scope(engine) as session:
        row = add_entry(session, _entry(root))
        assert row.id is not None
        for action, (ok, bad) in records.items():
            for success in [True] * ok + [False] * bad:
                record_outcome(session, row.id, success, action=action)
        draft = draft_for("ERROR spool is full", "disk")
        return open_or_update_incident(session, draft, reopen_window_s=60).incident_id


def test_thompson_sampling_prefers_the_arm_that_works(engine: Engine, tmp_path: Path) -> None:
    """With both arms allowed, the one with the better record is chosen most of the time."""
    incident = _store(engine, tmp_path, {"cleanup_files": (0, 8), "run_command": (8, 0)})
    both = {"cleanup_files", "run_command"}
    rng = random.Random(3)
    chosen = [analyze_incident(engine, incident, {}, both, rng).action for _ in range(40)]
    assert sum(a is not None and a.name == "run_command" for a in chosen) >= 36
    analysis = analyze_incident(engine, incident, {}, both, random.Random(3))
    assert analysis.ab_test is not None and analysis.ab_test["records"]["run_command"] == [8, 0]
    assert "A/B: chose" in analysis.confidence_explanation
    repeat = analyze_incident(engine, incident, {}, both, random.Random(3))
    assert repeat.ab_test == analysis.ab_test  # a seed makes the choice repeatable
    only = analyze_incident(engine, incident, {}, {"cleanup_files"}, random.Random(3))
    assert only.action is not None and only.action.name == "cleanup_files"
    assert only.ab_test is not None and only.ab_test["candidates"] == ["cleanup_files"]


def test_resolution_runs_only_allowed_arms_and_records_per_arm(
    engine: Engine, tmp_path: Path
) -> None:
    """The better arm is not configured, so the allowed one runs; its own record counts it."""
    spool = tmp_path / "spool"
    spool.mkdir()
    old = time.time() - 86400
    for i in range(3):
        (spool / f"old{i}.log").write_text("x")
        os.utime(spool / f"old{i}.log", (old, old))
    incident = _store(engine, spool, {"run_command": (9, 0)})
    executors = ExecutorConfig(cleanup_roots=[spool])
    progress = resolve_unattended(
        engine, incident, service_vars={}, policy=PolicyConfig(auto_threshold=0.5),
        allowed=configured_actions(executors), executors=executors, clients={}, secrets=(),
        dry_run=False, notifier=ConsoleOutboxNotifier(tmp_path / "o.jsonl", io.StringIO()),
    )  # fmt: skip
    assert progress.summary is not None and progress.summary["outcome"] == "resolved"
    assert list(spool.iterdir()) == []
    with session_scope(engine) as session:
        entry = get_entry(session, "spool-full")
        assert entry is not None and entry.id is not None
        # A verified success is credited only once the incident stayed quiet for its window.
        assert action_records(session, entry.id) == {"run_command": (9, 0)}
        settle_credits(session, now=utcnow() + timedelta(days=1))
    with session_scope(engine) as session:
        assert action_records(session, entry.id) == {"cleanup_files": (1, 0), "run_command": (9, 0)}
        run = session.exec(select(ActionRun)).one()
        assert run.action == "cleanup_files"
        assert run.confidence == get_incident(session, incident).confidence is not None
        assert get_incident(session, incident).status == IncidentStatus.RESOLVED


def test_kb_cli_adds_exports_imports_and_shows_ab_stats(cli_db: str, tmp_path: Path) -> None:
    """kb add --alternative, export/import keep alternatives; kb stats shows P(best) per arm."""
    oncall("db", "upgrade", "--no-seed")
    out = oncall(
        "kb", "add", "--key", "pool-fix", "--title", "Pool exhausted", "--pattern", "pool",
        "--solution", "restart it", "--action", "restart_service", "--param", "service=api",
        "--alternative", "cleanup_files",
        "--alternative", '{"name": "run_command", "params": {"template": "flush"}}',
    )  # fmt: skip
    assert "added 1 entries: pool-fix" in out
    with session_scope(get_engine()) as session:
        row = get_entry(session, "pool-fix")
        assert row is not None and row.id is not None
        for success in (True, True, True, False):
            record_outcome(session, row.id, success, action="run_command")
        record_outcome(session, row.id, False, action="restart_service")
    stats = oncall("kb", "stats", "pool-fix")
    assert "pool-fix: 3 successes, 2 failures over all its actions" in stats
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in stats.splitlines()]
    cells = {row[0]: row for row in rows if row}
    assert cells["run_command"][1:4] == ["alternative", "3", "1"]
    assert cells["restart_service"][1:4] == ["main", "0", "1"]
    assert cells["cleanup_files"][1:5] == ["alternative", "0", "0", "0.80"]
    p_best = {name: float(row[5]) for name, row in cells.items()}
    # An untried arm keeps the optimistic prior's chance; a failed one falls behind.
    assert p_best["cleanup_files"] > p_best["run_command"] > p_best["restart_service"] > 0
    assert sum(p_best.values()) == pytest.approx(1.0, abs=0.02)

    exported = tmp_path / "kb.yaml"
    oncall("kb", "export", str(exported))
    document = yaml.safe_load(exported.read_text())
    entry = next(e for e in document["entries"] if e["key"] == "pool-fix")
    assert [a["name"] for a in entry["alternatives"]] == ["cleanup_files", "run_command"]
    entry["alternatives"] = entry["alternatives"][:1]
    exported.write_text(yaml.safe_dump(document))
    assert "updated 1" in oncall("kb", "import", str(exported))
    assert "run_command" not in oncall("kb", "stats", "pool-fix")


def test_kb_cli_refuses_bad_alternatives(cli_db: str) -> None:
    """A repeated executor or broken JSON in --alternative: a clear error, exit 2, nothing added."""
    oncall("db", "upgrade", "--no-seed")
    base = ["kb", "add", "--key", "k", "--title", "t", "--solution", "s", "--action", "run_command"]
    twice = invoke(*base, "--alternative", "run_command")
    assert twice.exit_code == 2 and "appears twice" in twice.output
    broken = invoke(*base, "--alternative", '{"name": ')
    assert broken.exit_code == 2 and "is not valid JSON" in broken.output
    unknown = invoke("kb", "stats", "nope")
    assert unknown.exit_code == 2 and "no knowledge entry 'nope'" in unknown.output
    with session_scope(get_engine()) as session:
        assert get_entry(session, "k") is None


def test_entries_from_before_alternatives_import_unchanged(engine: Engine) -> None:
    """A row migrated from before alternatives existed (NULL) equals a spec with none."""
    spec = KnowledgeEntrySpec(key="old", title="Old", solution="s")
    with session_scope(engine) as session:
        add_entry(session, spec)
    with engine.begin() as conn:
        conn.execute(text("UPDATE knowledge_entries SET alternatives = NULL"))
    with session_scope(engine) as session:
        assert upsert_entries(session, [spec]) == (0, 0)
        row = get_entry(session, "old")
        assert row is not None and to_spec(row).alternatives == []


def test_the_chosen_alternative_still_needs_approval_and_the_allow_list(
    engine: Engine, tmp_path: Path
) -> None:
    """An 'approve' entry asks a person for the chosen arm; with no arm allowed it escalates."""
    incident = _store(engine, tmp_path, {"run_command": (9, 0), "cleanup_files": (0, 9)})
    with session_scope(engine) as session:
        entry = get_entry(session, "spool-full")
        assert entry is not None
        entry.autonomy = AutonomyMode.APPROVE.value
        session.add(entry)
    both = {"cleanup_files", "run_command"}
    analysis = analyze_incident(engine, incident, {}, both, random.Random(1))
    assert analysis.action is not None and analysis.action.name == "run_command"
    asked = decide_incident(engine, analysis, PolicyConfig(auto_threshold=0.5), both)
    assert asked.decision is Decision.ASK_APPROVAL
    assert "a person must approve" in asked.reasons[-1]

    none_allowed = analyze_incident(engine, incident, {}, set(), random.Random(1))
    assert none_allowed.action is not None and none_allowed.action.name == "cleanup_files"
    refused = decide_incident(engine, none_allowed, PolicyConfig(), set())
    assert refused.decision is Decision.ESCALATE
    assert "is not in the allowed actions" in refused.reasons[-1]
