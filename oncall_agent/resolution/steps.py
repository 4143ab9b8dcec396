"""The two ends of a resolution run, each one call: assess (claim, analyze, decide) and conclude.

Each task costs a round of Prefect API calls (measured: ~30 ms of server CPU per task), so the
resolution flow runs these composed steps rather than one task per small function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from oncall_agent.errors import ActionRejected, ConfigError, LeaseLost
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.registry import build_executor
from oncall_agent.models import Decision
from oncall_agent.notify.base import Notifier
from oncall_agent.policy import PolicyConfig, PolicyDecision
from oncall_agent.resolution.acting import ActionOutcome, execute_action
from oncall_agent.resolution.analysis import Analysis, analyze_incident
from oncall_agent.resolution.decision import decide_incident
from oncall_agent.resolution.lease import move_held_lease, process_owner
from oncall_agent.resolution.recording import (
    escalate_incident,
    escalation_reasons,
    incident_summary,
    record_action_outcome,
)
from oncall_agent.resolution.report import StepClock
from oncall_agent.settings import get_settings
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.leases import LeasePhase, claim_lease
from oncall_agent.store.problems import note_problem

if TYPE_CHECKING:  # the model's analysis is imported only when a model is configured
    from oncall_agent.llm.advisor import Advisor
    from oncall_agent.llm.bounds import PlanCheck


class Assessment(BaseModel):
    """What the agent concluded and what the policy decided, for one incident."""

    analysis: Analysis
    decision: PolicyDecision


class Progress(BaseModel):
    """Where an unattended resolution stopped: finished (summary) or waiting for a person."""

    summary: dict[str, object] | None = None
    assessment: Assessment | None = None
    seconds: dict[str, float] = Field(default_factory=dict)  # per step, for the run's report


def plan_checker(
    executors: ExecutorConfig, clients: Mapping[str, Any], secrets: tuple[str, ...]
) -> PlanCheck:
    """Validation of an action's parameters by its executor (allow-lists), running nothing."""

    def check(action: str, params: dict[str, Any]) -> None:
        build_executor(action, executors, secrets=secrets, clients=clients).plan(params)

    return check


def plan_refusal(analysis: Analysis, check: PlanCheck) -> str | None:
    """Why the executor refuses the analysis's concrete action (target, parameters), or None.

    This is the executor's own validation (its plan, nothing runs), done before anyone is asked
    or anything acts, so a person is never asked to approve what can never run.
    """
    if analysis.action is None:
        return None
    try:
        check(analysis.action.name, analysis.action.params)
    except ActionRejected as exc:
        return str(exc)
    return None


def assess_incident(
    engine: Engine,
    incident_id: int,
    service_vars: dict[str, dict[str, str]],
    policy: PolicyConfig,
    allowed: set[str],
    owner: str,
    flow_run_id: str | None = None,
    advisor: Advisor | None = None,
    check_plan: PlanCheck | None = None,
) -> Assessment | None:
    """Claim the incident with a lease, analyze it (with the model, if any) and decide; None if
    another run owns it.

    CHECK_PLAN is the executor's own validation: a concrete action it refuses escalates before
    anyone is asked or anything acts.
    """
    ttl = get_settings().resolution_lease_s
    with session_scope(engine) as session:
        if claim_lease(session, incident_id, owner, ttl, flow_run_id) is None:
            return None
    analysis = analyze_incident(engine, incident_id, service_vars, allowed)
    if advisor is not None:
        from oncall_agent.llm.review import review_analysis

        analysis = review_analysis(engine, analysis, advisor, service_vars, check_plan)
    refusal = plan_refusal(analysis, check_plan) if check_plan is not None else None
    if refusal is not None and analysis.action is not None:  # loud: kept for `oncall status`
        where = f"action:{analysis.action.name}"
        refusal = configuration_problem(engine, where, refusal, incident_id)
    decision = decide_incident(engine, analysis, policy, allowed, refusal=refusal)
    return Assessment(analysis=analysis, decision=decision)


