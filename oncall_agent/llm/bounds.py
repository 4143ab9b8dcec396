"""What of a model's answer the agent accepts: never more than the knowledge base and allow-lists.

- `entry_key` must be one of the candidates offered; anything else is refused and the agent's
  own choice stands.
- `parameters` may only set parameters the chosen entry's action already has, may never change a
  locked one (the target, or a value filled from the incident), must be plain values, and the
  result must pass the action's own validation (the same `plan()` every action passes).
- An action that differs from the agent's own top choice (another entry, or changed parameters)
  is marked `chosen_by_model`: the decision then asks a person.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from oncall_agent.errors import ActionRejected
from oncall_agent.llm.answer import ModelAnswer
from oncall_agent.llm.prompt import Candidate

# check_plan(action, params) raises ActionRejected when the action's validation refuses PARAMS.
PlanCheck = Callable[[str, dict[str, Any]], None]
_SCALARS = (str, int, float, bool)


class Bounded(BaseModel):
    """The accepted part of an answer: an offered entry, checked parameters, and the refusals."""

    entry_key: str | None = None
    action: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    refused: list[str] = Field(default_factory=list)
    chosen_by_model: bool = False


def _short(value: Any) -> str:
    """VALUE quoted and cut, safe to show in a refusal."""
    return repr(value)[:120]


def _entry(
    answer: ModelAnswer, offered: dict[str, Candidate], top: str | None
) -> tuple[str | None, list[str]]:
    """The entry to use (the model's if offered, else the agent's own) and any refusal."""
    key = answer.entry_key
    if key is None or key in offered:
        return (key if key is not None else top), []
    names = ", ".join(offered) or "none"
    return top, [f"entry_key {_short(key)} is not one of the offered candidates ({names}): refused"]


def _parameter_refusal(name: str, value: Any, cand: Candidate) -> str | None:
    """Why the model may not set parameter NAME to VALUE on CAND's action, or None."""
    if name not in cand.parameters:
        return f"parameter {_short(name)} is not one the action {cand.action} of {cand.key} takes"
    if not isinstance(value, _SCALARS) or value is None:
        return f"parameter {name!r}: only plain values are accepted, not {type(value).__name__}"
    if name in cand.locked and value != cand.parameters[name]:
        return (
            f"parameter {name!r}={_short(value)}: the model may not change the target or a "
            f"value taken from the incident ({_short(cand.parameters[name])})"
        )
    return None


def _parameters(
    answer: ModelAnswer, cand: Candidate, check_plan: PlanCheck | None
) -> tuple[dict[str, Any], list[str]]:
    """CAND's parameters with the model's acceptable changes, and the refusals."""
    if answer.parameters and cand.action is None:
        return {}, [f"entry {cand.key} has no action: the model's parameters are ignored"]
    refused: list[str] = []
    changed: dict[str, Any] = {}
    for name, value in answer.parameters.items():
        why = _parameter_refusal(name, value, cand)
        if why is not None:
            refused.append(f"{why}: refused")
        elif value != cand.parameters[name]:
            changed[name] = value
    if not changed:
        return dict(cand.parameters), refused
    proposed = cand.parameters | changed
    if check_plan is None:
        refused.append(
            f"parameters {_short(changed)} cannot be checked against the allow-lists here "
            "(no action targets configured): refused, the entry's own parameters stand"
        )
        return dict(cand.parameters), refused
    try:
        assert cand.action is not None
        check_plan(cand.action, proposed)
    except ActionRejected as exc:
        refused.append(f"parameters {_short(changed)} fail the action's validation: {exc}: refused")
        return dict(cand.parameters), refused
    return proposed, refused


def bound_answer(
    answer: ModelAnswer,
    candidates: list[Candidate],
    top_key: str | None,
    check_plan: PlanCheck | None = None,
) -> Bounded:
    """The part of ANSWER the agent accepts, given the CANDIDATES it offered (TOP_KEY first)."""
    offered = {c.key: c for c in candidates}
    key, refused = _entry(answer, offered, top_key)
    cand = offered.get(key) if key is not None else None
    if cand is None:
        if answer.parameters:
            refused.append("there is no entry to apply the model's parameters to: refused")
        return Bounded(entry_key=None, refused=refused)
    params, more = _parameters(answer, cand, check_plan)
    chosen_by_model = key != top_key or params != cand.parameters
    return Bounded(
        entry_key=key,
        action=cand.action,
        parameters=params,
        refused=refused + more,
        chosen_by_model=chosen_by_model,
    )
