"""Approval guardrails in the core: proven approvers, replay, expiry, four eyes, exact params."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.approval_codes import approval_code
from oncall_agent.approval_judge import judge_answer
from oncall_agent.approvals import (
    MAX_CODE_FAILURES,
    ApprovalAnswer,
    Verdict,
    request_approval,
)
from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import ActionSpec, ActionStatus, RiskClass
from oncall_agent.policy import PolicyConfig
from oncall_agent.resolution.acting import execute_action
from oncall_agent.resolution.analysis import Analysis
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import open_or_update_incident
from oncall_agent.store.tables import Approval, AuditEvent, utcnow
from tests.integration.test_resolution_steps import draft_for

KEY = b"test-approval-key"
POLICY = PolicyConfig(
    approver_channels={"alice": "email/alice", "bob": "slack/bob", "carol": "webhook/carol"}
)
TRUSTING = PolicyConfig(trust_local_approver=True)


def _analysis(
    engine: Engine, root: Path, risk: RiskClass = RiskClass.LOW, **params: Any
) -> Analysis:
    """An analysis proposing a cleanup of ROOT, for a stored incident."""
    with session_scope(engine) as session:
        inc = open_or_update_incident(session, draft_for("disk full", "disk"), reopen_window_s=60)
    proposed = {"root": str(root), "pattern": "*.log", "older_than_s": 3600, **params}
    return Analysis(
        incident_id=inc.incident_id,
        service="api",
        risk=risk,
        confidence=0.5,
        action=ActionSpec(name="cleanup_files", params=proposed),
    )


def _request(engine: Engine, root: Path, **kwargs: Any) -> Approval:
    """A stored approval request for a cleanup of ROOT."""
    approval = request_approval(engine, _analysis(engine, root), POLICY, **kwargs)
    assert approval.id is not None
    return approval


def _code(approval: Approval, approver: str) -> str:
    """The code the agent sends APPROVER for APPROVAL."""
    assert approval.id is not None
    return approval_code(KEY, approval.id, approver, approval.params_hash, approval.expires_at)


def _judge(
    engine: Engine, approval: Approval, policy: PolicyConfig = POLICY, **answer: Any
) -> Verdict:
    """Judge an answer to APPROVAL with the test key."""
    assert approval.id is not None
    given = ApprovalAnswer(decision="approve", **answer)
    return judge_answer(engine, approval.id, given, policy, key=KEY)


def _status(engine: Engine, approval: Approval) -> Approval:
    """APPROVAL as stored now."""
    with session_scope(engine) as session:
        row = session.get(Approval, approval.id)
        assert row is not None
        session.expunge(row)
        return row


def test_the_code_sent_to_an_approver_approves_once(engine: Engine, tmp_path: Path) -> None:
    """Alice's code approves as alice (no name needed); the same code again is refused."""
    approval = _request(engine, tmp_path)
    verdict = _judge(engine, approval, code=_code(approval, "alice").lower().replace("-", " "))
    assert verdict.approved and verdict.approver == "alice", verdict.reasons
    again = _judge(engine, approval, code=_code(approval, "alice"))
    assert not again.approved and "no replays" in " ".join(again.reasons)
    row = _status(engine, approval)
    assert (row.status, row.decided_by) == ("approved", "alice")
    assert row.approved_hash == row.params_hash and row.approved_parameters == row.parameters


def test_a_declared_name_without_a_code_is_not_an_approval(engine: Engine, tmp_path: Path) -> None:
    """`--as alice` with no code is refused (and audited) unless the policy trusts local users."""
    approval = _request(engine, tmp_path)
    verdict = _judge(engine, approval, approver="alice")
    assert not verdict.approved and not verdict.final
    assert "one-time code" in " ".join(verdict.reasons)
    assert _status(engine, approval).status == "pending"  # the person may still answer properly
    with session_scope(engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.kind == "approval_refused"))
        assert [e.details["declared"] for e in refused] == ["alice"]  # type: ignore[index]
    trusted = request_approval(engine, _analysis(engine, tmp_path), TRUSTING)
    assert _judge(engine, trusted, TRUSTING, approver="alice").approved


