"""The `oncall` entry point: the core commands plus those that run Prefect flows."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from flows import approval_commands, config_commands, learning_commands
from oncall_agent.cli import build_app, run_app
from oncall_agent.cli.common import console

# A summary table is unreadable at 80 columns; pipes and CI logs get a wide one.
console.width = max(console.width, 160)

# Measured here: the ephemeral API's first start (migrations) can take longer than Prefect's 20 s
# default, so a cold `oncall demo` would fail without this.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# The local API's telemetry service writes to its SQLite file while our runs do, and printed
# unrelated "database is locked" tracebacks in the demo: it sends nothing useful here.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = build_app()
approval_commands.register(app)
app.add_typer(config_commands.app, name="config")
learning_commands.register(app)


def _summary_table(summaries: list[dict[str, object]]) -> Table:
    """The table a user reads after a detection run (the reasons follow it)."""
    table = Table(
        "#",
        "incident",
        "service",
        "count",
        "knowledge entry",
        "conf.",
        "decision",
        "action",
        "verified",
        "outcome",
    )
    for s in summaries:
        conf = s.get("confidence")
        verified = s.get("verification")
        table.add_row(
            str(s["id"]),
            str(s["title"])[:48],
            str(s["service"]),
            str(s["occurrences"]),
            str(s.get("entry") or "-"),
            f"{conf:.2f}" if isinstance(conf, float) else "-",
            str(s.get("decision") or "-"),
            str(s.get("action") or "-"),
            "-" if verified is None else "yes" if s["outcome"] == "resolved" else "no",
            str(s["outcome"]),
        )
    return table


def _print_summaries(summaries: list[dict[str, object]]) -> None:
    """The summary table, then for each incident the decisive reasons and the verification."""
    console.print(_summary_table(summaries))
    for s in summaries:
        reasons = [str(r) for r in s.get("reasons") or []]  # type: ignore[attr-defined]
        console.print(
            f"#{s['id']} {s.get('decision')} -> {s['outcome']}: {'; '.join(_decisive(reasons))}"
        )
        if s.get("verification"):
            console.print(f"    verification: {s['verification']}")


def _decisive(reasons: list[str]) -> list[str]:
    """The reasons that decided: the policy's last word and anything added after deciding."""
    policy_markers = ("threshold", "autonomy", "no knowledge entry", "circuit", "freeze")
    last_policy = max(
        (i for i, r in enumerate(reasons) if any(m in r for m in policy_markers)),
        default=len(reasons) - 1,
    )
    return reasons[last_policy:] if reasons else ["-"]


@app.command("demo")
def demo(
    data_dir: Path = typer.Option(Path("data"), help="Where the store and the demo world live"),
    fresh: bool = typer.Option(True, "--fresh/--keep", help="Start the demo world from nothing"),
) -> None:
    """Run the agent end to end against a local service that misbehaves (about a minute)."""
    os.environ["ONCALL_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)  # the demo always uses its own SQLite store
    # The demo's temporary Prefect API is SQLite; concurrent subflows make it log "database is
    # locked" tracebacks for writes its clients then retry. They say nothing about the demo
    # (which checks its own outcomes), so its server logs only critical problems.
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from oncall_agent.settings import get_settings

    get_settings.cache_clear()
    if fresh:
        (data_dir / "oncall.db").unlink(missing_ok=True)
        (data_dir / "outbox.jsonl").unlink(missing_ok=True)
    from flows.demo import run_demo

    console.print("oncall demo: starting the demo service and a local Prefect API", style="bold")
    report = run_demo(data_dir / "demo", fresh=fresh, say=lambda line: console.print(line))
    console.print(
        f"the service logged {report.bursts} error lines; health was "
        f"{report.health_before} before the agent acted"
    )
    _print_summaries(report.summaries)
    console.print(
        f"health now: {report.health_after}; archive {report.archive_before:,} -> "
        f"{report.archive_after:,} bytes; escalations in {data_dir / 'outbox.jsonl'}"
    )
    console.print(
        f"second detection run over the same logs: {len(report.second_run)} new incidents"
    )
    console.print(
        f"wall time {report.timings['total_s']:.1f}s. See the runs: "
        "`prefect server start`, then http://127.0.0.1:4200/runs"
    )


@app.command("detect")
def detect(
    source: list[str] = typer.Option(
        ["default"],
        "--source",
        help="Source blocks: NAME (a LogFileSource) or KIND/NAME, KIND one of file, airflow, "
        "elasticsearch, spark, spark-driver",
    ),
    policy_block: str = typer.Option("default", help="ResolutionPolicy block name"),
    targets_block: str = typer.Option("default", help="ActionTargets block name"),
    notifications_block: str | None = typer.Option(
        None, help="NotificationRouting block name (default: console and ./data/outbox.jsonl)"
    ),
    dry_run: bool = typer.Option(False, help="Plan actions but do not run them"),
) -> None:
    """Run the detection flow once (and a resolution for each new incident)."""
    import asyncio

    from flows.detection import detect_incidents

    summaries = asyncio.run(
        detect_incidents(
            sources=source,
            policy_block=policy_block,
            targets_block=targets_block,
            notifications_block=notifications_block,
            dry_run=dry_run,
        )
    )
    _print_summaries(summaries)


@app.command("register-blocks")
def register_blocks() -> None:
    """Register the agent's block types with the Prefect API (idempotent)."""
    from blocks import ALL_BLOCKS

    for block in ALL_BLOCKS:
        block.register_type_and_schema()
        console.print(f"registered {block.get_block_type_slug()}")


def main() -> None:
    """Console-script entry point: errors are one line, tracebacks only with --debug."""
    run_app(app)


if __name__ == "__main__":
    main()
