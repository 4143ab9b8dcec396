"""The approval form: a required decision, and a description that shows the incident literally."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from markdown_it import MarkdownIt

from oncall_agent.approval_form import form_description
from oncall_agent.markdown import escape_html
from oncall_agent.store.tables import Approval, Incident

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def rendered_text(markdown: str) -> str:
    """What a person reads once MARKDOWN is rendered to HTML (tags dropped, entities decoded)."""
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    return unescape(re.sub(r"<[^>]+>", "", html))


def _incident(**changes: object) -> Incident:
    """An incident whose text holds placeholders and markdown characters."""
    values: dict[str, object] = {
        "id": 7,
        "fingerprint": "fp",
        "title": "timeout after <NUM> ms calling [ledger] *payments*",
        "service": "payments",
        "severity": "critical",
        "category": "timeout",
        "status": "awaiting_approval",
        "first_seen": NOW,
        "last_seen": NOW + timedelta(minutes=5),
        "occurrences": 42,
        "samples": ["expected=<VAL> actual=<VAL> | pool_size=<NUM>", "second line"],
        "confidence": 0.61,
        "decision_reasons": ["the entry's autonomy is 'approve': a person must approve"],
        "analysis": {
            "entry_key": "payments-timeout",
            "entry_title": "Payments timeout",
            "match_score": 0.9,
            "solution": "restart the <SERVICE> worker",
            "llm": {"summary": "The ledger pool is exhausted (<NUM> waiters).", "model": "gpt-x"},
        },
    }
    values.update(changes)
    return Incident(**values)  # type: ignore[arg-type]


APPROVAL = Approval(
    id=3,
    incident_id=7,
    action="restart_service",
    parameters={"service": "payments"},
    params_hash="0" * 64,
    risk="medium",
    confidence=0.61,
    expires_at=NOW + timedelta(hours=1),
)


def test_placeholders_and_markdown_characters_display_literally() -> None:
    """<NUM>, <VAL>, [ledger], *payments* and | survive rendering exactly as logged."""
    shown = rendered_text(form_description(APPROVAL, _incident(), "restart_service:payments"))
    assert "timeout after <NUM> ms calling [ledger] *payments*" in shown
    assert "expected=<VAL> actual=<VAL> | pool_size=<NUM>" in shown
    assert "restart the <SERVICE> worker" in shown


def test_the_form_shows_the_incident_analysis_reasons_and_exact_action() -> None:
    """Service, severity, counts, first/last seen, samples, reasons and the target are shown."""
    shown = rendered_text(form_description(APPROVAL, _incident(), "restart_service:payments"))
    for text in (
        "Service: payments",
        "Severity: critical",
        "Occurrences: 42",
        "First seen: 2026-11-27 03:00:00Z",
        "Last seen: 2026-11-27 03:05:00Z",
        "second line",
        "Payments timeout",
        "the entry's autonomy is 'approve': a person must approve",
        "Action: restart_service on restart_service:payments",
        "oncall approve 3 --code CODE",
    ):
        assert text in shown, text


def test_a_model_summary_is_marked_as_written_by_a_model() -> None:
    """An LLM's summary is shown with the model's name; without one, no such section appears."""
    shown = rendered_text(form_description(APPROVAL, _incident(), "t"))
    assert "Written by a model (gpt-x)" in shown
    assert "The ledger pool is exhausted (<NUM> waiters)." in shown
    plain = _incident(analysis={"entry_key": "k", "entry_title": "K"})
    assert "Written by a model" not in rendered_text(form_description(APPROVAL, plain, "t"))


def test_table_cells_keep_placeholders() -> None:
    """The detection-summary artifact's cells show <NUM> rather than swallowing it as a tag."""
    from flows.detection import _row

    row = _row({"id": 1, "title": "expected=<NUM> actual=<NUM>", "reasons": ["a <VAL>", "b"]})
    assert row["id"] == 1 and "<NUM>" not in str(row["title"])
    assert rendered_text(str(row["title"])).strip() == "expected=<NUM> actual=<NUM>"
    assert unescape(str(row["reasons"])) == "a <VAL>; b"
    assert unescape(escape_html("x & <y>")) == "x & <y>"


def test_the_decision_is_a_required_choice_without_default() -> None:
    """The JSON schema Prefect renders has decision required, approve/reject only, no default."""
    from prefect.input.run_input import create_v2_schema

    from flows.approval import ApprovalInput

    form = ApprovalInput.with_initial_data(description="x")
    schema = create_v2_schema(form.__name__, model_base=form)
    decision = schema["properties"]["decision"]
    assert "decision" in schema["required"] and "default" not in decision
    assert decision["enum"] == ["approve", "reject"]
    assert schema["properties"]["code"]["default"] == ""
