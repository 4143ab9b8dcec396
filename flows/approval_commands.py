"""`oncall approvals | approve | reject`: answer a paused resolution run through the Prefect API."""

from __future__ import annotations

import getpass
import time
from typing import Any
from uuid import UUID

import typer
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run
from rich.table import Table

from oncall_agent.approvals import answers_to, get_approval, last_event_id, pending_approvals
from oncall_agent.cli.common import console, err_console, store_session

RESUME_RETRY_S = 15.0


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
    # After a refused code the run pauses again within a poll interval: retry briefly.
    deadline = time.monotonic() + RESUME_RETRY_S
    while True:
        try:
            resume_flow_run(UUID(flow_run_id), run_input=run_input)
            return
        except NotPausedError:
            if time.monotonic() > deadline or not _still_pending(approval_id):
                break
            time.sleep(0.5)
        except ObjectNotFound:
            break
    err_console.print(
        f"[red]error:[/red] the run {flow_run_id} is no longer waiting "
        "(expired or answered already)"
    )
    raise typer.Exit(1)


def _still_pending(approval_id: int) -> bool:
    """Whether APPROVAL_ID still waits for an answer."""
    with store_session() as session:
        return get_approval(session, approval_id).status == "pending"


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


def _report_judgement(approval_id: int, after_event: int, wait_s: float) -> None:
    """Print how the run judged the answer (it checks the code), waiting up to WAIT_S seconds."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with store_session() as session:
            events = answers_to(session, approval_id, after_event)
        if events:
            details = events[-1].details or {}
            if events[-1].kind == "approval_granted":
                console.print(
                    f"approval #{approval_id}: accepted from {events[-1].actor}; the run continues",
                    markup=False,
                )
                return
            console.print(f"approval #{approval_id}: refused:", markup=False)
            for reason in details.get("reasons") or []:
                console.print(f"  - {reason}", markup=False)
            if details.get("asks_again"):
                console.print("  the request still waits: answer again with the right code")
            raise typer.Exit(1)
        time.sleep(0.5)
    console.print(
        f"approval #{approval_id}: answer sent; the run has not judged it yet "
        "(see `oncall show` for the outcome)"
    )


def approve(
    approval_id: int = typer.Argument(..., help="Approval id (see `oncall approvals`)"),
    code: str = typer.Option(
        "", "--code", help="The one-time code sent to your channel (required unless trusted)"
    ),
    comment: str = typer.Option("", "--comment"),
    approver: str = typer.Option(
        "",
        "--as",
        help="Who approves; with a code it is optional (the code names you). Without a code it "
        "works only when the policy sets trust_local_approver (demo, single-user laptop).",
    ),
    param: list[str] = typer.Option(
        [], "--param", help="Narrow a proposed parameter: key=value (typed like the proposal)"
    ),
    wait: float = typer.Option(30.0, "--wait", help="Seconds to wait for the run's judgement"),
) -> None:
    """Approve a waiting action; the paused resolution run checks the code and runs it."""
    who = approver or ("" if code else getpass.getuser())
    with store_session() as session:
        after = last_event_id(session)
    answer_approval(
        approval_id,
        {
            "decision": "approve",
            "approver": who,
            "code": code,
            "comment": comment,
            "parameters": _parse_params(param),
        },
    )
    console.print(
        f"approval #{approval_id}: approve sent{' as ' + who if who else ''}", markup=False
    )
    _report_judgement(approval_id, after, wait)


def reject(
    approval_id: int = typer.Argument(..., help="Approval id (see `oncall approvals`)"),
    reason: str = typer.Option(..., "--reason", help="Why not"),
    approver: str = typer.Option("", "--as", help="Who rejects (default: your login name)"),
) -> None:
    """Reject a waiting action; the incident escalates and nothing runs."""
    who = approver or getpass.getuser()
    answer_approval(
        approval_id,
        {"decision": "reject", "approver": who, "code": "", "comment": reason, "parameters": None},
    )
    console.print(f"approval #{approval_id}: reject sent as {who}")


def register(app: typer.Typer) -> None:
    """Add the approval commands to the main app."""
    app.command("approvals")(approvals)
    app.command("approve")(approve)
    app.command("reject")(reject)
