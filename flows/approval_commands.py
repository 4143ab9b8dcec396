"""`oncall approvals | approve | reject`: answer a paused resolution run through the Prefect API."""

from __future__ import annotations

import getpass
from typing import Any
from uuid import UUID

import typer
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run
from rich.table import Table

from oncall_agent.approvals import get_approval, pending_approvals
from oncall_agent.cli.common import console, err_console, store_session


def _parse_params(pairs: list[str]) -> dict[str, Any] | None:
    """key=value overrides as a dict (None when there are none)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            err_console.print(f"[red]error:[/red] --param {pair!r} is not key=value")
            raise typer.Exit(2)
        out[key] = value
    return out or None


def answer_approval(approval_id: int, run_input: dict[str, Any]) -> None:
    """Resume the paused run that waits for APPROVAL_ID with RUN_INPUT."""
    with store_session() as session:
        row = get_approval(session, approval_id)
        status, flow_run_id = row.status, row.flow_run_id
    if status != "pending":
        err_console.print(f"[red]error:[/red] approval #{approval_id} is {status}, not pending")
        raise typer.Exit(1)
    if not flow_run_id:
        err_console.print(f"[red]error:[/red] approval #{approval_id} has no waiting flow run")
        raise typer.Exit(1)
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except (NotPausedError, ObjectNotFound):
        err_console.print(
            f"[red]error:[/red] the run {flow_run_id} is no longer waiting "
            "(expired or answered already)"
        )
        raise typer.Exit(1) from None


def approvals() -> None:
    """List the approvals that wait for an answer."""
    table = Table(
        "id", "incident", "action", "risk", "confidence", "parameters", "expires", "flow run"
    )
    with store_session() as session:
        for row in pending_approvals(session):
            table.add_row(
                str(row.id),
                str(row.incident_id),
                row.action,
                row.risk,
                f"{row.confidence:.2f}" if row.confidence is not None else "-",
                str(row.parameters),
                f"{row.expires_at:%Y-%m-%d %H:%M:%S}Z",
                row.flow_run_id or "-",
            )
    console.print(table)


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
