"""Graduated autonomy: learning suggests a promotion; only a person applies it (audited)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.knowledge.promotion import suggest_promotion
from oncall_agent.models import AutonomyMode, RiskClass
from oncall_agent.store.engine import session_scope
from oncall_agent.store.knowledge import get_entry, record_outcome, seed_defaults, set_autonomy
from oncall_agent.store.tables import AuditEvent


def test_successes_suggest_but_never_apply_a_promotion(engine: Engine) -> None:
    """Ten verified successes produce a suggestion; the entry stays in approve mode."""
    with session_scope(engine) as session:
        seed_defaults(session)
        entry = get_entry(session, "service-out-of-memory")
        assert entry is not None and entry.id is not None
        for _ in range(10):
            record_outcome(session, entry.id, success=True)
    with session_scope(engine) as session:
        entry = get_entry(session, "service-out-of-memory")
        assert entry is not None and entry.autonomy == AutonomyMode.APPROVE
        suggestion = suggest_promotion(
            entry.key,
            AutonomyMode(entry.autonomy),
            RiskClass(entry.risk),
            entry.successes,
            entry.failures,
        )
    assert suggestion is not None and suggestion.suggested is AutonomyMode.AUTO
    assert "set-autonomy service-out-of-memory auto" in suggestion.command


def test_few_successes_or_high_risk_suggest_nothing() -> None:
    """Two successes, or a high-risk action, are not enough to suggest running alone."""
    assert suggest_promotion("k", AutonomyMode.APPROVE, RiskClass.LOW, 2, 0) is None
    assert suggest_promotion("k", AutonomyMode.APPROVE, RiskClass.HIGH, 50, 0) is None


def test_a_person_changes_autonomy_and_it_is_audited(engine: Engine) -> None:
    """set_autonomy changes the mode and records who, before, after and why."""
    with session_scope(engine) as session:
        seed_defaults(session)
        set_autonomy(session, "disk-full", AutonomyMode.SHADOW, actor="alice", reason="audit week")
    with session_scope(engine) as session:
        entry = get_entry(session, "disk-full")
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "autonomy_changed")).one()
    assert entry is not None and entry.autonomy == AutonomyMode.SHADOW
    assert event.actor == "alice"
    assert event.details == {
        "entry": "disk-full",
        "before": "auto",
        "after": "shadow",
        "reason": "audit week",
    }
