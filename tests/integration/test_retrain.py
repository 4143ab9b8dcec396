"""Retraining on SQLite and PostgreSQL: versions, the promotion rule, hashes, rollback,
human corrections, and the model's answers through `oncall recommend`'s core."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from oncall_agent.errors import ConfigError
from oncall_agent.learning.dataset import build_examples
from oncall_agent.learning.importer import import_history
from oncall_agent.learning.recommend import answer_rows, read_queries
from oncall_agent.learning.records import read_history
from oncall_agent.learning.registry import (
    _CACHE,
    ModelIntegrityError,
    current_model,
    list_versions,
    load_model,
    rollback,
)
from oncall_agent.learning.synth import generate, write_csv
from oncall_agent.learning.training import retrain
from oncall_agent.store.engine import session_scope
from oncall_agent.store.tables import Incident

pytestmark = pytest.mark.integration


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> Engine:
    """ENGINE with a generated history imported (seed 13, a quarter of the usual rates)."""
    history = generate(13, "a", days=150, scale=0.25)
    write_csv(history.train, tmp_path / "train.csv")
    write_csv(history.test, tmp_path / "test.csv", with_outcome=False)
    write_csv(history.test, tmp_path / "later.csv")
    import_history(engine, read_history(tmp_path / "train.csv"))
    return engine


def test_retrain_saves_a_hashed_current_model_that_answers_new_incidents(
    imported: Engine, tmp_path: Path
) -> None:
    """The first model is promoted, scored on the newest 20 %, and recommends known fixes."""
    report = retrain(imported, tmp_path / "models")
    assert report.promoted and report.version == 1 and report.reason == "no current model"
    assert report.holdout_rows == pytest.approx(report.rows * 0.2, abs=1)
    assert 0.0 <= report.metrics.ece <= 1.0 and report.metrics.coverage > 0.5
    loaded = current_model(imported)
    assert loaded is not None and loaded[0].version == 1 and len(loaded[0].sha256) == 64
    answers = answer_rows(loaded[1], list(read_queries(tmp_path / "test.csv")))
    assert sum(a.solution is not None and a.entry is not None for a in answers) > len(answers) / 2


def test_a_retrain_after_new_history_is_judged_on_rows_the_current_never_saw(
    imported: Engine, tmp_path: Path
) -> None:
    """v2 is compared with v1 on the newer rows only, promoted by the stated rule; rollback
    brings back the other version."""
    first = retrain(imported, tmp_path / "models")
    import_history(imported, read_history(tmp_path / "later.csv"))
    second = retrain(imported, tmp_path / "models")
    assert second.baseline is not None
    assert 30 <= second.compared_rows < second.holdout_rows
    with session_scope(imported) as session:
        statuses = [v.status for v in list_versions(session)]
    assert statuses == (["current", "retired"] if second.promoted else ["candidate", "current"])
    target = first.version if second.promoted else second.version
    with session_scope(imported) as session:
        assert rollback(session, target, actor="tester").version == target
    loaded = current_model(imported)
    assert loaded is not None and loaded[0].version == target


def test_the_same_data_twice_is_judged_on_rows_the_current_has_seen(
    imported: Engine, tmp_path: Path
) -> None:
    """With nothing new, both answer the whole holdout, which the current was trained on: the
    comparison favours the current, and the verdict follows the stated rule."""
    retrain(imported, tmp_path / "models")
    second = retrain(imported, tmp_path / "models")
    assert second.baseline is not None and second.compared_rows == second.holdout_rows
    assert ("not worse" in second.reason) == second.promoted


def test_a_model_file_changed_after_saving_is_refused(imported: Engine, tmp_path: Path) -> None:
    """Loading a model whose file's sha256 differs from the recorded one fails, naming it."""
    retrain(imported, tmp_path / "models")
    with session_scope(imported) as session:
        row = list_versions(session)[0]
        session.expunge(row)
    _CACHE.clear()
    with Path(row.path).open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelIntegrityError, match="refusing to load"):
        load_model(row)


def test_corrections_override_stored_labels(imported: Engine) -> None:
    """A person's correction replaces the stored solution and outcome of that incident."""
    with session_scope(imported) as session:
        first = session.exec(select(Incident).order_by(Incident.id)).first()
        assert first is not None and first.id is not None
        examples = build_examples(session, {first.id: ("fixed-by-hand", False)})
    corrected = next(e for e in examples if e.incident_id == first.id)
    assert (corrected.solution, corrected.success) == ("fixed-by-hand", False)


def test_retrain_without_history_says_what_to_do(engine: Engine, tmp_path: Path) -> None:
    """An empty store cannot train: the error says to import history first."""
    with pytest.raises(ConfigError, match="oncall history import"):
        retrain(engine, tmp_path / "models")


def test_the_agents_verified_outcome_is_a_training_example(engine: Engine) -> None:
    """A detected incident whose action was verified teaches its entry's key and the outcome."""
    from oncall_agent.store.knowledge import seed_defaults
    from oncall_agent.store.tables import ActionRun, KnowledgeEntry, utcnow

    now = utcnow()
    with session_scope(engine) as session:
        seed_defaults(session)
        entry = session.exec(select(KnowledgeEntry)).first()
        assert entry is not None and entry.id is not None
        incident = Incident(
            fingerprint="a" * 40, title="pool exhausted", service="api", severity="error",
            category="error", status="resolved", first_seen=now, last_seen=now,
            knowledge_entry_id=entry.id,
        )  # fmt: skip
        session.add(incident)
        session.flush()
        session.add(ActionRun(idempotency_key="k1", incident_id=incident.id,
                              knowledge_entry_id=entry.id, action="restart_service",
                              status="succeeded", verified=True))  # fmt: skip
        session.add(ActionRun(idempotency_key="k2", incident_id=incident.id,
                              knowledge_entry_id=entry.id, action="restart_service",
                              status="succeeded", verified=True, dry_run=True))  # fmt: skip
        session.flush()
        examples = build_examples(session)
        key = entry.key
    assert [(e.solution, e.success, e.entry_key) for e in examples] == [(key, True, key)]


def test_feedback_and_false_positives_reach_the_training_set(imported: Engine) -> None:
    """`oncall feedback --wrong` flips an outcome and a false-positive mark drops the incident."""
    from oncall_agent.learning.false_positives import mark_false_positive
    from oncall_agent.learning.feedback import Verdict, record_feedback

    with session_scope(imported) as session:
        before = {e.incident_id: e for e in build_examples(session)}
        worked = [i for i, e in before.items() if e.success]
        first, second = worked[0], worked[1]
        record_feedback(session, first, Verdict.WRONG, actor="alice")
        mark_false_positive(session, second, reason="synthetic probe", actor="alice")
    with session_scope(imported) as session:
        after = {e.incident_id: e for e in build_examples(session)}
    assert after[first].success is False
    assert after[first].solution == before[first].solution
    assert second not in after
