"""Incident commands: status, incidents, show, resolve, simulate-incident."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from oncall_agent.cli.common import console, friendly_errors, store_session
from oncall_agent.detection.engine import active_engine_name
from oncall_agent.errors import ConfigError
from oncall_agent.human import record_human_resolution
from oncall_agent.models import IncidentStatus, LogEvent, Severity
from oncall_agent.pipeline import load_detector
from oncall_agent.settings import get_settings
from oncall_agent.simulate import simulate_incident
from oncall_agent.store.actions import runs_for_incident
from oncall_agent.store.audit import audit_trail
from oncall_agent.store.incidents import count_by_status, get_incident, list_incidents
from oncall_agent.store.leases import count_by_phase
from oncall_agent.store.problems import recent_problems


def status() -> None:
    """How many incidents are in each status, and where the store is."""
    with store_session() as session:
        counts = count_by_status(session)
        leases = count_by_phase(session)
        problems = recent_problems(session)
    console.print(f"store: {get_settings().resolved_database_url().split('@')[-1]}")
    console.print(f"detection engine: {active_engine_name()}")
    for name in IncidentStatus:
        console.print(f"  {name.value:<18} {counts.get(name.value, 0)}")
    if leases:  # 'expired' and 'failed' are taken over by the next detection run's sweep
        console.print("resolutions: " + ", ".join(f"{k} {v}" for k, v in sorted(leases.items())))
    for row in problems:
        console.print(
            f"[bold red]problem[/bold red] {row.key} (seen {row.count}x, last "
            f"{row.last_seen:%Y-%m-%d %H:%M:%S}Z): {row.problem}"
        )


@friendly_errors
def incidents(
    status: IncidentStatus | None = typer.Option(None, "--status", help="Only this status"),
    limit: int = typer.Option(50, help="At most this many rows"),
) -> None:
    """List incidents, most recently seen first."""
    table = Table("id", "status", "service", "severity", "count", "last seen", "title")
    with store_session() as session:
        for inc in list_incidents(session, status.value if status else None, limit):
            table.add_row(
                str(inc.id),
                inc.status,
                inc.service,
                inc.severity,
                str(inc.occurrences),
                f"{inc.last_seen:%Y-%m-%d %H:%M:%S}",
                inc.title,
            )
    console.print(table)


@friendly_errors
def show(incident_id: int = typer.Argument(..., help="Incident id")) -> None:
    """Everything about one incident: samples, analysis, decision, actions, audit trail."""
    with store_session() as session:
        inc = get_incident(session, incident_id)
        console.print(f"[bold]#{inc.id} {inc.title}[/bold]  ({inc.status})")
        console.print(f"service {inc.service}  severity {inc.severity}  category {inc.category}")
        console.print(
            f"{inc.occurrences} occurrences, {inc.recurrences} recurrences, "
            f"first {inc.first_seen:%Y-%m-%d %H:%M:%S}, last {inc.last_seen:%Y-%m-%d %H:%M:%S}"
        )
        console.print(f"fingerprint {inc.fingerprint}\ntemplate {inc.template}")
        for sample in inc.samples or []:
            console.print(f"  > {sample[:300]}", markup=False)
        console.print(f"decision: {inc.decision} (confidence {inc.confidence})")
        for reason in inc.decision_reasons or []:
            console.print(f"  - {reason}", markup=False)
        for run in runs_for_incident(session, incident_id):
            console.print(
                f"action #{run.id} {run.action} {run.target}: {run.status} "
                f"verified={run.verified} by {run.triggered_by}",
                markup=False,
            )
        for event in audit_trail(session, incident_id):
            console.print(
                f"  {event.at:%H:%M:%S} {event.actor} {event.kind} {event.details}", markup=False
            )


@friendly_errors
def resolve(
    incident_id: int = typer.Argument(..., help="Incident id"),
    solution: str = typer.Option(..., "--solution", help="What you did, in words"),
    success: bool = typer.Option(True, "--success/--failure", help="Did it fix the problem?"),
    note: str = typer.Option("", "--note", help="Anything else worth keeping"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who resolved it"),
) -> None:
    """Record a human resolution; an unmatched incident's solution becomes a knowledge entry."""
    with store_session() as session:
        result = record_human_resolution(
            session, incident_id, solution=solution, success=success, note=note, actor=by or "human"
        )
    console.print(result)


@friendly_errors
def simulate(
    title: str = typer.Option(..., "--title"),
    service: str = typer.Option(..., "--service"),
    severity: Severity = typer.Option(Severity.ERROR, "--severity"),
    message: str = typer.Option(..., "--message", help="The log line the incident is about"),
) -> None:
    """Store an incident as if detection had seen MESSAGE; the next detection run resolves it."""
    if not message.strip():
        raise ConfigError("--message must not be empty")
    with store_session() as session:
        detector = load_detector(session.get_bind())  # type: ignore[arg-type]
        event = LogEvent(
            source="cli", message=message, service=service, timestamp=datetime.now(UTC)
        )
        change = simulate_incident(session, detector, event, title=title, severity=severity)
    console.print(
        f"incident #{change.incident_id} {change.kind} (fingerprint {change.fingerprint})"
    )


def register(app: typer.Typer) -> None:
    """Add the incident commands to the main app."""
    app.command("status")(status)
    app.command("incidents")(incidents)
    app.command("show")(show)
    app.command("resolve")(resolve)
    app.command("simulate-incident")(simulate)