def conclude_incident(
    engine: Engine,
    assessment: Assessment,
    outcome: ActionOutcome | None,
    extra_reasons: list[str],
    notifier: Notifier,
    ui_url: str | None = None,
) -> dict[str, object]:
    """Record the outcome (resolving the incident if it held) or escalate; return the summary."""
    analysis, decision = assessment.analysis, assessment.decision
    resolved = outcome is not None and record_action_outcome(engine, analysis, outcome)
    if not resolved:
        why = escalation_reasons(decision.decision, decision.reasons + extra_reasons, outcome)
        escalate_incident(engine, analysis.incident_id, why, notifier, ui_url)
    return incident_summary(engine, analysis.incident_id)


def resolve_unattended(
    engine: Engine,
    incident_id: int,
    *,
    service_vars: dict[str, dict[str, str]],
    policy: PolicyConfig,
    allowed: set[str],
    executors: ExecutorConfig,
    clients: Mapping[str, Any],
    secrets: tuple[str, ...],
    dry_run: bool,
    notifier: Notifier,
    lease_owner: str | None = None,
    flow_run_id: str | None = None,
    ui_url: str | None = None,
    advisor: Advisor | None = None,
) -> Progress:
    """Everything that needs no person, in one call: assess, act (or dry-run) and conclude.

    Stops before acting when the policy asks for approval, returning the assessment. The
    caller holds LEASE_OWNER's lease alive (LeaseKeeper) for as long as the resolution runs.
    With an ADVISOR (a configured model), its bounded analysis joins the assessment; without,
    nothing about the model is imported or run.
    """
    # A caller without a lease of its own (a script, a test) claims one for this call only.
    lease_owner = lease_owner or process_owner()
    clock = StepClock()
    check = plan_checker(executors, clients, secrets)
    with clock.step("assess"):
        assessment = assess_incident(
            engine, incident_id, service_vars, policy, allowed, lease_owner, flow_run_id,
            advisor, check,
        )  # fmt: skip
    if assessment is None:  # another run owns this episode
        return Progress(summary=incident_summary(engine, incident_id))
    decision, analysis = assessment.decision.decision, assessment.analysis
    if decision is Decision.ASK_APPROVAL:
        move_held_lease(engine, incident_id, lease_owner, LeasePhase.AWAITING_APPROVAL)
        return Progress(assessment=assessment, seconds=clock.seconds)
    outcome, problems = None, []
    shadow = decision is Decision.SHADOW
    if analysis.action is not None and (decision is Decision.EXECUTE or shadow):
        dry = dry_run or policy.dry_run_only or shadow  # shadow records what would have run
        try:
            with clock.step("act"):
                executor = build_executor(
                    analysis.action.name, executors, secrets=secrets, clients=clients
                )
                outcome = execute_action(
                    engine, analysis, executor, dry_run=dry, secrets=secrets,
                    lease_owner=lease_owner,
                )  # fmt: skip
        except LeaseLost:
            return Progress(summary=incident_summary(engine, incident_id))  # the sweep has it
        except (ActionRejected, ConfigError) as exc:  # refused before running: nothing ran
            where = f"action:{analysis.action.name}"
            problems = [configuration_problem(engine, where, str(exc), incident_id)]
    with clock.step("record"):
        summary = conclude_incident(engine, assessment, outcome, problems, notifier, ui_url)
    return Progress(summary=summary, seconds=clock.seconds)


def configuration_problem(
    engine: Engine, where: str, problem: str, incident_id: int | None = None
) -> str:
    """Record a configuration problem (for `oncall status`); the reason an escalation gives."""
    with session_scope(engine) as session:
        note_problem(session, where, problem)
        audit(session, "config_problem", incident_id=incident_id, where=where, problem=problem)
    return f"configuration problem ({where}), nothing ran: {problem}"