@pytest.mark.parametrize(
    "case", ["other-approver", "other-approval", "wrong-name", "garbage", "expired"]
)
def test_codes_are_bound_to_approver_approval_and_expiry(
    engine: Engine, tmp_path: Path, case: str
) -> None:
    """A code only works for its own approver, its own approval, and before expiry."""
    approval, other = _request(engine, tmp_path), _request(engine, tmp_path)
    answer: dict[str, Any] = {
        "other-approver": {"approver": "bob", "code": _code(approval, "alice")},
        "other-approval": {"code": _code(other, "alice")},
        "wrong-name": {"approver": "mallory", "code": _code(approval, "alice")},
        "garbage": {"code": "AAAA-BBBB-CCCC"},
        "expired": {"code": _code(approval, "alice")},
    }[case]
    assert approval.id is not None
    late = utcnow() + timedelta(hours=2) if case == "expired" else None
    verdict = judge_answer(
        engine, approval.id, ApprovalAnswer(decision="approve", **answer), POLICY, late, key=KEY
    )
    assert not verdict.approved
    assert _status(engine, approval).status in ("pending", "expired")


def test_a_code_no_longer_matches_changed_parameters(engine: Engine, tmp_path: Path) -> None:
    """Parameters (and their hash) rewritten in the store after the request void the code."""
    approval = _request(engine, tmp_path)
    code = _code(approval, "alice")
    wider = {**(approval.parameters or {}), "pattern": "*"}
    from oncall_agent.executors.base import params_hash

    with session_scope(engine) as session:
        session.execute(
            update(Approval)
            .where(Approval.id == approval.id)  # type: ignore[arg-type]
            .values(parameters=wider, params_hash=params_hash(wider))
        )
    verdict = _judge(engine, approval, code=code)
    assert not verdict.approved and "not the one sent" in " ".join(verdict.reasons)


def test_wrong_codes_close_the_request_at_the_limit(engine: Engine, tmp_path: Path) -> None:
    """Each wrong code is refused and audited; at the limit the request is closed as rejected."""
    approval = _request(engine, tmp_path)
    verdicts = [_judge(engine, approval, code="AAAA-AAAA-AAAA") for _ in range(MAX_CODE_FAILURES)]
    assert [v.final for v in verdicts] == [False] * (MAX_CODE_FAILURES - 1) + [True]
    assert _status(engine, approval).status == "rejected"
    assert not _judge(engine, approval, code=_code(approval, "alice")).approved


def test_no_approver_with_a_channel_means_nobody_may_approve(
    engine: Engine, tmp_path: Path
) -> None:
    """Deny by default: with no approver channels, a code-less or any answer cannot approve."""
    bare = PolicyConfig()
    approval = request_approval(engine, _analysis(engine, tmp_path), bare)
    verdict = _judge(engine, approval, bare, code="AAAA-AAAA-AAAA")
    assert not verdict.approved and "nobody may approve" in " ".join(verdict.reasons)


def test_approver_lists_limit_who_may_approve(engine: Engine, tmp_path: Path) -> None:
    """A proven approver outside the risk class's list is refused."""
    policy = POLICY.model_copy(update={"approvers": {RiskClass.LOW: ["bob"]}})
    approval = request_approval(engine, _analysis(engine, tmp_path), policy)
    verdict = _judge(engine, approval, policy, approver="alice", code=_code(approval, "alice"))
    assert not verdict.approved and "may not approve" in " ".join(verdict.reasons)


def test_an_answer_after_expiry_is_refused(engine: Engine, tmp_path: Path) -> None:
    """An approval answered after its expiry time does not run anything."""
    approval = _request(engine, tmp_path)
    assert approval.id is not None
    late = utcnow() + timedelta(hours=2)
    answer = ApprovalAnswer(decision="approve", code=_code(approval, "bob"))
    verdict = judge_answer(engine, approval.id, answer, POLICY, now=late, key=KEY)
    assert not verdict.approved and "expired" in " ".join(verdict.reasons)
    assert _status(engine, approval).status == "expired"


def test_four_eyes_compares_proven_identities(engine: Engine, tmp_path: Path) -> None:
    """For a critical action the requester's own code cannot approve; another approver's can."""
    analysis = _analysis(engine, tmp_path, RiskClass.CRITICAL)
    approval = request_approval(engine, analysis, POLICY, requested_by="carol")
    own = _judge(engine, approval, code=_code(approval, "carol"))
    assert not own.approved and "second person" in " ".join(own.reasons)
    approval = request_approval(engine, analysis, POLICY, requested_by="carol")
    assert _judge(engine, approval, code=_code(approval, "bob"), approver="bob").approved


def test_overrides_may_not_add_parameters(engine: Engine, tmp_path: Path) -> None:
    """An approver may narrow a proposed value but not smuggle in a new parameter."""
    approval = _request(engine, tmp_path)
    verdict = _judge(
        engine, approval, code=_code(approval, "alice"), parameters={"recursive": True}
    )
    assert not verdict.approved and "recursive" in " ".join(verdict.reasons)


