"""The knowledge store on SQLite and PostgreSQL: seeding, import, outcomes and learning."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import Engine

from oncall_agent.errors import ConfigError, StoreError
from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import IncidentText, rank_entries
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode
from oncall_agent.store import knowledge as kb
from oncall_agent.store.engine import session_scope

pytestmark = pytest.mark.integration


def _spec(key: str = "queue-stuck", **changes: object) -> KnowledgeEntrySpec:
    """A valid entry with CHANGES applied."""
    data: dict[str, object] = {
        "key": key,
        "title": "Queue consumer stuck",
        "patterns": [r"consumer \d+ stalled"],
        "solution": "Restart it.",
    }
    data.update(changes)
    return KnowledgeEntrySpec.model_validate(data)


def _entry_id(engine: Engine, key: str) -> int:
    """The id of the stored entry KEY."""
    with session_scope(engine) as session:
        row = kb.get_entry(session, key)
        assert row is not None and row.id is not None
        return row.id


def test_seed_is_idempotent_and_keeps_human_edits(engine: Engine) -> None:
    """Seeding twice inserts each default once and never overwrites an edited entry."""
    with session_scope(engine) as session:
        assert kb.seed_defaults(session) == len(DEFAULT_ENTRIES)
    with session_scope(engine) as session:
        row = kb.get_entry(session, "disk-full")
        assert row is not None
        row.autonomy, row.solution = "approve", "Page the storage team."
        session.add(row)
    with session_scope(engine) as session:
        assert kb.seed_defaults(session) == 0
        rows = kb.list_entries(session)
        edited = kb.get_entry(session, "disk-full")
    assert sorted(r.key for r in rows) == sorted(e.key for e in DEFAULT_ENTRIES)
    assert edited is not None and edited.solution == "Page the storage team."
    assert edited.autonomy == "approve" and edited.origin == "seed"


def test_stored_entry_reads_back_as_the_same_spec(engine: Engine) -> None:
    """Every default entry survives a trip through the store unchanged."""
    with session_scope(engine) as session:
        kb.seed_defaults(session)
    with session_scope(engine) as session:
        specs = {s.key: s for s in map(kb.to_spec, kb.list_entries(session))}
    assert specs == {e.key: e for e in DEFAULT_ENTRIES}


def test_add_refuses_a_duplicate_key(engine: Engine) -> None:
    """Adding an entry whose key exists is a ConfigError that says how to update instead."""
    with session_scope(engine) as session:
        row = kb.add_entry(session, _spec())
        assert row.origin == "human"
    with (
        pytest.raises(ConfigError, match="'queue-stuck' already exists"),
        session_scope(engine) as session,
    ):
        kb.add_entry(session, _spec(title="Other"))
    with session_scope(engine) as session:
        stored = kb.get_entry(session, "queue-stuck")
    assert stored is not None and stored.title == "Queue consumer stuck"


def test_upsert_counts_created_updated_and_keeps_outcomes(engine: Engine) -> None:
    """Import creates new keys, updates changed ones, and keeps observed outcome counts."""
    with session_scope(engine) as session:
        kb.add_entry(session, _spec("a"))
        kb.add_entry(session, _spec("b"))
    a_id = _entry_id(engine, "a")
    with session_scope(engine) as session:
        kb.record_outcome(session, a_id, success=True)
    specs = [_spec("a", solution="New fix.", successes=0), _spec("b"), _spec("c", successes=2)]
    with session_scope(engine) as session:
        assert kb.upsert_entries(session, specs) == (1, 1)
    with session_scope(engine) as session:
        a, c = kb.get_entry(session, "a"), kb.get_entry(session, "c")
    assert a is not None and a.solution == "New fix." and a.successes == 1
    assert c is not None and c.successes == 2 and c.origin == "import"


def test_record_outcome_counts_successes_and_failures(engine: Engine) -> None:
    """Outcomes add to the entry's record, visible to an already-loaded row too."""
    with session_scope(engine) as session:
        kb.add_entry(session, _spec())
    entry_id = _entry_id(engine, "queue-stuck")
    with session_scope(engine) as session:
        row = kb.get_entry(session, "queue-stuck")
        kb.record_outcome(session, entry_id, success=True)
        kb.record_outcome(session, entry_id, success=False)
        kb.record_outcome(session, entry_id, success=False)
        assert row is not None and (row.successes, row.failures) == (1, 2)


