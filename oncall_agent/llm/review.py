"""The model's analysis inside a resolution: the accepted choice replaces the agent's, gated."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from oncall_agent.llm.advisor import Advisor
from oncall_agent.llm.bounds import PlanCheck
from oncall_agent.llm.explain import Explanation, explain_incident
from oncall_agent.resolution.analysis import Analysis, analyze_incident


def _chosen_analysis(
    engine: Engine, analysis: Analysis, found: Explanation, service_vars: dict[str, dict[str, str]]
) -> Analysis:
    """The analysis of the entry and parameters the model chose (within bounds)."""
    chosen = analysis
    if found.entry_key != analysis.entry_key:
        chosen = analyze_incident(
            engine, analysis.incident_id, service_vars, entry_key=found.entry_key
        )
    if chosen.entry_key != found.entry_key:  # no longer ranked: the agent's own choice stands
        return analysis
    if chosen.action is not None and found.parameters != chosen.action.params:
        chosen = chosen.with_parameters(found.parameters)
    return chosen.model_copy(update={"chosen_by_model": True})


def review_analysis(
    engine: Engine,
    analysis: Analysis,
    advisor: Advisor,
    service_vars: dict[str, dict[str, str]],
    check_plan: PlanCheck | None,
) -> Analysis:
    """ANALYSIS with the model's explanation attached, and its bounded choice if it differs."""
    found = explain_incident(
        engine,
        analysis.incident_id,
        advisor,
        analysis=analysis,
        service_vars=service_vars,
        check_plan=check_plan,
    )
    reviewed = analysis
    if found.source == "llm" and found.chosen_by_model:
        reviewed = _chosen_analysis(engine, analysis, found, service_vars)
    return reviewed.model_copy(update={"llm": found.stored()})
