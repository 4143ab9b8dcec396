"""Message content: what happened, what the agent concluded and why, what it tried, how to act."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oncall_agent.notify import (
    Notification,
    compose_approval_request,
    compose_digest,
    compose_escalation,
    compose_resolved,
)
from oncall_agent.notify.compose import with_repeat_note
from oncall_agent.store.tables import ActionRun, Incident

SEEN = datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)


@pytest.fixture
def incident() -> Incident:
    """An incident the agent analysed and tried to fix."""
    return Incident(
        id=12,
        fingerprint="f" * 16,
        title="disk full on /var/log",
        service="payments",
        severity="critical",
        category="disk",
        status="escalated",
        first_seen=SEEN,
        last_seen=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        occurrences=57,
        samples=["ERROR No space left on device: /var/log/app.log", "x" * 1000],
        confidence=0.42,
        decision="ask_approval",
        analysis={
            "entry_key": "disk-cleanup",
            "entry_title": "Clean old logs",
            "match_score": 0.87,
            "match_reasons": ["pattern 'No space left' matched"],
            "confidence_explanation": "(3 successes, 1 failure)",
            "solution": "delete rotated logs older than 7 days",
        },
    )


@pytest.fixture
def runs() -> list[ActionRun]:
    """One failed cleanup attempt."""
    return [
        ActionRun(
            idempotency_key="k1",
            action="cleanup",
            target="/var/log/app",
            status="failed",
            verification={"detail": "disk still 99% full"},
            error="permission denied",
        )
    ]


def test_escalation_tells_what_happened_concluded_tried_and_how_to_act(incident, runs):
    """An escalation names the incident, samples, the analysis, the attempt and the commands."""
    note = compose_escalation(incident, ["confidence 42% is below 80%"], runs, "http://ui/run/1")
    body = note.body
    for expected in (
        "Incident #12: disk full on /var/log",
        "Service payments, severity critical",
        "57 occurrence(s), first seen 2025-03-01 08:00:05Z, last seen 2025-03-01 09:30:00Z",
        "No space left on device",
        "knowledge entry disk-cleanup (Clean old logs), match score 0.87",
        "Known fix: delete rotated logs older than 7 days",
        "Confidence 42% (3 successes, 1 failure)",
        "confidence 42% is below 80%",
        "cleanup on /var/log/app: failed",
        "verification: disk still 99% full",
        "error: permission denied",
        "oncall resolve 12",
        "Prefect UI: http://ui/run/1",
    ):
        assert expected in body
    assert "x" * 301 not in body  # samples are capped
    assert (note.kind, note.service, note.incident_id) == ("escalation", "payments", 12)


def test_escalation_without_match_or_attempt_says_so(incident):
    """With no knowledge match and no action run, the message says so plainly."""
    incident.analysis, incident.confidence = {}, None
    body = compose_escalation(incident, [], []).body
    assert "No knowledge entry matches this incident." in body
    assert "What the agent tried: nothing yet." in body
    assert "Prefect UI" not in body


def test_approval_request_gives_exact_parameters_and_both_commands(incident):
    """An approval request shows the action, its parameters, risk, expiry, approve and reject."""
    expires = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    note = compose_approval_request(
        incident,
        approval_id=31,
        action="cleanup",
        parameters={"path": "/var/log/app", "older_than_days": 7},
        risk="medium",
        confidence=0.42,
        expires_at=expires,
        ui_url="http://ui/run/1",
    )
    assert note.kind == "approval_requested"
    assert "cleanup, risk medium, confidence 42%" in note.body
    assert '{"older_than_days": 7, "path": "/var/log/app"}' in note.body
    assert "oncall approve 31 --code CODE --comment" in note.body
    assert "oncall reject 31 --reason" in note.body
    assert "expires at 2025-03-01 10:00:00Z" in note.body
    assert note.subject == "[oncall] approval needed #12 payments: cleanup (medium risk)"


def test_resolved_notice_says_how(incident):
    """A resolved notice names the incident and how it was resolved."""
    incident.resolved_at = datetime(2025, 3, 1, 11, 0, tzinfo=UTC)
    note = compose_resolved(incident, note="freed 3 GB by hand")
    assert note.kind == "resolved"
    assert "Incident #12 is resolved" in note.body
    assert "How: freed 3 GB by hand" in note.body
    assert note.subject.startswith("[oncall] resolved #12 payments")


def test_subject_is_one_bounded_line(incident):
    """A title with line breaks or great length still gives a one-line subject of 200 chars."""
    incident.title = "boom\r\nBcc: attacker@example.org " + "y" * 500
    subject = compose_escalation(incident, [], []).subject
    assert "\n" not in subject and "\r" not in subject
    assert len(subject) == 200


def _note(incident_id: int, severity: str, service: str = "api") -> Notification:
    """A small notification."""
    return Notification(
        incident_id=incident_id,
        kind="escalation",
        severity=severity,
        service=service,
        subject=f"s{incident_id}",
        body=f"body {incident_id}",
    )


def test_digest_groups_notifications_under_the_worst_severity():
    """A digest lists every incident, carries all ids and takes the most severe severity."""
    digest = compose_digest([_note(1, "warning"), _note(2, "critical"), _note(3, "error", "db")])
    assert digest.kind == "digest"
    assert digest.incident_ids == [1, 2, 3]
    assert digest.severity == "critical"
    assert digest.service is None
    assert digest.subject == "[oncall] 3 notifications: #1 escalation, #2 escalation, #3 escalation"
    assert all(f"body {n}" in digest.body for n in (1, 2, 3))


def test_digest_of_one_is_that_notification():
    """A single notification is sent as itself, not wrapped in a digest."""
    only = _note(5, "error")
    assert compose_digest([only]) == only


def test_repeat_note_counts_held_back_repeats():
    """The next message after held-back repeats says how many there were; none adds nothing."""
    assert "4 more notification(s)" in with_repeat_note(_note(1, "error"), 4).body
    assert with_repeat_note(_note(1, "error"), 0).body == "body 1"


def test_a_models_summary_is_shown_marked_as_written_by_a_model(incident: Incident) -> None:
    """Approval requests and escalations show the model's summary with the model's name."""
    llm = {
        "summary": "Old logs filled /var.", "root_cause": "rotation stopped", "entry_key": None,
        "parameters": {}, "source": "llm", "refused": ["entry_key 'x' is not offered: refused"],
        "model": "llama3.1", "latency_s": 0.4,
    }  # fmt: skip
    incident.analysis = {**(incident.analysis or {}), "llm": llm}
    request = compose_approval_request(
        incident, approval_id=3, action="cleanup_files", parameters={}, risk="low", confidence=0.5
    )
    escalation = compose_escalation(incident, ["no action"], [])
    for body in (request.body, escalation.body):
        assert "Summary (written by a model (llama3.1), not checked by a person): Old logs" in body
        assert "Refused from the model: entry_key 'x' is not offered" in body
    incident.analysis["llm"] = llm | {"source": "fallback"}
    assert "written by a model" not in compose_escalation(incident, ["no action"], []).body