def test_record_outcome_on_missing_entry_fails(engine: Engine) -> None:
    """Recording an outcome for an unknown id is a StoreError naming the id."""
    with pytest.raises(StoreError, match="id 999 does not exist"), session_scope(engine) as session:
        kb.record_outcome(session, 999, success=True)


def test_record_outcome_is_safe_under_concurrency(engine: Engine) -> None:
    """Concurrent writers each add their outcome: no increment is lost."""
    with session_scope(engine) as session:
        kb.add_entry(session, _spec())
    entry_id = _entry_id(engine, "queue-stuck")

    def record(i: int) -> None:
        with session_scope(engine) as session:
            # Read first, as real callers do, so a read-modify-write bug would lose updates.
            kb.get_entry(session, "queue-stuck")
            kb.record_outcome(session, entry_id, success=i % 3 != 0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(record, range(60)))
    with session_scope(engine) as session:
        row = kb.get_entry(session, "queue-stuck")
    assert row is not None and (row.successes, row.failures) == (40, 20)


def _unmatched_incident() -> IncidentText:
    """An incident no default entry is about."""
    return IncidentText(
        title="Payment gateway 10.0.0.7 returned 502 for order 0xbeef",
        template="Payment gateway <IP> returned <NUM> for order <HEX>",
        samples=["ERROR payments Payment gateway 10.0.0.7 returned 502 for order 0xbeef"],
        service="payments",
        category="http",
    )


def test_resolution_becomes_an_entry_the_matcher_ranks_first(engine: Engine) -> None:
    """A person's fix for an unmatched incident becomes an entry that matches it next time."""
    incident = _unmatched_incident()
    with session_scope(engine) as session:
        kb.seed_defaults(session)
        row = kb.entry_from_resolution(
            session, title=incident.title, service=incident.service, category=incident.category,
            template=incident.template, solution="Fail over to the backup gateway.",
            success=True, action=None,
        )  # fmt: skip
    assert row.autonomy == AutonomyMode.SHADOW and row.origin == "learned"
    assert (row.successes, row.failures) == (1, 0)
    with session_scope(engine) as session:
        specs = [kb.to_spec(r) for r in kb.list_entries(session)]
    line = "Payment gateway 10.0.0.9 returned 504 for order 0xf00d"
    recurrence = incident.model_copy(update={"title": line, "samples": [f"ERROR payments {line}"]})
    best = rank_entries(recurrence, specs)[0]
    assert best.entry_key == row.key
    assert best.components["pattern"] == 1.0


def test_resolution_with_action_needs_approval_and_is_reused(engine: Engine) -> None:
    """A learned action needs approval (never auto); resolving again reuses the entry."""
    incident = _unmatched_incident()
    action = ActionSpec(name="restart_service", params={"service": "{{incident.service}}"})
    fields = {"title": incident.title, "service": incident.service,
              "category": incident.category, "template": incident.template,
              "solution": "Restart the payments service.", "action": action}  # fmt: skip
    with session_scope(engine) as session:
        first = kb.entry_from_resolution(session, success=True, **fields)  # type: ignore[arg-type]
    with session_scope(engine) as session:
        again = kb.entry_from_resolution(session, success=False, **fields)  # type: ignore[arg-type]
        count = len(kb.list_entries(session))
    assert first.autonomy == AutonomyMode.APPROVE
    assert again.id == first.id and count == 1
    assert (again.successes, again.failures) == (1, 1)


def test_resolution_needs_a_solution(engine: Engine) -> None:
    """A resolution without solution text is refused."""
    with (
        pytest.raises(ConfigError, match="the solution that was used"),
        session_scope(engine) as session,
    ):
        kb.entry_from_resolution(session, title="x", service="s", category="c", template="t",
                                 solution=" ", success=True, action=None)  # fmt: skip
