"""Incident commands: status, incidents, show, resolve, simulate-incident."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from oncall_agent.cli.common import console, friendly_errors, print_json, say_empty, store_session
from oncall_agent.errors import ConfigError
from oncall_agent.models import IncidentStatus, Severity

if TYPE_CHECKING:
    from oncall_agent.store.tables import ActionRun, AuditEvent, Incident

AS_JSON = typer.Option(False, "--json", help="Print JSON instead of text")
OUTPUT_SHOWN = 40  # lines of an action's output `show` prints (the store keeps them all)


@friendly_errors
def status(as_json: bool = AS_JSON) -> None:
    """Incidents per status, resolutions in flight, configuration problems, and the store."""
    from oncall_agent.detection.engine import active_engine_name
    from oncall_agent.learning.status import confidence_source
    from oncall_agent.settings import get_settings
    from oncall_agent.store.incidents import count_by_status
    from oncall_agent.store.leases import count_by_phase
    from oncall_agent.store.problems import recent_problems

    with store_session() as session:
        counts = count_by_status(session)
        leases = count_by_phase(session)
        problems = [
            {"key": p.key, "problem": p.problem, "count": p.count, "last_seen": p.last_seen}
            for p in recent_problems(session)
        ]
    report: dict[str, Any] = {
        "store": get_settings().resolved_database_url().split("@")[-1],
        "detection_engine": active_engine_name(),
        "confidence": confidence_source(),
        "incidents": {name.value: counts.get(name.value, 0) for name in IncidentStatus},
        "resolutions": dict(sorted(leases.items())),
        "problems": problems,
    }
    if as_json:
        print_json(report)
        return
    console.print(f"store: {report['store']}")
    console.print(f"detection engine: {report['detection_engine']}")
    console.print(f"confidence: {report['confidence']}")
    for name, count in report["incidents"].items():
        console.print(f"  {name:<18} {count}")
    if leases:  # 'expired' and 'failed' are taken over by the next detection run's sweep
        console.print("resolutions: " + ", ".join(f"{k} {v}" for k, v in sorted(leases.items())))
    for row in problems:
        console.print(
            f"problem {row['key']} (seen {row['count']}x, last "
            f"{row['last_seen']:%Y-%m-%d %H:%M:%S}Z): {row['problem']}",
            style="red",
            soft_wrap=True,
        )


def _incident_row(inc: Incident) -> dict[str, Any]:
    """The fields `oncall incidents` shows, as JSON-ready values."""
    return {
        "id": inc.id,
        "status": inc.status,
        "service": inc.service,
        "severity": inc.severity,
        "occurrences": inc.occurrences,
        "first_seen": inc.first_seen.isoformat(),
        "last_seen": inc.last_seen.isoformat(),
        "decision": inc.decision,
        "confidence": inc.confidence,
        "title": inc.title,
    }


@friendly_errors
def incidents(
    status: IncidentStatus | None = typer.Option(None, "--status", help="Only this status"),
    limit: int = typer.Option(50, help="At most this many rows"),
    as_json: bool = AS_JSON,
) -> None:
    """List incidents, most recently seen first."""
    from oncall_agent.store.incidents import list_incidents

    with store_session() as session:
        rows = [
            _incident_row(inc)
            for inc in list_incidents(session, status.value if status else None, limit)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        say_empty(f"no incidents{f' with status {status.value}' if status else ''}")
        return
    table = Table("id", "status", "service", "severity", "count", "last seen", "title")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["status"],
            row["service"],
            row["severity"],
            str(row["occurrences"]),
            row["last_seen"][:19].replace("T", " "),
            row["title"],
        )
    console.print(table)


def _value(value: Any) -> str:
    """An audit detail as a person reads it: lists joined, nested dicts flattened, long cut."""
    if isinstance(value, list):
        text = "; ".join(_value(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_value(v)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= 300 else text[:297] + "..."


def _audit_line(event: AuditEvent, decision_reasons: list[str]) -> str:
    """One line of the audit timeline (reasons already printed under the decision are not
    repeated)."""
    details = dict(event.details or {})
    if details.get("reasons") == decision_reasons and decision_reasons:
        details["reasons"] = "(as above)"
    parts = [f"{k}={_value(v)}" for k, v in details.items() if v not in (None, "", [], {})]
    return f"  {event.at:%Y-%m-%d %H:%M:%S}  {event.kind:<20} by {event.actor}" + (
        f"  {', '.join(parts)}" if parts else ""
    )


def _run_lines(run: ActionRun) -> list[str]:
    """An action run: what ran, how it ended, its verification and its output."""
    lines = [
        f"  #{run.id} {run.action} on {run.target or '-'}: {run.status}"
        f"{' (dry run)' if run.dry_run else ''}, verified={run.verified}, "
        f"credit={run.credit or '-'}, by {run.triggered_by}",
        f"    started {run.started_at:%Y-%m-%d %H:%M:%S}"
        + (f", finished {run.finished_at:%H:%M:%S}" if run.finished_at else ""),
    ]
    if run.parameters:
        lines.append(f"    parameters: {_value(run.parameters)}")
    if run.verification:
        lines.append(f"    verification: {_value(run.verification)}")
    if run.error:
        lines.append(f"    error: {run.error}")
    output = (run.output or "").splitlines()
    if output:
        lines.append("    output:")
        lines += [f"      | {line}" for line in output[:OUTPUT_SHOWN]]
        if len(output) > OUTPUT_SHOWN:
            lines.append(f"      | ... {len(output) - OUTPUT_SHOWN} more lines")
    return lines


def _show_json(inc: Incident, runs: list[ActionRun], events: list[AuditEvent]) -> dict[str, Any]:
    """Everything `show` prints, as one JSON object."""
    return {
        **inc.model_dump(mode="json", exclude={"active_fingerprint"}),
        "actions": [run.model_dump(mode="json") for run in runs],
        "audit": [event.model_dump(mode="json") for event in events],
    }


@friendly_errors
def show(
    incident_id: int = typer.Argument(..., help="Incident id"), as_json: bool = AS_JSON
) -> None:
    """Everything about one incident: samples, analysis, decision, actions, audit trail."""
    from oncall_agent.store.actions import runs_for_incident
    from oncall_agent.store.audit import audit_trail
    from oncall_agent.store.incidents import get_incident

    with store_session() as session:
        inc = get_incident(session, incident_id)
        runs = list(runs_for_incident(session, incident_id))
        events = audit_trail(session, incident_id)
    if as_json:
        print_json(_show_json(inc, runs, events))
        return
    console.print(f"#{inc.id} {inc.title}  ({inc.status})", style="bold")
    console.print(f"service {inc.service}  severity {inc.severity}  category {inc.category}")
    console.print(
        f"{inc.occurrences} occurrences, {inc.recurrences} recurrences, "
        f"first {inc.first_seen:%Y-%m-%d %H:%M:%S}, last {inc.last_seen:%Y-%m-%d %H:%M:%S}"
    )
    console.print(f"fingerprint {inc.fingerprint}\ntemplate {inc.template}")
    console.print("samples:")
    for sample in inc.samples or []:
        console.print(f"  > {sample[:300]}")
    confidence = "-" if inc.confidence is None else f"{inc.confidence:.2f}"
    console.print(f"decision: {inc.decision or 'none yet'} (confidence {confidence})")
    for reason in inc.decision_reasons or []:
        console.print(f"  - {reason}")
    console.print("actions:" if runs else "actions: none")
    for run in runs:
        for line in _run_lines(run):
            console.print(line)
    console.print("timeline:" if events else "timeline: no audit events")
    for event in events:
        console.print(_audit_line(event, list(inc.decision_reasons or [])), soft_wrap=True)


@friendly_errors
def resolve(
    incident_id: int = typer.Argument(..., help="Incident id"),
    solution: str = typer.Option(..., "--solution", help="What you did, in words"),
    success: bool = typer.Option(True, "--success/--failure", help="Did it fix the problem?"),
    note: str = typer.Option("", "--note", help="Anything else worth keeping"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who resolved it"),
) -> None:
    """Record a human resolution; an unmatched incident's solution becomes a knowledge entry."""
    from oncall_agent.human import record_human_resolution

    with store_session() as session:
        result = record_human_resolution(
            session, incident_id, solution=solution, success=success, note=note, actor=by or "human"
        )
    console.print(result, markup=False, soft_wrap=True)


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
    from oncall_agent.models import LogEvent
    from oncall_agent.pipeline import load_detector
    from oncall_agent.simulate import simulate_incident

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
