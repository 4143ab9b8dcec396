"""What the model is shown: the incident's facts and the knowledge entries the agent ranked."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlmodel import Session

from oncall_agent.errors import ConfigError
from oncall_agent.knowledge.render import PLACEHOLDER, render_action
from oncall_agent.llm.prompt import Candidate, IncidentFacts
from oncall_agent.resolution.analysis import Analysis, incident_fields
from oncall_agent.resolution.decision import TARGET_KEYS
from oncall_agent.store.knowledge import get_entry, to_spec
from oncall_agent.store.tables import Incident

MAX_CANDIDATES = 5


def incident_facts(incident: Incident) -> IncidentFacts:
    """The incident as the prompt describes it (masking happens when the prompt is built)."""
    assert incident.id is not None
    return IncidentFacts(
        id=incident.id,
        title=incident.title,
        template=incident.template,
        service=incident.service,
        category=incident.category,
        severity=incident.severity,
        occurrences=incident.occurrences,
        recurrences=incident.recurrences,
        samples=list(incident.samples or []),
    )


def _has_placeholder(value: Any) -> bool:
    """Whether VALUE (or a string inside it) is filled in from the incident."""
    if isinstance(value, str):
        return PLACEHOLDER.search(value) is not None
    if isinstance(value, dict):
        return any(_has_placeholder(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_placeholder(v) for v in value)
    return False


def _candidate(session: Session, key: str, fields: dict[str, str]) -> Candidate | None:
    """Entry KEY as a candidate, its action filled in as the agent would run it."""
    row = get_entry(session, key)
    if row is None:
        return None
    spec = to_spec(row)
    cand = Candidate(key=spec.key, title=spec.title, solution=spec.solution)
    if spec.action is None:
        return cand
    try:
        params = render_action(spec.action, fields).params
    except ConfigError:  # shown unfilled; the action cannot run without the missing field
        params = dict(spec.action.params)
    locked = [k for k, v in spec.action.params.items() if k in TARGET_KEYS or _has_placeholder(v)]
    return cand.model_copy(
        update={"action": spec.action.name, "parameters": params, "locked": locked}
    )


def candidates_for(
    session: Session,
    incident: Incident,
    analysis: Analysis,
    service_vars: dict[str, dict[str, str]],
) -> list[Candidate]:
    """The agent's top entry, then its alternatives: the only entries the model may choose."""
    keys = [analysis.entry_key] if analysis.entry_key else []
    keys += [str(alt["entry"]) for alt in analysis.alternatives if alt.get("entry")]
    fields = incident_fields(incident, service_vars)
    found = (_candidate(session, key, fields) for key in dict.fromkeys(keys))
    return [c for c in found if c is not None][:MAX_CANDIDATES]


def candidates_hash(candidates: list[Candidate]) -> str:
    """A digest of what was offered, so a cached answer is reused only for the same offer."""
    offered = [[c.key, c.action, c.parameters] for c in candidates]
    text = json.dumps(offered, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
