"""`oncall feedback` and `oncall resolve` on a real store: verdicts kept, outcomes count once."""

from __future__ import annotations

from sqlmodel import select

from oncall_agent.learning.feedback import human_corrections
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.tables import AuditEvent, FeedbackRow, KnowledgeEntry
from tests.integration.learning_cli import cli_db, invoke, oncall, simulated_incident

__all__ = ["cli_db"]

MESSAGE = "ERROR reconciliation failed for batch 4411: checksum mismatch"


def _incident() -> int:
    """A migrated store holding one unmatched incident."""
    oncall("db", "upgrade")
    return simulated_incident("ledger mismatch", "billing", MESSAGE)


def test_latest_feedback_is_the_correction_retraining_sees(cli_db: str) -> None:
    """A verdict is stored and audited; a later one replaces it in human_corrections."""
    incident_id = _incident()
    out = oncall("feedback", str(incident_id), "--correct", "--by", "ana")
    assert f"incident #{incident_id}: feedback 'correct' stored" in out
    assert "its recorded solution works" in out
    with session_scope(get_engine()) as session:
        assert human_corrections(session) == {incident_id: (None, True)}

    out = oncall(
        "feedback", str(incident_id), "--wrong", "--solution", "re-run the ledger job",
        "--comment", "the restart only hid it", "--by", "bo",
    )  # fmt: skip
    assert "solution 're-run the ledger job' works" in out
    oncall("feedback", str(incident_id), "--wrong", "--by", "bo")  # newest word wins
    with session_scope(get_engine()) as session:
        assert human_corrections(session) == {incident_id: (None, False)}
        kinds = session.exec(select(AuditEvent.kind, AuditEvent.actor)).all()
        assert [k for k in kinds if k[0] == "feedback"] == [
            ("feedback", "ana"), ("feedback", "bo"), ("feedback", "bo")
        ]  # fmt: skip
    assert "feedback" in oncall("show", str(incident_id))


def test_feedback_bad_input_is_one_line_and_writes_nothing(cli_db: str) -> None:
    """Both verdicts, neither, or an unknown incident: a one-line error, non-zero exit, no row."""
    incident_id = _incident()
    both = invoke("feedback", str(incident_id), "--correct", "--wrong")
    assert both.exit_code == 2
    assert both.output.strip() == "error: give exactly one of --correct or --wrong"
    neither = invoke("feedback", str(incident_id))
    assert neither.exit_code == 2 and "exactly one of --correct or --wrong" in neither.output
    unknown = invoke("feedback", "999", "--correct")
    assert unknown.exit_code == 1
    assert len(unknown.output.strip().splitlines()) == 1
    assert "no incident with id 999" in unknown.output
    with session_scope(get_engine()) as session:
        assert session.exec(select(FeedbackRow)).all() == []


def _record(session_key: str) -> tuple[int, int]:
    """The (successes, failures) of the knowledge entry whose key starts with SESSION_KEY."""
    with session_scope(get_engine()) as session:
        rows = session.exec(select(KnowledgeEntry)).all()
        entry = next(r for r in rows if r.key.startswith(session_key))
        return entry.successes, entry.failures


def test_resolving_a_resolved_incident_counts_its_outcome_once(cli_db: str) -> None:
    """`oncall resolve` three times on one incident leaves its entry's record at 1/0."""
    incident_id = _incident()
    first = oncall("resolve", str(incident_id), "--solution", "re-ran the job", "--by", "ana")
    assert "resolved; new knowledge entry" in first
    for _ in range(2):
        again = oncall("resolve", str(incident_id), "--solution", "re-ran the job", "--by", "ana")
        assert f"incident #{incident_id} unchanged; already resolved" in again
        assert f"oncall feedback {incident_id} --wrong" in again
    assert _record("learned-") == (1, 0)
    with session_scope(get_engine()) as session:
        key = next(k for k in session.exec(select(KnowledgeEntry.key)) if k.startswith("learned-"))
    assert "1 successes, 0 failures" in oncall("kb", "stats", key)


def test_the_same_failed_fix_reported_twice_counts_one_failure(cli_db: str) -> None:
    """Two reports of one failed solution count one failure; a different one counts again."""
    incident_id = _incident()
    oncall("resolve", str(incident_id), "--solution", "restart", "--failure")
    repeat = oncall("resolve", str(incident_id), "--solution", "restart", "--failure")
    assert "already counted" in repeat
    assert _record("learned-") == (0, 1)
    oncall("resolve", str(incident_id), "--solution", "clear the cache", "--failure")
    oncall("resolve", str(incident_id), "--solution", "re-run", "--success")
    assert _record("learned-") == (1, 2)
