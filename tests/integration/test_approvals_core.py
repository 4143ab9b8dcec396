"""Approval guardrails in the core: replay, expiry, four eyes, exact parameters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from oncall_agent.approvals import ApprovalAnswer, judge_answer, request_approval
from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import ActionSpec, RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import open_or_update_incident
from oncall_agent.store.tables import utcnow
from tests.integration.test_resolution_steps import draft_for

POLICY = PolicyConfig()


def _analysis(engine: Engine, root: Path, risk: RiskClass = RiskClass.LOW) -> Analysis:
    """An analysis proposing a cleanup of ROOT, for a stored incident."""
    with session_scope(engine) as session:
        inc = open_or_update_incident(session, draft_for("disk full", "disk"), reopen_window_s=60)
    return Analysis(
        incident_id=inc.incident_id,
        service="api",
        risk=risk,
        confidence=0.5,
        action=ActionSpec(name="cleanup_files", params={"root": str(root), "pattern": "*.log"}),
    )


def test_an_approval_cannot_be_replayed(engine: Engine, tmp_path: Path) -> None:
    """The first valid answer consumes the request; the same answer again is refused."""
    approval = request_approval(engine, _analysis(engine, tmp_path), POLICY)
    assert approval.id is not None
    answer = ApprovalAnswer(decision="approve", approver="bob")
    assert judge_answer(engine, approval.id, answer, POLICY).approved
    again = judge_answer(engine, approval.id, answer, POLICY)
    assert not again.approved and "no replays" in " ".join(again.reasons)


def test_an_answer_after_expiry_is_refused(engine: Engine, tmp_path: Path) -> None:
    """An approval answered after its expiry time does not run anything."""
    approval = request_approval(engine, _analysis(engine, tmp_path), POLICY)
    assert approval.id is not None
    late = utcnow() + timedelta(hours=2)
    verdict = judge_answer(
        engine, approval.id, ApprovalAnswer(decision="approve", approver="b"), POLICY, now=late
    )
    assert not verdict.approved and "expired" in " ".join(verdict.reasons)


def test_four_eyes_refuses_the_requester(engine: Engine, tmp_path: Path) -> None:
    """For a critical action the person who requested it cannot approve it."""
    analysis = _analysis(engine, tmp_path, RiskClass.CRITICAL)
    approval = request_approval(engine, analysis, POLICY, requested_by="carol")
    assert approval.id is not None
    verdict = judge_answer(
        engine, approval.id, ApprovalAnswer(decision="approve", approver="carol"), POLICY
    )
    assert not verdict.approved and "second person" in " ".join(verdict.reasons)


def test_overrides_may_not_add_parameters(engine: Engine, tmp_path: Path) -> None:
    """An approver may change a proposed value but not smuggle in a new parameter."""
    approval = request_approval(engine, _analysis(engine, tmp_path), POLICY)
    assert approval.id is not None
    answer = ApprovalAnswer(decision="approve", approver="bob", parameters={"recursive": True})
    verdict = judge_answer(engine, approval.id, answer, POLICY)
    assert not verdict.approved and "recursive" in " ".join(verdict.reasons)


def test_parameters_changed_after_approval_do_not_run(engine: Engine, tmp_path: Path) -> None:
    """The executor refuses parameters whose hash differs from the approved hash."""
    analysis = _analysis(engine, tmp_path)
    approval = request_approval(engine, analysis, POLICY)
    assert approval.id is not None
    verdict = judge_answer(
        engine, approval.id, ApprovalAnswer(decision="approve", approver="b"), POLICY
    )
    tampered = analysis.with_parameters({"root": str(tmp_path), "pattern": "*"})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[tmp_path]))
    with pytest.raises(ActionRejected, match="differ from the approved"):
        execute_action(engine, tampered, executor, approved_hash=verdict.params_hash)
