"""`oncall feedback` and `oncall false-positive`: people correct the agent; both are audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from oncall_agent.cli.common import console, friendly_errors, store_session
from oncall_agent.errors import ConfigError

if TYPE_CHECKING:
    from oncall_agent.learning.feedback import Verdict


def _verdict(correct: bool, wrong: bool) -> Verdict:
    """The one verdict the flags give; both or neither is a usage error."""
    from oncall_agent.learning.feedback import Verdict

    if correct == wrong:
        raise ConfigError("give exactly one of --correct or --wrong")
    return Verdict.CORRECT if correct else Verdict.WRONG


@friendly_errors
def feedback(
    incident_id: int = typer.Argument(..., help="Incident id"),
    correct: bool = typer.Option(False, "--correct", help="What was done was right"),
    wrong: bool = typer.Option(False, "--wrong", help="What was done was wrong"),
    solution: str | None = typer.Option(None, "--solution", help="What actually fixes it"),
    comment: str | None = typer.Option(None, "--comment", help="Anything else worth keeping"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who gives the feedback"),
) -> None:
    """Say whether the incident's recorded solution was right; retraining uses the latest word."""
    from oncall_agent.learning.feedback import correction_of, record_feedback

    verdict = _verdict(correct, wrong)
    with store_session() as session:
        record_feedback(
            session, incident_id, verdict, actor=by or "human", solution=solution, comment=comment
        )
    label, success = correction_of(verdict.value, solution)
    fix = f"solution {label!r}" if label else "its recorded solution"
    console.print(
        f"incident #{incident_id}: feedback '{verdict.value}' stored; retraining will learn "
        f"that {fix} {'works' if success else 'does not work'}",
        soft_wrap=True,
    )


@friendly_errors
def false_positive(
    incident_id: int = typer.Argument(..., help="Incident id"),
    reason: str = typer.Option("", "--reason", help="Why this is not a problem"),
    undo: bool = typer.Option(False, "--undo", help="Lift the mark: it opens incidents again"),
    by: str = typer.Option("", "--by", envvar="USER", help="Who decides"),
) -> None:
    """Mark an incident a false positive: its kind stops opening incidents for its source."""
    from oncall_agent.learning.false_positives import mark_false_positive, undo_false_positive

    actor = by or "human"
    with store_session() as session:
        if undo:
            undo_false_positive(session, incident_id, actor=actor, reason=reason)
            console.print(
                f"incident #{incident_id}: false-positive mark lifted; its fingerprint opens "
                "incidents again",
                soft_wrap=True,
            )
            return
        mark = mark_false_positive(session, incident_id, reason=reason, actor=actor)
        console.print(
            f"incident #{incident_id} closed as a false positive; fingerprint {mark.fingerprint} "
            f"no longer opens incidents for {mark.source or 'its source'} "
            f"(undo: oncall false-positive {incident_id} --undo)",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add the feedback commands to the main app."""
    app.command("feedback")(feedback)
    app.command("false-positive")(false_positive)
