"""`oncall retrain`: run the retrain-models flow (ephemeral Prefect API when none is set)."""

from __future__ import annotations

import typer

from oncall_agent.cli.common import console, err_console, friendly_errors, store_engine


@friendly_errors
def retrain() -> None:
    """Retrain the recommendation model from the store and promote it if it is not worse."""
    engine = store_engine()  # refuse an unmigrated store before starting Prefect
    from flows.retraining import retrain_models
    from oncall_agent.learning.training import report_markdown, retrain
    from oncall_agent.settings import get_settings

    try:
        report = retrain_models()
    except RuntimeError as exc:
        # A loaded machine can keep the ephemeral API from starting within its timeout; the
        # model matters more than the run record, so train without Prefect and say so.
        if "ephemeral Prefect API" not in str(exc):
            raise
        err_console.print(
            f"[yellow]{exc}[/yellow] Retraining without Prefect (no run or artifact recorded); "
            "set PREFECT_API_URL to a running server, or raise "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS."
        )
        report = retrain(engine, get_settings().data_dir / "models", actor="oncall retrain")
    console.print(report_markdown(report))
    console.print(f"retrained in {report.seconds.get('total', 0.0):.1f}s")


def register(app: typer.Typer) -> None:
    """Add `retrain` to the main app."""
    app.command("retrain")(retrain)
