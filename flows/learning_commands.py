"""`oncall retrain`: run the retrain-models flow (ephemeral Prefect API when none is set)."""

from __future__ import annotations

import typer

from oncall_agent.cli.common import console, friendly_errors, store_engine


@friendly_errors
def retrain() -> None:
    """Retrain the recommendation model from the store and promote it if it is not worse."""
    store_engine()  # refuse an unmigrated store before starting Prefect
    from flows.retraining import retrain_models
    from oncall_agent.learning.training import report_markdown

    report = retrain_models()
    console.print(report_markdown(report), markup=False)
    console.print(f"retrained in {report.seconds.get('total', 0.0):.1f}s")


def register(app: typer.Typer) -> None:
    """Add `retrain` to the main app."""
    app.command("retrain")(retrain)
