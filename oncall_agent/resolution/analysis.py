"""Analyze: match the knowledge base, score confidence, and render the proposed action."""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session

from oncall_agent.errors import ConfigError
from oncall_agent.knowledge.ab_test import ArmRecord, choose_arm, default_rng
from oncall_agent.knowledge.confidence import score_confidence
from oncall_agent.knowledge.matcher import IncidentText, rank_entries
from oncall_agent.knowledge.render import render_action
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.learning.live import learned_choice
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.knowledge import action_records, list_entries, to_spec
from oncall_agent.store.tables import Incident, KnowledgeEntry


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
    # A model's analysis (oncall_agent.llm), when one is configured; shown as written by a model.
    llm: dict[str, Any] | None = None
    # The action is the model's choice, not the agent's own top match: a person must approve it.
    chosen_by_model: bool = False
    # When the entry lists alternative actions: which one Thompson sampling chose, and why.
    ab_test: dict[str, Any] | None = None

    def with_parameters(self, params: dict[str, Any]) -> Analysis:
        """A copy whose action runs with PARAMS (the approved ones)."""
        assert self.action is not None
        action = self.action.model_copy(update={"params": dict(params)})
        return self.model_copy(update={"action": action})


def incident_fields(incident: Incident, service_vars: dict[str, dict[str, str]]) -> dict[str, str]:
    """Values an action template may use: the incident's targets plus its service's variables.

    Targets are what configuration vouches for (sources.scope): a service or id a log line
    merely claims is shown on the incident but never fills an action's parameters.
    """
    fields = dict(incident.targets or {})
    fields |= {"id": str(incident.id), "category": incident.category, "severity": incident.severity}
    if "service" in fields:
        fields.update(service_vars.get(fields["service"], {}))
    return fields


def _unscoped(incident: Incident) -> str:
    """Why values the incident shows may be missing from its targets, for a problem message."""
    targets = incident.targets or {}
    claimed = {"service": incident.service, **(incident.attributes or {})}
    names = sorted(k for k in claimed if k not in targets and k not in ("log_excerpt",))
    if not names:
        return ""
    return (
        f"; the log lines named {', '.join(names)} but their source may not act on them "
        "(fix the source's service, services or target_attributes)"
    )


def _incident_text(incident: Incident) -> IncidentText:
    """The text of an incident the matcher compares with knowledge entries."""
    return IncidentText(
        title=incident.title,
        template=incident.template,
        samples=list(incident.samples or []),
        service=incident.service,
        category=incident.category,
    )


def _rendered_arms(
    spec: KnowledgeEntrySpec, fields: dict[str, str], problems: list[str], unscoped: str = ""
) -> list[ActionSpec]:
    """The entry's action and alternatives filled in for the incident (unfillable ones left out).

    UNSCOPED says which values the log lines named that their source may not act on.
    """
    arms = []
    for arm in spec.arms():
        try:
            arms.append(render_action(arm, fields))
        except ConfigError as exc:
            problems.append(
                f"the action {arm.name} of {spec.key} cannot be filled in: {exc}{unscoped}"
            )
    return arms


def _choose_among(
    analysis: Analysis,
    arms: list[ActionSpec],
    records: dict[str, tuple[int, int]],
    allowed: set[str] | None,
    rng: random.Random,
) -> tuple[int, int]:
    """Set the analysis's action to the arm Thompson sampling picks; that arm's record."""
    # Only arms the allow-list permits compete; with none allowed the main action stays, and
    # the policy then refuses it as not allowed (the choice never widens what may run).
    candidates = [a for a in arms if allowed is None or a.name in allowed] or arms[:1]
    choice = choose_arm(
        [ArmRecord(action=a.name, **_counts(records.get(a.name, (0, 0)))) for a in candidates],
        rng,
    )
    analysis.action = next(a for a in candidates if a.name == choice.action)
    analysis.ab_test = {
        "chosen": choice.action,
        "draws": choice.draws,
        "records": {a.name: list(records.get(a.name, (0, 0))) for a in arms},
        "candidates": [a.name for a in candidates],
    }
    return records.get(choice.action, (0, 0))


