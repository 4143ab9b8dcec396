"""Message text for humans: what happened, what the agent concluded and why, and how to act."""

from __future__ import annotations

from oncall_agent.notify.base import Notification
from oncall_agent.store.tables import ActionRun, Incident


def _fmt_time(incident: Incident) -> str:
    """First and last seen, in UTC."""
    return (
        f"first seen {incident.first_seen:%Y-%m-%d %H:%M:%S}Z, "
        f"last seen {incident.last_seen:%Y-%m-%d %H:%M:%S}Z"
    )


def compose_escalation(
    incident: Incident, why: list[str], runs: list[ActionRun], ui_url: str | None = None
) -> Notification:
    """An escalation: the incident, the agent's reasons, what it tried, and what to do next."""
    assert incident.id is not None
    lines = [
        f"Incident #{incident.id}: {incident.title}",
        f"Service {incident.service}, severity {incident.severity}, category {incident.category}",
        f"{incident.occurrences} occurrence(s), {_fmt_time(incident)}",
        "",
        "Samples:",
        *[f"  {sample[:300]}" for sample in (incident.samples or [])[:3]],
        "",
        "Why a human is needed:",
        *[f"  - {reason}" for reason in why],
    ]
    if runs:
        lines += ["", "What the agent tried:"]
        lines += [f"  - {run.action} on {run.target}: {run.status}" for run in runs]
    lines += [
        "",
        f"Resolve it with: oncall resolve {incident.id} --solution '...' --success",
        f"Details: oncall show {incident.id}",
    ]
    if ui_url:
        lines.append(f"Prefect UI: {ui_url}")
    return Notification(
        incident_id=incident.id,
        kind="escalation",
        severity=incident.severity,
        subject=f"[oncall] escalated #{incident.id} {incident.service}: {incident.title}"[:200],
        body="\n".join(lines),
    )
