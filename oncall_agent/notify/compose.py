"""Message text for humans: what happened, what the agent concluded and why, and how to act."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from oncall_agent.notify.base import (
    APPROVAL_REQUESTED,
    DIGEST,
    ESCALATION,
    RESOLVED,
    Notification,
)
from oncall_agent.notify.routing import severity_rank
from oncall_agent.store.tables import ActionRun, Incident

SAMPLE_CHARS = 300
SUBJECT_CHARS = 200


def _when(moment: datetime | None) -> str:
    """A time in UTC as people read it."""
    return f"{moment:%Y-%m-%d %H:%M:%S}Z" if moment else "unknown"


def _what_happened(incident: Incident) -> list[str]:
    """The incident, its service and severity, how often and when, and a few samples."""
    return [
        f"Incident #{incident.id}: {incident.title}",
        f"Service {incident.service}, severity {incident.severity}, category {incident.category}",
        f"{incident.occurrences} occurrence(s), first seen {_when(incident.first_seen)}, "
        f"last seen {_when(incident.last_seen)}",
        "",
        "Samples:",
        *[f"  {sample[:SAMPLE_CHARS]}" for sample in (incident.samples or [])[:3]],
    ]


def _conclusion(incident: Incident) -> list[str]:
    """What the agent concluded (knowledge match, confidence, decision) and why."""
    found: dict[str, Any] = incident.analysis or {}
    lines = ["", "What the agent concluded:"]
    if found.get("entry_key"):
        lines.append(
            f"  Best match: knowledge entry {found['entry_key']} ({found.get('entry_title')}), "
            f"match score {float(found.get('match_score') or 0):.2f}"
        )
        lines += [f"    - {reason}" for reason in found.get("match_reasons") or []]
        if found.get("solution"):
            lines.append(f"  Known fix: {found['solution']}")
    else:
        lines.append("  No knowledge entry matches this incident.")
    if incident.confidence is not None:
        explained = found.get("confidence_explanation") or ""
        lines.append(f"  Confidence {incident.confidence:.0%} {explained}".rstrip())
    lines += [f"  Problem: {problem}" for problem in found.get("problems") or []]
    lines += _model_analysis(found.get("llm"))
    if incident.decision:
        lines.append(f"  Decision: {incident.decision}")
    return lines


def _model_analysis(llm: Any) -> list[str]:
    """A model's summary and root cause, marked as such (nothing when it was not used)."""
    if not isinstance(llm, dict) or llm.get("source") != "llm":
        return []
    model = llm.get("model") or "unknown model"
    lines = [
        f"  Summary (written by a model ({model}), not checked by a person): {llm.get('summary')}",
        f"  Likely cause, according to the model: {llm.get('root_cause')}",
    ]
    return lines + [f"  Refused from the model: {why}" for why in llm.get("refused") or []]


def _tried(runs: Sequence[ActionRun]) -> list[str]:
    """Each action the agent ran on this incident and how it ended."""
    if not runs:
        return ["", "What the agent tried: nothing yet."]
    lines = ["", "What the agent tried:"]
    for run in runs:
        dry = " (dry run)" if run.dry_run else ""
        lines.append(f"  - {run.action} on {run.target}{dry}: {run.status}")
        detail = (run.verification or {}).get("detail")
        if detail:
            lines.append(f"    verification: {str(detail)[:SAMPLE_CHARS]}")
        if run.error:
            lines.append(f"    error: {run.error[:SAMPLE_CHARS]}")
    return lines


def _subject(text: str) -> str:
    """A one-line subject of bounded length (a line break would break mail headers)."""
    return " ".join(text.split())[:SUBJECT_CHARS]


def _links(incident_id: int, ui_url: str | None) -> list[str]:
    """Where to look further: the CLI and, when known, the Prefect UI."""
    lines = [f"Details: oncall show {incident_id}"]
    if ui_url:
        lines.append(f"Prefect UI: {ui_url}")
    return lines


