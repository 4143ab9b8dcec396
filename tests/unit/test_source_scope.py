"""What each source lets actions use: configured values only, never a line's claims alone."""

from __future__ import annotations

from pathlib import Path

from oncall_agent.integrations.es_client import SearchHit
from oncall_agent.integrations.es_documents import EsFields, hit_to_event
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.scope import TargetScope
from oncall_agent.sources.spark import SparkDriverLogSource


def test_scope_denies_by_default_and_selects_only_listed_values() -> None:
    """An empty scope allows nothing; listed services and globbed values are the only targets."""
    parsed = {"dag_id": "billing_close", "run_id": "r1"}
    assert TargetScope().targets(None, "payments-db", parsed) == {}
    scope = TargetScope(services=["api"], attributes={"dag_id": ["etl_*"], "run_id": ["*"]})
    assert scope.targets(None, "payments-db", parsed) == {"run_id": "r1"}
    assert scope.targets(None, "api", {"dag_id": "etl_daily"}) == {
        "service": "api",
        "dag_id": "etl_daily",
    }
    assert scope.targets("orders", "payments-db", {}) == {"service": "orders"}  # fixed wins


def test_an_elasticsearch_document_does_not_choose_its_target() -> None:
    """A document's service.name is shown, but a target only when the scope lists it."""
    hit = SearchHit(
        index="logs", doc_id="1", sort=[1_700_000_000_000],
        source={"message": "health check failed", "service": {"name": "payments-db"},
                "app_id": "application_1700000000_0001"},
    )  # fmt: skip
    fields = EsFields(attributes={"app_id": "app_id"})
    plain = hit_to_event(hit, fields, "logs-*")
    assert plain.service == "payments-db" and plain.targets == {}
    scoped = hit_to_event(
        hit, fields, "logs-*", TargetScope(services=["payments-db"], attributes={"app_id": ["*"]})
    )
    assert scoped.targets == {"service": "payments-db", "app_id": "application_1700000000_0001"}


def test_a_spark_driver_log_announcing_an_app_id_gives_no_target_unless_allowed(
    tmp_path: Path,
) -> None:
    """An app id read from a driver log is an attribute; a target only if the scope allows it."""
    log = tmp_path / "driver.log"
    log.write_text(
        "26/11/27 03:00:00 INFO Submitted application application_1700000000_0042\n"
        "26/11/27 03:00:01 ERROR Lost executor 1: java.lang.OutOfMemoryError\n"
    )
    plain = SparkDriverLogSource(FileSource([str(log)], flush_after_s=0)).read({}).events
    assert plain[-1].attributes["app_id"] == "application_1700000000_0042"
    assert "app_id" not in plain[-1].targets
    scope = TargetScope(attributes={"app_id": ["application_*"]})
    allowed = SparkDriverLogSource(FileSource([str(log)], flush_after_s=0, scope=scope))
    assert allowed.read({}).events[-1].targets["app_id"] == "application_1700000000_0042"
