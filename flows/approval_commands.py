"""`oncall approvals | approve | reject`: answer a paused resolution run through the Prefect API."""

from __future__ import annotations

import getpass
import json
from typing import Any
from uuid import UUID

import typer
from rich.table import Table

from oncall_agent.cli.common import (
    console,
    fail,
    friendly_errors,
    print_json,
    say_empty,
    store_session,
)


def _parse_params(pairs: list[str]) -> dict[str, Any] | None:
    """key=value overrides as a dict (None when there are none)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"--param {pair!r} is not key=value; write e.g. --param older_than_s=3600", 2)
        out[key] = value
    return out or None


def answer_approval(approval_id: int, run_input: dict[str, Any]) -> None:
    """Resume the paused run that waits for APPROVAL_ID with RUN_INPUT."""
    # Prefect costs seconds to import: only the commands that talk to its API pay for it.
    from prefect.exceptions import NotPausedError, ObjectNotFound
    from prefect.flow_runs import resume_flow_run

    from oncall_agent.approvals import get_approval

    with store_session() as session:
        row = get_approval(session, approval_id)
        status, flow_run_id = row.status, row.flow_run_id
    if status != "pending":
        fail(
            f"approval #{approval_id} is {status}, not pending; "
            "`oncall approvals` lists those that wait"
        )
    if not flow_run_id:
        fail(f"approval #{approval_id} has no waiting flow run; it cannot be answered any more")
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except (NotPausedError, ObjectNotFound):
        fail(f"the run {flow_run_id} is no longer waiting (expired or answered already)")


@friendly_errors
def approvals(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """List the approvals that wait for an answer."""
    from oncall_agent.approvals import pending_approvals

    with store_session() as session:
        rows = [
            {
                "id": row.id,
                "incident": row.incident_id,
                "action": row.action,
                "risk": row.risk,
                "confidence": row.confidence,
                "parameters": row.parameters or {},
                "expires_at": row.expires_at.isoformat(),
                "flow_run_id": row.flow_run_id,
            }
            for row in pending_approvals(session)
        ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        say_empty("no approvals are waiting")
        return
    table = Table(
        "id", "incident", "action", "risk", "confidence", "parameters", "expires", "flow run"
    )
    for r in rows:
        conf = r["confidence"]
        table.add_row(
            str(r["id"]),
            str(r["incident"]),
            str(r["action"]),
            str(r["risk"]),
            f"{conf:.2f}" if isinstance(conf, float) else "-",
            json.dumps(r["parameters"], sort_keys=True),
            str(r["expires_at"])[:19].replace("T", " ") + "Z",
            str(r["flow_run_id"] or "-"),
        )
    console.print(table)


@friendly_errors
def approve(
    approval_id: int = typer.Argument(..., help="Approval id (see `oncall approvals`)"),
    comment: str = typer.Option("", "--comment"),
    approver: str = typer.Option("", "--as", help="Who approves (default: your login name)"),
    param: list[str] = typer.Option([], "--param", help="Override a proposed parameter: key=value"),
) -> None:
    """Approve a waiting action; the paused resolution run continues and runs it."""
    who = approver or getpass.getuser()
    answer_approval(
        approval_id,
        {
            "decision": "approve",
            "approver": who,
            "comment": comment,
            "parameters": _parse_params(param),
        },
    )
    console.print(f"approval #{approval_id}: approve sent as {who}")


@friendly_errors
def reject(
    approval_id: int = typer.Argument(..., help="Approval id (see `oncall approvals`)"),
    reason: str = typer.Option(..., "--reason", help="Why not"),
    approver: str = typer.Option("", "--as", help="Who rejects (default: your login name)"),
) -> None:
    """Reject a waiting action; the incident escalates and nothing runs."""
    who = approver or getpass.getuser()
    answer_approval(
        approval_id, {"decision": "reject", "approver": who, "comment": reason, "parameters": None}
    )
    console.print(f"approval #{approval_id}: reject sent as {who}")


def register(app: typer.Typer) -> None:
    """Add the approval commands to the main app."""
    app.command("approvals")(approvals)
    app.command("approve")(approve)
    app.command("reject")(reject)