@pytest.mark.parametrize(
    ("override", "why"),
    [
        ({"pattern": "*"}, "may select files"),
        ({"pattern": "[a-z]*.log"}, "may select files"),
        ({"older_than_s": "0"}, "below the proposed"),
        ({"older_than_s": "soon"}, "is not a int"),
        ({"root": "/"}, "may not be changed"),
    ],
    ids=["wider-pattern", "bracket-pattern", "earlier-cutoff", "not-a-number", "root"],
)
def test_overrides_that_widen_are_refused(
    engine: Engine, tmp_path: Path, override: dict[str, Any], why: str
) -> None:
    """Overrides that could select more than the entry allows are refused, and nothing is kept."""
    approval = _request(engine, tmp_path)
    verdict = _judge(engine, approval, code=_code(approval, "alice"), parameters=override)
    assert not verdict.approved and why in " ".join(verdict.reasons), verdict.reasons
    row = _status(engine, approval)
    assert row.status == "rejected" and row.approved_parameters is None


def test_narrowing_overrides_are_typed_and_recorded(engine: Engine, tmp_path: Path) -> None:
    """`older_than_s=7200` from the CLI becomes an int; the table records what will run."""
    approval = _request(engine, tmp_path)
    overrides = {"older_than_s": "7200", "pattern": "app-*.log"}
    verdict = _judge(engine, approval, code=_code(approval, "alice"), parameters=overrides)
    assert verdict.approved, verdict.reasons
    row = _status(engine, approval)
    assert row.approved_parameters == {**(row.parameters or {}), "older_than_s": 7200,
                                       "pattern": "app-*.log"}  # fmt: skip
    assert row.approved_hash == verdict.params_hash != row.params_hash


def test_overrides_pass_through_the_executors_allow_lists(engine: Engine, tmp_path: Path) -> None:
    """An override the executor's own validation refuses is refused at approval time."""
    approval = _request(engine, tmp_path)
    assert approval.id is not None
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[tmp_path]))
    answer = ApprovalAnswer(
        decision="approve", code=_code(approval, "alice"), parameters={"pattern": "a/b.log"}
    )
    verdict = judge_answer(engine, approval.id, answer, POLICY, key=KEY, validate=executor.plan)
    assert not verdict.approved and "allow-lists refuse" in " ".join(verdict.reasons)


def test_the_executor_runs_only_what_was_approved(engine: Engine, tmp_path: Path) -> None:
    """The executor compares what it runs with the approved hash in the store, not with itself."""
    (tmp_path / "keep.txt").write_text("x")
    (tmp_path / "old.log").write_text("x")  # what the approved parameters delete
    analysis = _analysis(engine, tmp_path, older_than_s=0)
    approval = request_approval(engine, analysis, POLICY)
    assert approval.id is not None
    assert _judge(engine, approval, code=_code(approval, "alice")).approved
    tampered = analysis.with_parameters({**(approval.parameters or {}), "pattern": "*"})
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[tmp_path]))
    with pytest.raises(ActionRejected, match="differ from those approved"):
        execute_action(engine, tampered, executor, approval_id=approval.id)
    assert (tmp_path / "keep.txt").exists()
    outcome = execute_action(engine, analysis, executor, approval_id=approval.id)
    assert outcome.status is ActionStatus.SUCCEEDED
    assert not (tmp_path / "old.log").exists() and (tmp_path / "keep.txt").exists()


def test_the_executor_refuses_an_approval_that_was_not_granted(
    engine: Engine, tmp_path: Path
) -> None:
    """A pending or rejected approval id never lets an action run."""
    analysis = _analysis(engine, tmp_path)
    approval = request_approval(engine, analysis, POLICY)
    executor = build_executor("cleanup_files", ExecutorConfig(cleanup_roots=[tmp_path]))
    with pytest.raises(ActionRejected, match="is pending"):
        execute_action(engine, analysis, executor, approval_id=approval.id)


def test_a_rejection_needs_no_code(engine: Engine, tmp_path: Path) -> None:
    """Anyone may say no: a reject without a code closes the request with only that reason."""
    approval = _request(engine, tmp_path)
    assert approval.id is not None
    answer = ApprovalAnswer(decision="reject", approver="dave", comment="not now")
    verdict = judge_answer(engine, approval.id, answer, POLICY, key=KEY)
    assert not verdict.approved and verdict.reasons == [
        "the answer was 'reject', not an explicit 'approve'"
    ]
    assert _status(engine, approval).status == "rejected"
