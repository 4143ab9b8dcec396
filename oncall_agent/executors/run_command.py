"""`run_command`: run an allow-listed command template with validated parameters, never a shell.

A command that runs past its timeout is killed (with its process group) and the result is FAILED
with `details["timed_out"] = True` and a note in the output; no exception is raised, so the caller
records the partial output like any other failure.
"""

from __future__ import annotations

import shlex
from typing import Any

from oncall_agent.errors import ActionRejected, VerificationError
from oncall_agent.executors.argv import render_argv
from oncall_agent.executors.base import (
    ActionPlan,
    argv_dry_run,
    check_verify_keys,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
)
from oncall_agent.executors.common import ConfiguredExecutor
from oncall_agent.executors.process import command_env, run_argv
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult


class RunCommandExecutor(ConfiguredExecutor):
    """Runs one of the configured command templates as an argv list."""

    name = "run_command"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact argv for {template, params}; ActionRejected if anything is not allowed."""
        reject_unknown_keys(self.name, params, ["template", "params"])
        template_name = params.get("template")
        templates = self.config.command_templates
        template = templates.get(template_name) if isinstance(template_name, str) else None
        if template is None:
            raise ActionRejected(
                f"run_command: template {template_name!r} is not configured; "
                f"known templates: {sorted(self.config.command_templates)}"
            )
        values = params.get("params", {})
        if not isinstance(values, dict):
            raise ActionRejected("run_command: 'params' must be a mapping of parameter values")
        argv = render_argv(template, values, what=f"run_command template {template_name!r}")
        return ActionPlan(
            action=self.name,
            target=template_name,
            params={"template": template_name, "params": dict(values)},
            argv=argv,
            description=f"run {shlex.join(argv)}",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Run the planned argv (dry run: only report it); FAILED on non-zero exit or timeout."""
        ensure_same_plan(plan, self.plan(plan.params))
        assert plan.argv is not None
        if dry_run:
            return argv_dry_run(plan)
        template = self.config.command_templates[plan.target]
        outcome = run_argv(
            plan.argv,
            timeout_s=timeout_s,
            output_limit=self.output_limit,
            secrets=self.secrets,
            cwd=template.cwd,
            env=command_env(template.env),
        )
        ok = outcome.exit_code == 0
        return ActionResult(
            status=ActionStatus.SUCCEEDED if ok else ActionStatus.FAILED,
            output=outcome.output,
            argv=plan.argv,
            details={
                "exit_code": outcome.exit_code,
                "timed_out": outcome.timed_out,
                "duration_s": round(outcome.duration_s, 3),
            },
        )

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """With {"exit_code": N}: the command exited with N; otherwise: it succeeded."""
        check_verify_keys(self.name, verify, ["exit_code"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        exit_code = result.details.get("exit_code")
        if "exit_code" not in verify:
            ok = result.status is ActionStatus.SUCCEEDED
            return VerificationResult(
                ok=ok, detail=f"exit code {exit_code}", data={"exit_code": exit_code}
            )
        expected = verify["exit_code"]
        if isinstance(expected, bool) or not isinstance(expected, int):
            raise VerificationError(
                f"run_command: verify 'exit_code' must be an integer, got {expected!r}"
            )
        return VerificationResult(
            ok=exit_code == expected,
            detail=f"exit code {exit_code}, expected {expected}",
            data={"exit_code": exit_code, "expected": expected},
        )
