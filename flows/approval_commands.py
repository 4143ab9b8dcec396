"""`oncall approvals | approve | reject`: answer a paused resolution run through the Prefect API."""

from __future__ import annotations

import getpass
import json
import time
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

RESUME_RETRY_S = 15.0


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
    fail(f"the run {flow_run_id} is no longer waiting (expired or answered already)")


def _still_pending(approval_id: int) -> bool:
    """Whether APPROVAL_ID still waits for an answer."""
    from oncall_agent.approvals import get_approval

    with store_session() as session:
        return get_approval(session, approval_id).status == "pending"


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


def _report_judgement(approval_id: int, after_event: int, wait_s: float) -> None:
    """Print how the run judged the answer (it checks the code), waiting up to WAIT_S seconds."""
    from oncall_agent.approvals import answers_to

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with store_session() as session:
            events = answers_to(session, approval_id, after_event)
        if events:
            details = events[-1].details or {}
            if events[-1].kind == "approval_granted":
                console.print(
                    f"approval #{approval_id}: accepted from {events[-1].actor}; the run continues",
                )
                return
            console.print(f"approval #{approval_id}: refused:")
            for reason in details.get("reasons") or []:
                console.print(f"  - {reason}")
            if details.get("asks_again"):
                console.print("  the request still waits: answer again with the right code")
            raise typer.Exit(1)
        time.sleep(0.5)
    console.print(
        f"approval #{approval_id}: answer sent; the run has not judged it yet "
        "(see `oncall show` for the outcome)"
    )


@friendly_errors
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
    from oncall_agent.approvals import last_event_id

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
    console.print(f"approval #{approval_id}: approve sent{' as ' + who if who else ''}")
    _report_judgement(approval_id, after, wait)


@friendly_errors
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
