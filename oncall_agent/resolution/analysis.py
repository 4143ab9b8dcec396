"""Analyze: match the knowledge base, score confidence, and render the proposed action."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from oncall_agent.errors import ConfigError
from oncall_agent.knowledge.confidence import score_confidence
from oncall_agent.knowledge.matcher import IncidentText, rank_entries
from oncall_agent.knowledge.render import render_action
from oncall_agent.learning.live import learned_choice
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.knowledge import list_entries, to_spec
from oncall_agent.store.tables import Incident


class Analysis(BaseModel):
    """What the agent concluded about one incident, before deciding."""

    incident_id: int
    service: str
    entry_key: str | None = None
    entry_id: int | None = None
    entry_title: str | None = None
    match_score: float = 0.0
    match_reasons: list[str] = Field(default_factory=list)
    confidence: float | None = None
    confidence_explanation: str = ""
    # The parts of a learned model's confidence (empty: the knowledge base's formula was used).
    confidence_parts: dict[str, float] = Field(default_factory=dict)
    action: ActionSpec | None = None
    risk: RiskClass | None = None
    autonomy: AutonomyMode | None = None
    solution: str = ""
    problems: list[str] = Field(default_factory=list)
    alternatives: list[dict[str, Any]] = Field(default_factory=list)

    def with_parameters(self, params: dict[str, Any]) -> Analysis:
        """A copy whose action runs with PARAMS (the approved ones)."""
        assert self.action is not None
        action = self.action.model_copy(update={"params": dict(params)})
        return self.model_copy(update={"action": action})


def incident_fields(incident: Incident, service_vars: dict[str, dict[str, str]]) -> dict[str, str]:
    """Values an action template may use: the incident's own fields plus its service's variables."""
    fields = dict(incident.attributes or {})
    fields |= {
        "id": str(incident.id),
        "service": incident.service,
        "category": incident.category,
        "severity": incident.severity,
    }
    fields.update(service_vars.get(incident.service, {}))
    return fields


def _incident_text(incident: Incident) -> IncidentText:
    """The text of an incident the matcher compares with knowledge entries."""
    return IncidentText(
        title=incident.title,
        template=incident.template,
        samples=list(incident.samples or []),
        service=incident.service,
        category=incident.category,
    )


def analyze_incident(
    engine: Engine, incident_id: int, service_vars: dict[str, dict[str, str]] | None = None
) -> Analysis:
    """Rank knowledge entries for the incident and score the best one's action."""
    with session_scope(engine) as session:
        incident = get_incident(session, incident_id)
        rows = {row.key: row for row in list_entries(session)}
        matches = rank_entries(_incident_text(incident), [to_spec(r) for r in rows.values()])
        analysis = Analysis(incident_id=incident_id, service=incident.service)
        analysis.alternatives = [
            {"entry": m.entry_key, "score": round(m.score, 3)} for m in matches[1:4]
        ]
        learned = learned_choice(engine, incident, set(rows))
        if not matches and learned is None:
            analysis.problems.append("no knowledge entry matches this incident")
            return analysis
        if learned is not None:
            row = rows[learned.entry_key]
            match = next((m for m in matches if m.entry_key == row.key), None)
            analysis.match_score = match.score if match else 0.0
            analysis.match_reasons = list(match.reasons) if match else ["proposed by the model"]
            analysis.confidence = round(learned.confidence, 4)
            analysis.confidence_explanation = learned.explanation
            analysis.confidence_parts = learned.parts
        else:
            best, row = matches[0], rows[matches[0].entry_key]
            score = score_confidence(best.score, row.successes, row.failures)
            analysis.match_score, analysis.match_reasons = best.score, list(best.reasons)
            analysis.confidence = round(score.value, 4)
            analysis.confidence_explanation = score.explanation
        spec = to_spec(row)
        analysis.entry_key, analysis.entry_id, analysis.entry_title = row.key, row.id, row.title
        analysis.risk, analysis.autonomy, analysis.solution = (
            spec.risk,
            spec.autonomy,
            spec.solution,
        )
        if spec.action is not None:
            try:
                analysis.action = render_action(
                    spec.action, incident_fields(incident, service_vars or {})
                )
            except ConfigError as exc:
                analysis.problems.append(f"the action of {row.key} cannot be filled in: {exc}")
        return analysis
