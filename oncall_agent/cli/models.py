"""`oncall models list|show|rollback`: the recommendation model's versions."""

from __future__ import annotations

import typer
from rich.table import Table

from oncall_agent.cli.common import console, friendly_errors, store_session

app = typer.Typer(no_args_is_help=True)
METRICS = ("top1", "macro_f1", "brier", "ece", "coverage", "abstention")


def _metric(metrics: dict[str, object] | None, name: str) -> str:
    """One metric formatted, or '-'."""
    value = (metrics or {}).get(name)
    return f"{value:.3f}" if isinstance(value, float) else "-"


@app.command("list")
@friendly_errors
def list_models() -> None:
    """Every model version, newest first, with its holdout metrics and status."""
    from oncall_agent.learning.registry import list_versions

    table = Table("version", "status", "rows", "top-1", "ECE", "Brier", "created", "sha256")
    with store_session() as session:
        for row in list_versions(session):
            table.add_row(
                str(row.version), row.status, str(row.rows), _metric(row.metrics, "top1"),
                _metric(row.metrics, "ece"), _metric(row.metrics, "brier"),
                f"{row.created_at:%Y-%m-%d %H:%M}", row.sha256[:12],
            )  # fmt: skip
    console.print(table)


@app.command("show")
@friendly_errors
def show(version: int = typer.Argument(None, help="Version (default: the current one)")) -> None:
    """One version: file, hash, metrics, the promotion decision and the reliability table."""
    from oncall_agent.learning.evaluation import ReliabilityBin, reliability_markdown
    from oncall_agent.learning.registry import current_version, get_version

    with store_session() as session:
        row = get_version(session, version) if version else current_version(session)
        if row is None:
            console.print("no model yet: confidence comes from the knowledge base's formula")
            return
        console.print(f"model v{row.version} ({row.status}), {row.rows} rows, file {row.path}")
        console.print(f"sha256 {row.sha256}")
        console.print(f"promotion: {row.promotion_reason}")
        for name in METRICS:
            console.print(
                f"  {name:<11} {_metric(row.metrics, name)}  (current then: "
                f"{_metric(row.baseline, name)})"
            )
        bins = [ReliabilityBin(**b) for b in (row.metrics or {}).get("reliability", [])]
        console.print(reliability_markdown(bins))


@app.command("rollback")
@friendly_errors
def rollback_command(
    version: int = typer.Argument(None, help="Version to use (default: the one before)"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who rolls back (audit trail)"),
) -> None:
    """Make an earlier version current again (its file's hash is checked first)."""
    from oncall_agent.learning.registry import rollback

    with store_session() as session:
        row = rollback(session, version, actor=by or "human")
        console.print(f"model v{row.version} is current")
