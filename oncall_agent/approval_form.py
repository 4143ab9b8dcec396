"""The markdown above the approval form: everything a person needs to decide, nothing to look up.

It shows the incident (title, service, severity, counts, first and last seen, a few samples), the
analysis and the policy's reasons, a model's summary when there is one (marked as such), and the
exact action, target and parameters. Every value from logs or the store is escaped so that
placeholders like `<NUM>` display literally.
"""

from __future__ import annotations

from typing import Any

from oncall_agent.markdown import escape_markdown as md
from oncall_agent.store.tables import Approval, Incident

SAMPLES_SHOWN = 3
SAMPLE_CHARS = 300


def _when(value: Any) -> str:
    """A stored time as people read it."""
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else "unknown"


def _incident(incident: Incident) -> list[str]:
    """The incident: what, where, how bad, how often, since when, and a few sample lines."""
    samples = [f"> {md(s[:SAMPLE_CHARS])}  " for s in (incident.samples or [])[:SAMPLES_SHOWN]]
    return [
        f"### Incident #{incident.id}: {md(incident.title)}",
        "",
        f"**Service:** {md(incident.service)}  **Severity:** {md(incident.severity)}  "
        f"**Category:** {md(incident.category)}  ",
        f"**Occurrences:** {incident.occurrences} (recurrences: {incident.recurrences})  "
        f"**First seen:** {_when(incident.first_seen)}  **Last seen:** {_when(incident.last_seen)}",
        "",
        "**Sample lines:**",
        "",
        *(samples or ["> (none stored)"]),
    ]


def _analysis(incident: Incident) -> list[str]:
    """The agent's analysis, a model's summary if any, and the policy's reasons."""
    found: dict[str, Any] = incident.analysis or {}
    lines = ["", "### Analysis", ""]
    if found.get("entry_key"):
        lines.append(
            f"- Knowledge entry **{md(found.get('entry_title') or '')}** "
            f"({md(found['entry_key'])}), match score {float(found.get('match_score') or 0):.2f}"
        )
        lines += [f"  - {md(reason)}" for reason in found.get("match_reasons") or []]
    if found.get("solution"):
        lines.append(f"- Known fix: {md(found['solution'])}")
    if incident.confidence is not None:
        why = md(found.get("confidence_explanation") or "")
        lines.append(f"- Confidence {incident.confidence:.2f} {why}".rstrip())
    lines += [f"- Problem: {md(problem)}" for problem in found.get("problems") or []]
    llm = found.get("llm") or {}
    if isinstance(llm, dict) and llm.get("summary"):
        model = md(str(llm.get("model") or "unknown model"))
        lines += ["", f"*Written by a model ({model}), not checked by a person:*", ""]
        lines.append(f"> {md(str(llm['summary']))}")
    lines += ["", "**Why the policy asks a person:**", ""]
    lines += [f"- {md(reason)}" for reason in incident.decision_reasons or []] or ["- (none)"]
    return lines


def _action(approval: Approval, target: str) -> list[str]:
    """The exact action, its target and parameters, risk, confidence and expiry."""
    rows = [f"| {md(k)} | {md(repr(v))} |" for k, v in (approval.parameters or {}).items()]
    confidence = f"{approval.confidence:.2f}" if approval.confidence is not None else "unknown"
    return [
        "",
        f"### Action: {md(approval.action)} on {md(target)}",
        "",
        f"**Risk:** {md(approval.risk)}  **Confidence:** {confidence}  "
        f"**Expires:** {_when(approval.expires_at)}",
        "",
        "| parameter | value |",
        "|---|---|",
        *(rows or ["| (none) | |"]),
    ]


def form_description(approval: Approval, incident: Incident, target: str) -> str:
    """Markdown for the form of APPROVAL: the incident, analysis, reasons and exact action."""
    how = [
        "",
        "### How to answer",
        "",
        "Choose *decision* (approve or reject; there is no default). To approve, type the "
        "one-time code sent to your own channel into *code* (your name is then optional). "
        "*parameters* may only narrow the proposal (e.g. a later cut-off, a narrower pattern).",
        "",
        f"From a shell: `oncall approve {approval.id} --code CODE` or "
        f"`oncall reject {approval.id} --reason ...`",
    ]
    head = [f"## Approve {md(approval.action)} for incident #{approval.incident_id}?", ""]
    body = head + _incident(incident) + _analysis(incident) + _action(approval, target) + how
    return "\n".join(body)