def compose_escalation(
    incident: Incident, why: list[str], runs: list[ActionRun], ui_url: str | None = None
) -> Notification:
    """An escalation: the incident, the agent's reasons, what it tried, and what to do next."""
    assert incident.id is not None
    lines = [
        *_what_happened(incident),
        *_conclusion(incident),
        "",
        "Why a human is needed:",
        *[f"  - {reason}" for reason in why],
        *_tried(runs),
        "",
        "How to act:",
        f"Resolve it with: oncall resolve {incident.id} --solution '...' --success",
        *_links(incident.id, ui_url),
    ]
    return Notification(
        incident_id=incident.id,
        kind=ESCALATION,
        severity=incident.severity,
        service=incident.service,
        subject=_subject(f"[oncall] escalated #{incident.id} {incident.service}: {incident.title}"),
        body="\n".join(lines),
    )


def compose_approval_request(
    incident: Incident,
    *,
    approval_id: int | str,
    action: str,
    parameters: dict[str, Any],
    risk: str,
    confidence: float | None,
    why: Sequence[str] = (),
    expires_at: datetime | None = None,
    ui_url: str | None = None,
) -> Notification:
    """A request to approve one action with its exact parameters, and the commands to answer."""
    assert incident.id is not None
    shown = f"{confidence:.0%}" if confidence is not None else "unknown"
    lines = [
        *_what_happened(incident),
        *_conclusion(incident),
        "",
        "Proposed action (nothing runs until someone approves):",
        f"  {action}, risk {risk}, confidence {shown}",
        f"  parameters: {json.dumps(parameters, sort_keys=True, default=str)}",
        *[f"  - {reason}" for reason in why],
        "",
        "How to act:",
        f"Approve: oncall approve {approval_id} --code CODE --comment '...'",
        "  (each approver gets their own one-time code on their own channel)",
        f"Reject:  oncall reject {approval_id} --reason '...'",
        f"The request expires at {_when(expires_at)}; unanswered, the incident escalates."
        if expires_at
        else "Unanswered, the request expires and the incident escalates.",
        *_links(incident.id, ui_url),
    ]
    return Notification(
        incident_id=incident.id,
        kind=APPROVAL_REQUESTED,
        severity=incident.severity,
        service=incident.service,
        subject=_subject(
            f"[oncall] approval needed #{incident.id} {incident.service}: {action} ({risk} risk)"
        ),
        body="\n".join(lines),
    )


def compose_resolved(
    incident: Incident,
    note: str | None = None,
    runs: Sequence[ActionRun] = (),
    ui_url: str | None = None,
) -> Notification:
    """A notice that an incident people were told about is resolved, and how."""
    assert incident.id is not None
    how = note or incident.resolution_note or "no note was recorded"
    lines = [
        f"Incident #{incident.id} is resolved: {incident.title}",
        f"Service {incident.service}, resolved at {_when(incident.resolved_at)}",
        f"How: {how}",
        f"{incident.occurrences} occurrence(s) in all, last seen {_when(incident.last_seen)}",
        *(_tried(runs) if runs else []),
        "",
        "If it comes back within the reopen window, the same incident reopens.",
        *_links(incident.id, ui_url),
    ]
    return Notification(
        incident_id=incident.id,
        kind=RESOLVED,
        severity=incident.severity,
        service=incident.service,
        subject=_subject(f"[oncall] resolved #{incident.id} {incident.service}: {incident.title}"),
        body="\n".join(lines),
    )


def with_repeat_note(notification: Notification, held_back: int) -> Notification:
    """NOTIFICATION with a line saying how many repeats the repeat interval held back."""
    if held_back <= 0:
        return notification
    note = (
        f"\n\n({held_back} more notification(s) of this kind for this incident were held back: "
        "one is sent per repeat interval.)"
    )
    return notification.model_copy(update={"body": notification.body + note})


def compose_digest(notifications: Sequence[Notification]) -> Notification:
    """One message grouping several notifications for the same channel (one if only one)."""
    if len(notifications) == 1:
        return notifications[0]
    ids = [n.incident_id for n in notifications]
    services = {n.service for n in notifications}
    heads = ", ".join(f"#{n.incident_id} {n.kind}" for n in notifications)
    rule = "\n\n" + "-" * 60 + "\n\n"
    summary = [f"{len(notifications)} notifications:"]
    summary += [f"  - {n.subject}" for n in notifications]
    return Notification(
        incident_id=ids[0],
        incident_ids=ids,
        kind=DIGEST,
        severity=max((n.severity for n in notifications), key=severity_rank),
        service=services.pop() if len(services) == 1 else None,
        subject=_subject(f"[oncall] {len(notifications)} notifications: {heads}"),
        body="\n".join(summary) + rule + rule.join(n.body for n in notifications),
    )
