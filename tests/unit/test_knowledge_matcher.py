"""Matching incidents to knowledge entries, and free-text search of the knowledge base."""

from __future__ import annotations

import re

import pytest

from oncall_agent.knowledge.defaults import DEFAULT_ENTRIES
from oncall_agent.knowledge.matcher import IncidentText, rank_entries, search_entries
from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.knowledge.templates import learned_key, template_pattern

# Realistic incidents, as detection would hand them over: title, masked template, raw samples.
INCIDENTS: list[tuple[str, IncidentText]] = [
    ("spark-executor-oom", IncidentText(
        title="ExecutorLostFailure: Container killed by YARN for exceeding memory limits",
        template="ExecutorLostFailure (executor <NUM> exited caused by one of the running tasks) "
        "Reason: Container killed by YARN for exceeding memory limits. <NUM> GB of <NUM> GB "
        "physical memory used",
        samples=["ERROR YarnScheduler: Lost executor 7 on worker-3: Container killed by YARN for "
                 "exceeding memory limits. 5.5 GB of 5.5 GB physical memory used. Consider "
                 "boosting spark.yarn.executor.memoryOverhead."],
        service="etl-nightly", category="memory")),
    ("spark-executor-oom", IncidentText(
        title="Executor: Exception in task java.lang.OutOfMemoryError: Java heap space",
        template="ERROR Executor: Exception in task <NUM> in stage <NUM> (TID <NUM>) "
        "java.lang.OutOfMemoryError: Java heap space",
        samples=["24/05/01 12:00:01 ERROR Executor: Exception in task 3.0 in stage 2.0 (TID 15) "
                 "java.lang.OutOfMemoryError: Java heap space"],
        service="etl-nightly", category="memory")),
    ("airflow-task-timeout", IncidentText(
        title="AirflowTaskTimeout: Timeout, PID: 4242",
        template="airflow.exceptions.AirflowTaskTimeout: Timeout, PID: <NUM>",
        samples=["[2024-05-01, 02:00:00 UTC] {taskinstance.py:1937} ERROR - Task failed with "
                 "exception airflow.exceptions.AirflowTaskTimeout: Timeout, PID: 4242"],
        service="airflow", category="timeout")),
    ("db-connection-pool-exhausted", IncidentText(
        title="QueuePool limit of size 5 overflow 10 reached",
        template="sqlalchemy.exc.TimeoutError: QueuePool limit of size <NUM> overflow <NUM> "
        "reached, connection timed out, timeout <NUM>",
        samples=["2024-05-01 12:00:01 ERROR orders-api sqlalchemy.exc.TimeoutError: QueuePool "
                 "limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"],
        service="orders-api", category="database")),
    ("db-connection-pool-exhausted", IncidentText(
        title="FATAL: remaining connection slots are reserved for non-replication superuser "
        "connections",
        template="FATAL: remaining connection slots are reserved for non-replication superuser "
        "connections",
        samples=["psycopg.OperationalError: connection failed: FATAL:  remaining connection "
                 "slots are reserved for non-replication superuser connections"],
        service="billing", category="database")),
    ("disk-full", IncidentText(
        title="OSError: [Errno 28] No space left on device",
        template="OSError: [Errno <NUM>] No space left on device: <PATH>",
        samples=["OSError: [Errno 28] No space left on device: '/var/log/ingest/ingest.log'"],
        service="ingest", category="disk")),
    ("redis-connection-refused", IncidentText(
        title="redis.exceptions.ConnectionError: Error 111 connecting to redis:6379",
        template="redis.exceptions.ConnectionError: Error <NUM> connecting to <HOST>:<NUM>. "
        "Connection refused.",
        samples=["redis.exceptions.ConnectionError: Error 111 connecting to redis:6379. "
                 "Connection refused."],
        service="sessions", category="connection")),
    ("health-check-failing", IncidentText(
        title="Health check failed for orders-api: status 503",
        template="Health check failed for <*>: status <NUM>",
        samples=["WARN monitor Health check failed for orders-api: GET /healthz status 503"],
        service="orders-api", category="availability")),
    ("service-out-of-memory", IncidentText(
        title="Out of memory: Killed process 31337 (gunicorn)",
        template="Out of memory: Killed process <NUM> (gunicorn) total-vm:<NUM>kB",
        samples=["kernel: Out of memory: Killed process 31337 (gunicorn) total-vm:8123456kB"],
        service="orders-api", category="memory")),
    ("database-deadlock", IncidentText(
        title="ERROR: deadlock detected",
        template="ERROR: deadlock detected DETAIL: Process <NUM> waits for ShareLock on "
        "transaction <NUM>; blocked by process <NUM>.",
        samples=["ERROR:  deadlock detected DETAIL:  Process 123 waits for ShareLock on "
                 "transaction 456; blocked by process 789."],
        service="billing", category="database")),
    ("pg-lock-timeout", IncidentText(
        title="psycopg.errors.LockNotAvailable: canceling statement due to lock timeout",
        template="ERROR orders-api psycopg.errors.LockNotAvailable: canceling statement due to "
        "lock timeout",
        samples=["2024-05-01 12:00:01 ERROR orders-api psycopg.errors.LockNotAvailable: "
                 "canceling statement due to lock timeout"],
        service="orders-api", category="error")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("expected", "incident"), INCIDENTS, ids=[i.title[:40] for _, i in INCIDENTS]
)
def test_realistic_incident_ranks_its_entry_first(expected: str, incident: IncidentText) -> None:
    """For a realistic incident of each kind, the default entry written for it ranks first."""
    matches = rank_entries(incident, DEFAULT_ENTRIES)
    assert matches[0].entry_key == expected
    assert matches[0].components["pattern"] == 1.0


def test_every_default_entry_is_exercised() -> None:
    """The realistic incidents above cover every default entry."""
    assert {key for key, _ in INCIDENTS} == {e.key for e in DEFAULT_ENTRIES}


def test_scores_are_sorted_bounded_and_positive() -> None:
    """Matches come best first, with scores in (0, 1]."""
    matches = rank_entries(INCIDENTS[3][1], DEFAULT_ENTRIES)
    scores = [m.score for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_unrelated_incident_matches_nothing() -> None:
    """An incident sharing no pattern, word, service or category with any entry gets no match."""
    incident = IncidentText(title="zzz qqq", template="zzz qqq", service="x", category="y")
    assert rank_entries(incident, DEFAULT_ENTRIES) == []


def test_shared_category_alone_is_not_a_match() -> None:
    """A new kind of error that only shares its category with entries comes back unmatched."""
    incident = IncidentText(
        title="database: reconciliation failed in ledger",
        template="reconciliation failed for batch <NUM>: checksum mismatch expected=<VAL>",
        samples=["ERROR ledger reconciliation failed for batch 4242: checksum mismatch"],
        service="ledger",
        category="database",
    )
    assert rank_entries(incident, DEFAULT_ENTRIES) == []


def test_reasons_say_why() -> None:
    """The reasons name the pattern that matched, the category and the text similarity."""
    best = rank_entries(INCIDENTS[5][1], DEFAULT_ENTRIES)[0]
    assert "pattern 'No space left on device' matched the title" in best.reasons
    assert "category 'disk' is one the entry lists" in best.reasons
    assert any(r.startswith("text similarity 0.") for r in best.reasons)
    assert set(best.components) == {"pattern", "service", "category", "text"}


def test_listed_service_beats_generic_entry() -> None:
    """Of two entries with the same pattern, the one listing the incident's service wins."""
    generic = DEFAULT_ENTRIES[2]
    specific = generic.model_copy(update={"key": "orders-pool", "services": ["orders-api"]})
    matches = rank_entries(INCIDENTS[3][1], [generic, specific])
    assert [m.entry_key for m in matches] == ["orders-pool", generic.key]
    assert matches[0].components["service"] == 1.0


def test_wrong_service_lowers_the_score() -> None:
    """An entry listing other services scores below the same entry for any service."""
    generic = DEFAULT_ENTRIES[2]
    other = generic.model_copy(update={"key": "other-pool", "services": ["payments"]})
    scores = {m.entry_key: m.score for m in rank_entries(INCIDENTS[3][1], [generic, other])}
    assert scores["other-pool"] < scores[generic.key]


def test_empty_knowledge_base_gives_no_match() -> None:
    """Ranking against no entries returns an empty list."""
    assert rank_entries(INCIDENTS[0][1], []) == []


def test_search_finds_entry_by_words() -> None:
    """A few words find the entry about them first."""
    assert search_entries("disk full", DEFAULT_ENTRIES)[0].entry_key == "disk-full"
    assert search_entries("redis refused", DEFAULT_ENTRIES)[0].entry_key == (
        "redis-connection-refused"
    )


def test_search_finds_entry_by_pasted_log_line() -> None:
    """A pasted log line finds the entry whose pattern matches it."""
    line = "HikariPool-1 - Connection is not available, request timed out after 30000ms."
    best = search_entries(line, DEFAULT_ENTRIES)[0]
    assert best.entry_key == "db-connection-pool-exhausted"
    assert best.reasons[0].startswith("pattern 'HikariPool")


def test_search_without_hits_is_empty() -> None:
    """A query with nothing in common with any entry finds nothing."""
    assert search_entries("xyzzy", DEFAULT_ENTRIES) == []
    assert search_entries("   ", DEFAULT_ENTRIES) == []


def test_template_pattern_recognises_new_occurrences() -> None:
    """The regex learned from a masked template matches new lines of that template."""
    pattern = template_pattern("Payment gateway <IP> returned <NUM> for order <HEX>")
    assert pattern is not None
    assert re.search(pattern, "Payment gateway 10.0.0.7 returned 502 for order 0xbeef")
    assert re.search(pattern, "Payment  gateway 10.1.1.1 returned 504 for order ab12")
    assert not re.search(pattern, "Payment service restarted")


def test_template_pattern_escapes_regex_characters() -> None:
    """Regex characters in the template are taken literally."""
    pattern = template_pattern("job (nightly) failed [code <NUM>] a+b?")
    assert pattern is not None
    assert re.search(pattern, "job (nightly) failed [code 3] a+b?")
    assert not re.search(pattern, "job nightly failed code 3 aab")


def test_vague_template_gives_no_pattern() -> None:
    """A template that is almost all placeholders yields no pattern rather than a catch-all."""
    assert template_pattern("<*> <NUM> at <PATH>") is None


def test_learned_key_is_a_valid_entry_key() -> None:
    """Learned keys are stable and pass entry key validation."""
    key = learned_key("Payment Gateway: 502!", "payments", "http", "tmpl")
    assert key == learned_key("Payment Gateway: 502!", "payments", "http", "tmpl")
    assert key.startswith("learned-payment-gateway-502-")
    KnowledgeEntrySpec(key=key, title="t", solution="s")
