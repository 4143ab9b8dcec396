"""Feedback: a person says whether what was done for an incident was right, and what fixes it.

Each verdict is one row of the `feedback` table (the latest per incident wins) and one audit
event. `human_corrections` turns them into labels for the retraining dataset.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, col, select

from oncall_agent.errors import ConfigError
from oncall_agent.store.audit import audit
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.tables import FeedbackRow


class Verdict(StrEnum):
    """A person's judgement of the solution recorded for an incident."""

    CORRECT = "correct"
    WRONG = "wrong"


def record_feedback(
    session: Session,
    incident_id: int,
    verdict: Verdict,
    *,
    actor: str,
    solution: str | None = None,
    comment: str | None = None,
) -> FeedbackRow:
    """Store one verdict on an incident (StoreError for an unknown id); audited."""
    get_incident(session, incident_id)  # an unknown id is refused before anything is written
    if not actor.strip():
        raise ConfigError("say who gives the feedback (--by NAME): it goes to the audit trail")
    if solution is not None and not solution.strip():
        raise ConfigError("--solution must not be empty; leave it out to keep the recorded one")
    row = FeedbackRow(
        incident_id=incident_id,
        verdict=verdict.value,
        solution=solution.strip() if solution else None,
        comment=comment or None,
        actor=actor,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        "feedback",
        actor=actor,
        incident_id=incident_id,
        verdict=verdict.value,
        solution=row.solution,
        comment=row.comment,
    )
    return row


def correction_of(verdict: str, solution: str | None) -> tuple[str | None, bool]:
    """The (solution, success) label one verdict stands for.

    - correct, no solution: the recorded solution worked        -> (None, True)
    - correct with S:       S is what fixed it, and it worked    -> (S, True)
    - wrong, no solution:   the recorded solution did not work   -> (None, False)
    - wrong with S:         the recorded one was wrong; S fixes it -> (S, True)
    A None solution means "the incident's own recorded solution".
    """
    if solution:
        return solution, True
    return None, verdict == Verdict.CORRECT.value


def human_corrections(session: Session) -> dict[int, tuple[str | None, bool]]:
    """Per incident id, the latest person's correction as (solution or None, success)."""
    rows = session.exec(select(FeedbackRow).order_by(col(FeedbackRow.at), col(FeedbackRow.id)))
    corrections: dict[int, tuple[str | None, bool]] = {}
    for row in rows:  # oldest first: a later verdict overwrites an earlier one
        corrections[row.incident_id] = correction_of(row.verdict, row.solution)
    return corrections


def feedback_for(session: Session, incident_id: int) -> list[FeedbackRow]:
    """Every verdict on one incident, oldest first."""
    query = (
        select(FeedbackRow)
        .where(FeedbackRow.incident_id == incident_id)
        .order_by(col(FeedbackRow.at), col(FeedbackRow.id))
    )
    return list(session.exec(query).all())