def _counts(record: tuple[int, int]) -> dict[str, int]:
    """A (successes, failures) pair as keyword arguments."""
    return {"successes": record[0], "failures": record[1]}


def _ab_sentence(ab_test: dict[str, Any]) -> str:
    """The A/B choice in words, for the confidence explanation."""
    arms = ", ".join(
        f"{name} ({ab_test['records'][name][0]}/{ab_test['records'][name][1]}, "
        f"draw {ab_test['draws'][name]:.2f})"
        for name in ab_test["candidates"]
    )
    return f"; A/B: chose {ab_test['chosen']} by Thompson sampling among {arms}"


def _fill_action(
    session: Session,
    analysis: Analysis,
    row: KnowledgeEntry,
    spec: KnowledgeEntrySpec,
    fields: dict[str, str],
    allowed: set[str] | None,
    rng: random.Random | None,
    unscoped: str = "",
) -> tuple[int, int]:
    """Render the action (choosing among alternatives); the record its confidence uses."""
    arms = _rendered_arms(spec, fields, analysis.problems, unscoped)
    if not spec.alternatives:
        analysis.action = arms[0] if arms else None
        return row.successes, row.failures
    if not arms:
        return row.successes, row.failures
    assert row.id is not None
    chooser = rng or default_rng(get_settings().ab_seed)
    return _choose_among(analysis, arms, action_records(session, row.id), allowed, chooser)


def analyze_incident(
    engine: Engine,
    incident_id: int,
    service_vars: dict[str, dict[str, str]] | None = None,
    allowed: set[str] | None = None,
    rng: random.Random | None = None,
    entry_key: str | None = None,
) -> Analysis:
    """Rank knowledge entries for the incident and score the best one's (or ENTRY_KEY's) action.

    An entry with alternatives gets one of its ALLOWED actions chosen by Thompson sampling (RNG,
    else seeded by ONCALL_AB_SEED when set), and confidence uses that action's own record.
    """
    with session_scope(engine) as session:
        incident = get_incident(session, incident_id)
        rows = {row.key: row for row in list_entries(session)}
        matches = rank_entries(_incident_text(incident), [to_spec(r) for r in rows.values()])
        if entry_key is not None:  # a ranked entry chosen by someone else (a model) comes first
            matches.sort(key=lambda m: m.entry_key != entry_key)
        analysis = Analysis(incident_id=incident_id, service=incident.service)
        analysis.alternatives = [
            {"entry": m.entry_key, "score": round(m.score, 3)} for m in matches[1:4]
        ]
        # A ranked entry someone else chose (a model via ENTRY_KEY) is not second-guessed.
        learned = None if entry_key is not None else learned_choice(engine, incident, set(rows))
        if not matches and learned is None:
            analysis.problems.append("no knowledge entry matches this incident")
            return analysis
        if learned is not None:
            row = rows[learned.entry_key]
            best = next((m for m in matches if m.entry_key == row.key), None)
        else:
            best, row = matches[0], rows[matches[0].entry_key]
        spec = to_spec(row)
        fields = incident_fields(incident, service_vars or {})
        successes, failures = _fill_action(
            session, analysis, row, spec, fields, allowed, rng, _unscoped(incident)
        )
        analysis.entry_key, analysis.entry_id, analysis.entry_title = row.key, row.id, row.title
        analysis.match_score = best.score if best else 0.0
        analysis.match_reasons = list(best.reasons) if best else ["proposed by the model"]
        if learned is not None:
            analysis.confidence = round(learned.confidence, 4)
            analysis.confidence_explanation = learned.explanation
            analysis.confidence_parts = learned.parts
        else:
            assert best is not None
            score = score_confidence(best.score, successes, failures)
            analysis.confidence = round(score.value, 4)
            analysis.confidence_explanation = score.explanation + (
                _ab_sentence(analysis.ab_test) if analysis.ab_test else ""
            )
        analysis.risk, analysis.autonomy, analysis.solution = (
            spec.risk,
            spec.autonomy,
            spec.solution,
        )
        return analysis
