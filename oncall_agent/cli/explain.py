"""`oncall explain ID [--json]`: a model's analysis of one incident, bounded, or the fallback."""

from __future__ import annotations

import json

import typer

from oncall_agent.cli.common import console, friendly_errors, store_engine
from oncall_agent.errors import ConfigError


@friendly_errors
def explain(
    incident_id: int = typer.Argument(..., help="Incident id"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Ask the configured model (ONCALL_LLM_*) what the incident is; it can only pick KB entries."""
    from oncall_agent.llm.config import ENV_BASE_URL, ENV_MODEL, settings_from_env

    settings = settings_from_env()
    if settings is None:
        raise ConfigError(
            f"no model is configured: set {ENV_BASE_URL} and {ENV_MODEL} "
            "(see the README, 'Explaining incidents with a model')"
        )
    # Imported here: the rest of the CLI starts without the openai client.
    from oncall_agent.llm.advisor import Advisor
    from oncall_agent.llm.explain import explain_incident, remember_explanation

    engine = store_engine()
    found = explain_incident(engine, incident_id, Advisor.from_settings(settings))
    remember_explanation(engine, found)
    if as_json:
        typer.echo(json.dumps(found.to_json(), ensure_ascii=False))
        return
    who = f"written by a model ({found.model})" if found.source == "llm" else "fallback, no model"
    console.print(f"#{incident_id} ({who}, {found.latency_s:.2f} s)", style="bold")
    console.print(f"summary: {found.summary}")
    console.print(f"root cause: {found.root_cause}")
    params = json.dumps(found.parameters, sort_keys=True)
    console.print(f"entry: {found.entry_key}  action: {found.action} {params}")
    for reason in found.refused:
        console.print(f"  refused: {reason}")
