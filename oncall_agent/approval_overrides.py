"""Parameter overrides at approval: typed like the proposal, and only ever narrower than it.

An approver may tighten what runs (a later cut-off, fewer files, a smaller batch), never widen it:
wider inputs than intended are how automated cleanups go wrong. Each action lists the parameters
an approver may change and the direction that narrows; anything else is refused (deny by default).
The executor's own validation (its allow-lists) runs on the result as well, in the caller.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Callable
from typing import Any

# A rule gets (proposed, override) and returns None when the override narrows, else why not.
Rule = Callable[[Any, Any], str | None]


def _at_least(proposed: Any, given: Any) -> str | None:
    """Narrower means larger (an age cut-off, a minimum size)."""
    return None if given >= proposed else f"{given!r} is below the proposed {proposed!r}"


def _at_most(proposed: Any, given: Any) -> str | None:
    """Narrower means smaller (a count, a cap)."""
    return None if given <= proposed else f"{given!r} is above the proposed {proposed!r}"


def _only_false(proposed: Any, given: Any) -> str | None:
    """A switch that widens when on (recursive) may only be turned off."""
    return None if given is False or given == proposed else "it may only be turned off"


def _glob_subset(proposed: Any, given: Any) -> str | None:
    """GIVEN matches only names PROPOSED matches (checked soundly, else refused)."""
    if given == proposed:
        return None
    literal = not any(ch in given for ch in "*?[")
    # With only `*` wildcards in PROPOSED and no `[` in GIVEN, every wildcard of GIVEN falls
    # inside a `*` of PROPOSED when PROPOSED matches GIVEN's text, so GIVEN selects a subset.
    star_only = not any(ch in proposed for ch in "?[") and "[" not in given
    if (literal or star_only) and fnmatch.fnmatchcase(given, proposed):
        return None
    return f"{given!r} may select files that {proposed!r} does not"


NARROWING: dict[str, dict[str, Rule]] = {
    "cleanup_files": {
        "pattern": _glob_subset,
        "older_than_s": _at_least,
        "min_size_bytes": _at_least,
        "recursive": _only_false,
    },
    "terminate_queries": {"older_than_s": _at_least, "max_count": _at_most},
}


def typed_like(name: str, proposed: Any, given: Any) -> Any:
    """GIVEN converted to the type of the PROPOSED value (CLI values arrive as text)."""
    kind = type(proposed)
    if isinstance(given, str) and kind is not str:
        try:
            given = json.loads(given)
        except ValueError:
            raise ValueError(f"{name}={given!r} is not a {kind.__name__}") from None
    if kind is float and isinstance(given, int) and not isinstance(given, bool):
        given = float(given)
    if kind is int and isinstance(given, float) and given.is_integer():
        given = int(given)
    if type(given) is not kind:
        raise ValueError(
            f"{name}={given!r} must be a {kind.__name__} like the proposed {proposed!r}"
        )
    if isinstance(given, float) and not math.isfinite(given):
        raise ValueError(f"{name}={given!r} must be a finite number")
    return given


def apply_overrides(
    action: str, proposed: dict[str, Any], overrides: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """The parameters to run (PROPOSED with OVERRIDES typed on top) and why any are refused."""
    params, reasons = dict(proposed), []
    rules = NARROWING.get(action, {})
    for name, raw in (overrides or {}).items():
        if name not in proposed:
            reasons.append(f"overrides may only change the proposed parameters, not add {name!r}")
            continue
        if name not in rules:
            allowed = ", ".join(sorted(rules)) or "none"
            reasons.append(
                f"{action}: {name!r} may not be changed at approval (may narrow: {allowed})"
            )
            continue
        try:
            value = typed_like(name, proposed[name], raw)
        except ValueError as exc:
            reasons.append(f"{action}: {exc}")
            continue
        why = rules[name](proposed[name], value)
        if why is not None:
            reasons.append(f"{action}: {name} may only narrow the proposal: {why}")
            continue
        params[name] = value
    return params, reasons
