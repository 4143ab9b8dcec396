"""One incident explained by the model, bounded by the knowledge base; else the fallback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from oncall_agent.errors import LLMError
from oncall_agent.llm.advisor import Advisor, ask_model
from oncall_agent.llm.answer import ModelAnswer
from oncall_agent.llm.bounds import PlanCheck, bound_answer
from oncall_agent.llm.facts import candidates_for, candidates_hash, incident_facts
from oncall_agent.llm.prompt import Candidate, IncidentFacts
from oncall_agent.llm.redact import redact_for_prompt
from oncall_agent.resolution.analysis import Analysis, analyze_incident
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident

# The keys stored under incident.analysis["llm"] (the approval form and notifications read them).
STORED_FIELDS = (
    "summary", "root_cause", "entry_key", "parameters", "source", "refused", "model", "latency_s",
)  # fmt: skip
JSON_FIELDS = ("incident", *STORED_FIELDS[:3], "action", *STORED_FIELDS[3:])


class Explanation(BaseModel):
    """What `oncall explain --json` prints and the resolution flow stores."""

    incident: int
    summary: str
    root_cause: str
    entry_key: str | None
    action: str | None
    parameters: dict[str, Any] = Field(default_factory=dict)
    source: Literal["llm", "fallback"]
    refused: list[str] = Field(default_factory=list)
    model: str
    latency_s: float = 0.0
    # The action differs from the agent's own choice: a person must approve it.
    chosen_by_model: bool = False
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """Exactly the fields of `oncall explain --json`."""
        return self.model_dump(include=set(JSON_FIELDS))

    def stored(self) -> dict[str, Any]:
        """Exactly the fields kept in incident.analysis["llm"]."""
        return self.model_dump(include=set(STORED_FIELDS))


def _fallback(facts: IncidentFacts, top: Candidate | None, model: str, why: str) -> Explanation:
    """The analysis without a model: the incident and the agent's own best match."""
    summary = f"{facts.title} ({facts.occurrences} occurrence(s) on {facts.service})"
    cause = f"matches knowledge entry {top.key}: {top.title}" if top else "unknown"
    return Explanation(
        incident=facts.id,
        summary=summary if not top else f"{summary}; best knowledge match: {top.title}",
        root_cause=cause if top else "unknown: no knowledge entry matches this incident",
        entry_key=top.key if top else None,
        action=top.action if top else None,
        parameters=dict(top.parameters) if top else {},
        source="fallback",
        refused=[f"the model's analysis is not used: {why}"],
        model=model,
    )


def _from_answer(
    facts: IncidentFacts,
    answer: ModelAnswer,
    candidates: list[Candidate],
    top_key: str | None,
    advisor: Advisor,
    check_plan: PlanCheck | None,
) -> Explanation:
    """The accepted part of ANSWER as an explanation (refusals listed)."""
    bounded = bound_answer(answer, candidates, top_key, check_plan)
    return Explanation(
        incident=facts.id,
        summary=redact_for_prompt(answer.summary, advisor.secrets),
        root_cause=redact_for_prompt(answer.root_cause, advisor.secrets),
        entry_key=bounded.entry_key,
        action=bounded.action,
        parameters=bounded.parameters,
        source="llm",
        refused=bounded.refused,
        model=advisor.model,
        chosen_by_model=bounded.chosen_by_model,
    )


def explain_incident(
    engine: Engine,
    incident_id: int,
    advisor: Advisor,
    *,
    analysis: Analysis | None = None,
    service_vars: dict[str, dict[str, str]] | None = None,
    check_plan: PlanCheck | None = None,
) -> Explanation:
    """Ask the model about the incident within the timeout; fall back on any failure. Audited."""
    start = advisor.clock()
    deadline = start + advisor.settings.timeout_s
    analysis = analysis or analyze_incident(engine, incident_id, service_vars)
    with session_scope(engine) as session:
        incident = get_incident(session, incident_id)
        facts = incident_facts(incident)
        candidates = candidates_for(session, incident, analysis, service_vars or {})
        fingerprint = incident.fingerprint
    top = candidates[0] if analysis.entry_key and candidates else None
    try:
        answer, cached = ask_model(
            engine, advisor, fingerprint, candidates_hash(candidates), facts, candidates, deadline
        )
    except LLMError as exc:
        found = _fallback(facts, top, advisor.model, str(exc))
    else:
        found = _from_answer(facts, answer, candidates, analysis.entry_key, advisor, check_plan)
        found.cached = cached
    found.latency_s = round(advisor.clock() - start, 3)
    _audit(engine, found)
    return found


def _audit(engine: Engine, found: Explanation) -> None:
    """One audit event per analysis: where it came from, what was chosen, what was refused."""
    with session_scope(engine) as session:
        audit(
            session,
            "llm_analysis",
            actor=f"model:{found.model}",
            incident_id=found.incident,
            source=found.source,
            cached=found.cached,
            entry=found.entry_key,
            chosen_by_model=found.chosen_by_model,
            refused=found.refused,
        )


def remember_explanation(engine: Engine, found: Explanation) -> None:
    """Keep FOUND under incident.analysis["llm"] (what the approval form and notices show)."""
    with session_scope(engine) as session:
        incident = get_incident(session, found.incident)
        incident.analysis = {**(incident.analysis or {}), "llm": found.stored()}
        session.add(incident)
