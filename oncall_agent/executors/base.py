"""What every executor shares: the plan it shows before acting, its protocol, and output hygiene.

Contract of an executor (see each module for the details of one action):
- `plan(params)` validates everything and returns the exact `ActionPlan`; anything it does not
  like raises `ActionRejected` and nothing has run.
- `run(plan, dry_run=..., timeout_s=...)` re-validates the plan's parameters, then acts (or, in a
  dry run, only reports what it would do). Whatever started returns an `ActionResult`: a command
  that exits non-zero or runs past its timeout is `FAILED` with a message saying so (a timeout also
  sets `details["timed_out"] = True`); `ActionError` means the action could not start at all.
- `verify(plan, result, verify)` confirms the effect; `VerificationError` means it could not check.
Output captured from any executor is redacted and truncated before it leaves the executor.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from oncall_agent.errors import ActionRejected, VerificationError
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult
from oncall_agent.secrets import REDACTED as REDACTED  # re-exported for older callers
from oncall_agent.secrets import mask_secrets


class ActionPlan(BaseModel):
    """Exactly what an action would do, built only from validated parameters."""

    action: str
    target: str
    params: dict[str, Any]
    argv: list[str] | None = None
    files: list[str] = Field(default_factory=list)
    description: str


@runtime_checkable
class Executor(Protocol):
    """An action the agent can take: validate into a plan, run it, verify its effect."""

    name: str

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """Validate PARAMS and return the exact plan; raise ActionRejected if not allowed."""
        ...

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Carry out PLAN (or only describe it, in a dry run) within TIMEOUT_S seconds."""
        ...

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """Confirm the effect of RESULT as the VERIFY settings ask."""
        ...


def params_hash(params: dict[str, Any]) -> str:
    """A stable sha256 of the parameters' canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        params, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def truncate(text: str, limit: int) -> str:
    """TEXT if it fits in LIMIT characters, else its head and tail around a note of what was cut."""
    if len(text) <= limit:
        return text
    marker_len = len(_cut_marker(len(text)))
    if limit <= marker_len:
        return text[: max(limit, 0)]
    keep = limit - marker_len
    head, tail = keep - keep // 2, keep // 2
    cut = len(text) - head - tail
    return text[:head] + _cut_marker(cut) + (text[-tail:] if tail else "")


def _cut_marker(cut: int) -> str:
    """The note placed where characters were removed."""
    return f"\n... [{cut} characters cut] ...\n"


def clean_output(text: str, secrets: Iterable[str], limit: int) -> str:
    """Captured output made safe to store: secrets redacted first, then truncated to LIMIT."""
    return truncate(mask_secrets(text, secrets), limit)


def reject_unknown_keys(action: str, params: dict[str, Any], allowed: Iterable[str]) -> None:
    """Raise ActionRejected naming any parameter the action does not take."""
    allowed_set = set(allowed)
    unknown = sorted(set(params) - allowed_set)
    if unknown:
        raise ActionRejected(
            f"{action}: unknown parameter(s) {unknown}; allowed: {sorted(allowed_set)}"
        )


def check_verify_keys(action: str, verify: dict[str, Any], allowed: Iterable[str]) -> None:
    """Raise VerificationError naming any verify setting the action does not understand."""
    allowed_set = set(allowed)
    unknown = sorted(set(verify) - allowed_set)
    if unknown:
        raise VerificationError(
            f"{action}: unknown verify setting(s) {unknown}; allowed: {sorted(allowed_set)}"
        )


def verify_number(action: str, verify: dict[str, Any], key: str, default: float) -> float:
    """verify[KEY] as a non-negative number (DEFAULT if absent), or VerificationError."""
    value = verify.get(key, default)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise VerificationError(
            f"{action}: verify {key!r} must be a non-negative number, got {value!r}"
        )
    return float(value)


def dry_run_verification(result: ActionResult) -> VerificationResult | None:
    """A failed verification for a dry run (nothing changed, so nothing can be confirmed)."""
    if result.dry_run:
        return VerificationResult(
            ok=False, detail="dry run: nothing was changed, so nothing to verify"
        )
    return None


def ensure_same_plan(given: ActionPlan, fresh: ActionPlan) -> None:
    """Refuse a plan whose command differs from the one its own parameters produce now."""
    if (given.action, given.target, given.argv) != (fresh.action, fresh.target, fresh.argv):
        raise ActionRejected(
            f"{given.action}: the plan does not match its parameters "
            f"(planned {given.argv!r}, parameters give {fresh.argv!r}); plan it again"
        )


def argv_dry_run(plan: ActionPlan) -> ActionResult:
    """What a dry run of an argv plan reports: the exact argv it would run, nothing run."""
    return ActionResult(
        status=ActionStatus.DRY_RUN,
        output=f"would {plan.description}",
        argv=plan.argv,
        dry_run=True,
    )
