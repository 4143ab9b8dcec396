"""`oncall report`: the learning report in the terminal (or as JSON), without Prefect."""

from __future__ import annotations

import json

import typer

from oncall_agent.cli.common import console, friendly_errors, store_session
from oncall_agent.errors import ConfigError


@friendly_errors
def report(
    days: int = typer.Option(30, "--days", help="How many days back the report covers"),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
) -> None:
    """MTTR, automation, success per action and entry, false positives, calibration, drift."""
    if days < 1:
        raise ConfigError(f"--days must be at least 1, got {days}")
    from oncall_agent.learning.report import build_report
    from oncall_agent.learning.report_render import render_markdown

    with store_session() as session:
        result = build_report(session, days=days)
    if as_json:
        print(
            json.dumps(result.model_dump(mode="json"), indent=2)
        )  # plain print: rich would wrap and colour the JSON
        return
    console.print(render_markdown(result))


def register(app: typer.Typer) -> None:
    """Add the report command to the main app."""
    app.command("report")(report)
