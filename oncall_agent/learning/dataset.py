"""The training set from the store: imported history, the agent's verified outcomes, people's
resolutions, and human corrections (which override all of these)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from oncall_agent.learning.examples import Example
from oncall_agent.store.tables import ActionRun, AuditEvent, Incident, KnowledgeEntry

# incident id -> (solution, success): a person's correction of what fixed it.
# incident id -> (the solution that fixes it, or None for the recorded one; whether it worked)
Corrections = Mapping[int, tuple[str | None, bool]]


def _human_resolutions(session: Session) -> dict[int, tuple[str, bool]]:
    """The latest `oncall resolve` per incident: (solution in words, success)."""
    events = session.exec(
        select(AuditEvent).where(AuditEvent.kind == "human_resolution").order_by(col(AuditEvent.id))
    )
    out: dict[int, tuple[str, bool]] = {}
    for event in events:
        details = event.details or {}
        if event.incident_id is not None and details.get("solution"):
            out[event.incident_id] = (str(details["solution"]), bool(details.get("success")))
    return out


def _agent_outcomes(session: Session) -> dict[int, tuple[int, bool]]:
    """The latest real (not dry-run) verified action per incident: (entry id, it held)."""
    runs = session.exec(
        select(ActionRun)
        .where(ActionRun.dry_run == False)  # noqa: E712  (SQL comparison)
        .where(col(ActionRun.verified).is_not(None))
        .order_by(col(ActionRun.id))
    )
    out: dict[int, tuple[int, bool]] = {}
    for run in runs:
        if run.incident_id is not None and run.knowledge_entry_id is not None:
            out[run.incident_id] = (
                run.knowledge_entry_id,
                bool(run.verified) and run.held is not False,
            )
    return out


def _label(
    inc: Any,
    keys: dict[int, str],
    people: dict[int, tuple[str, bool]],
    agent: dict[int, tuple[int, bool]],
) -> tuple[str | None, bool | None, str | None]:
    """(solution, success, entry key) of one incident from what is stored about it."""
    entry = keys.get(inc.knowledge_entry_id) if inc.knowledge_entry_id else None
    assert inc.id is not None
    if inc.solution:
        return inc.solution, inc.solution_success, entry
    if inc.id in people:
        words, ok = people[inc.id]
        return (entry or words), ok, entry
    if inc.id in agent:
        entry_id, ok = agent[inc.id]
        key = keys.get(entry_id)
        return key, ok, key
    return None, None, entry


def build_examples(session: Session, corrections: Corrections | None = None) -> list[Example]:
    """Every incident with a known fix as a training example; CORRECTIONS override labels.

    Without CORRECTIONS, people's feedback (`oncall feedback`) is the correction; incidents
    marked false positives are left out either way.
    """
    from oncall_agent.learning.false_positives import false_positive_incidents
    from oncall_agent.learning.feedback import human_corrections

    fixes: Corrections = human_corrections(session) if corrections is None else corrections
    false_positives = false_positive_incidents(session)
    keys = {e.id: e.key for e in session.exec(select(KnowledgeEntry)) if e.id is not None}
    people, agent = _human_resolutions(session), _agent_outcomes(session)
    examples: list[Example] = []
    columns: tuple[Any, ...] = (
        Incident.id, Incident.first_seen, Incident.title, Incident.description, Incident.service,
        Incident.template, Incident.solution, Incident.solution_success,
        Incident.knowledge_entry_id, Incident.origin,
    )  # fmt: skip
    # Columns, not ORM objects: a 100k-row history loads in a second.
    for inc in session.execute(sa_select(*columns).order_by(col(Incident.first_seen))):
        assert inc.id is not None
        if inc.id in false_positives:
            continue
        solution, success, entry = _label(inc, keys, people, agent)
        if inc.id in fixes:
            fixed, success = fixes[inc.id]  # fixed None: the recorded solution stands
            if fixed is not None and fixed != solution:
                solution, entry = fixed, (fixed if fixed in keys.values() else None)
        if solution is None:
            continue
        examples.append(Example(
            timestamp=inc.first_seen, title=inc.title, description=inc.description,
            service=inc.service, solution=solution, success=success, entry_key=entry,
            incident_id=inc.id, template=inc.template if inc.origin != "imported" else "",
        ))  # fmt: skip
    return examples
