"""`oncall recommend` and `oncall backtest`: the learned model's answers, now and in replay."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from oncall_agent.cli.common import console, friendly_errors, store_engine
from oncall_agent.errors import ConfigError

if TYPE_CHECKING:
    from oncall_agent.learning.backtest import BacktestReport


@friendly_errors
def recommend(
    path: Path = typer.Argument(
        ..., help="CSV with title, description, service, severity, timestamp"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array (one object per row)"),
) -> None:
    """What the agent would recommend now for each data row (null solution: it abstains)."""
    from oncall_agent.learning.recommend import (
        answer_rows,
        autonomy_by_entry,
        read_queries,
        to_json,
    )
    from oncall_agent.learning.registry import current_model
    from oncall_agent.policy import PolicyConfig

    engine = store_engine()
    loaded = current_model(engine)
    if loaded is None:
        raise ConfigError("no recommendation model yet: import history and run `oncall retrain`")
    queries = list(read_queries(path))
    answers = answer_rows(loaded[1], queries)
    autonomy, policy = autonomy_by_entry(engine), PolicyConfig()
    out = [to_json(q, a, autonomy, policy) for q, a in zip(queries, answers, strict=True)]
    if as_json:
        print(json.dumps(out))
        return
    table = Table("row", "service", "title", "solution", "conf.", "decision")
    for q, o in zip(queries, out, strict=True):
        table.add_row(str(o["row"]), q.service, q.title[:50], str(o["solution"] or "-"),
                      f"{o['confidence']:.2f}", str(o["decision"]))  # fmt: skip
    console.print(table)


def _backtest_text(report: BacktestReport) -> None:
    """The replay's figures and the reliability table, for a person."""
    from oncall_agent.learning.evaluation import reliability_markdown

    m = report.metrics
    console.print(
        f"learned from {report.train_rows} rows before {report.since:%Y-%m-%d}, replayed "
        f"{report.replayed}: top-1 {m.top1:.3f}, macro-F1 {m.macro_f1:.3f}, ECE {m.ece:.3f}, "
        f"Brier {m.brier:.3f}, coverage {m.coverage:.3f}"
    )
    console.print(
        f"at the policy's thresholds: {report.automation_rate:.1%} would run unattended (if "
        f"their entries were in auto mode), {report.approval_rate:.1%} ask approval, "
        f"{report.escalation_rate:.1%} escalate"
    )
    console.print(reliability_markdown(m.reliability))
    for e in report.escalated[:20]:
        console.print(f"  escalated row {e['row']} {e['timestamp'][:16]} {e['service']}: "
                      f"{e['title'][:60]}")  # fmt: skip
    if len(report.escalated) > 20:
        console.print(f"  ... and {len(report.escalated) - 20} more (see --json)")


@friendly_errors
def backtest_command(
    path: Path = typer.Argument(..., help="A history file (CSV or JSON lines)"),
    since: str = typer.Option(..., "--since", help="Learn before this date, replay from it"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """What the agent would have done since DATE, learning from each outcome as it goes."""
    from oncall_agent.learning.backtest import backtest
    from oncall_agent.learning.records import parse_timestamp, read_history

    try:
        start: datetime = parse_timestamp(since)
    except ValueError:
        raise ConfigError(f"--since {since!r} is not a date; write e.g. 2026-03-01") from None
    report = backtest(read_history(path), start)
    if not as_json:
        _backtest_text(report)
        return
    data = {
        "since": report.since.isoformat(), "train_rows": report.train_rows,
        "replayed": report.replayed, "metrics": report.metrics.as_dict(),
        "automation_rate": report.automation_rate, "approval_rate": report.approval_rate,
        "escalation_rate": report.escalation_rate, "escalated": report.escalated,
    }  # fmt: skip
    print(json.dumps(data))


def register(app: typer.Typer) -> None:
    """Add recommend and backtest to the main app."""
    app.command("recommend")(recommend)
    app.command("backtest")(backtest_command)
