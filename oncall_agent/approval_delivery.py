"""Send each allowed approver their one-time code through their own channel (not the outbox).

Codes go out directly, never through the outbox table: a code written to the store would be
readable by anyone who can read the store, which is exactly who it must not prove. The audit
trail records which approver was sent a code on which channel, never the code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy.engine import Engine

from oncall_agent.approval_codes import approval_code
from oncall_agent.errors import NotificationError
from oncall_agent.models import RiskClass
from oncall_agent.notify.base import Notification, Notifier
from oncall_agent.policy import PolicyConfig
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident
from oncall_agent.store.tables import Approval, Incident

APPROVAL_CODE = "approval_code"


def compose_code(incident: Incident, approval: Approval, approver: str, code: str) -> Notification:
    """The message that carries APPROVER's code for APPROVAL, with what it approves."""
    assert approval.id is not None and incident.id is not None
    params = json.dumps(approval.parameters or {}, sort_keys=True, default=str)
    body = "\n".join(
        [
            f"{approver}, your one-time code for approval #{approval.id}: {code}",
            "",
            f"It approves {approval.action} with {params}",
            f"for incident #{incident.id} ({incident.service}): {incident.title}",
            f"It works once, only for you and these exact parameters, until "
            f"{approval.expires_at:%Y-%m-%d %H:%M:%S}Z.",
            "",
            f"Approve: oncall approve {approval.id} --code {code}",
            "or type it into the code field of the paused run's form in the Prefect UI.",
            "If you did not expect this, do nothing: unanswered, the incident escalates.",
        ]
    )
    return Notification(
        incident_id=incident.id,
        kind=APPROVAL_CODE,
        severity=incident.severity,
        service=incident.service,
        subject=f"[oncall] approval code for #{approval.id}: {approval.action}",
        body=body,
    )


def send_codes(
    engine: Engine,
    approval: Approval,
    key: bytes,
    policy: PolicyConfig,
    notifiers: Mapping[str, Notifier],
) -> list[str]:
    """Send every allowed approver with a channel their code; the approvers reached (audited)."""
    assert approval.id is not None
    with session_scope(engine) as session:
        incident = get_incident(session, approval.incident_id)
    reached: list[str] = []
    outcomes: list[tuple[str, str, str]] = []
    for approver in policy.allowed_approvers(RiskClass(approval.risk)):
        channel = policy.approver_channels.get(approver)
        notifier = notifiers.get(channel or "")
        if channel is None or notifier is None:
            outcomes.append((approver, channel or "-", "no channel configured for this approver"))
            continue
        code = approval_code(key, approval.id, approver, approval.params_hash, approval.expires_at)
        try:
            notifier.send(compose_code(incident, approval, approver, code))
        except (NotificationError, OSError) as exc:
            outcomes.append((approver, channel, f"not sent: {exc}"))
            continue
        reached.append(approver)
        outcomes.append((approver, channel, "sent"))
    with session_scope(engine) as session:
        for approver, channel, result in outcomes:
            audit(
                session,
                "approval_code_sent" if result == "sent" else "approval_code_not_sent",
                actor="agent",
                incident_id=approval.incident_id,
                approval_id=approval.id,
                approver=approver,
                channel=channel,
                result=result,
            )
    return reached
