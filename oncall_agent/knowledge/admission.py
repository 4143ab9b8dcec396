"""What a person may bring into the knowledge base by `kb add` and `kb import`.

An entry may name only an action the agent knows (an unknown name would sit in the store until
the day it matched, then fail, or worse). An import or add never raises autonomy to `auto`: that
is `kb set-autonomy`, which records who and why. An entry already stored as `auto` may be
re-imported as `auto` (an export/import round trip changes nothing).
"""

from __future__ import annotations

from sqlmodel import Session

from oncall_agent.errors import KnowledgeImportError
from oncall_agent.executors.registry import ACTION_NAMES
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import AutonomyMode
from oncall_agent.store.knowledge import get_entry


def admission_problems(session: Session, specs: list[KnowledgeEntrySpec], where: str) -> list[str]:
    """One line per entry of SPECS (read from WHERE) that may not be added or imported."""
    problems = []
    for index, spec in enumerate(specs):
        entry = f"{where}: entry #{index + 1} (key {spec.key!r})"
        if spec.action is not None and spec.action.name not in ACTION_NAMES:
            problems.append(
                f"{entry}, field 'action.name': unknown action {spec.action.name!r}; "
                f"use one of {list(ACTION_NAMES)}"
            )
        if spec.autonomy is AutonomyMode.AUTO and not _already_auto(session, spec.key):
            problems.append(
                f"{entry}, field 'autonomy': 'auto' cannot be added or imported; add it as "
                f"'approve' and raise it with `oncall kb set-autonomy {spec.key} auto --by NAME "
                "--reason WHY` (recorded in the audit trail)"
            )
    return problems


def check_admissible(session: Session, specs: list[KnowledgeEntrySpec], where: str) -> None:
    """Raise KnowledgeImportError listing every entry of SPECS that may not come in."""
    problems = admission_problems(session, specs, where)
    if problems:
        raise KnowledgeImportError("\n".join(problems))


def _already_auto(session: Session, key: str) -> bool:
    """Whether the stored entry KEY is already in auto mode (re-importing it raises nothing)."""
    row = get_entry(session, key)
    return row is not None and row.autonomy == AutonomyMode.AUTO.value
