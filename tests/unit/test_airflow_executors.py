"""The Airflow actions without Airflow: parameter checks, allow-lists, dry runs, verification."""

from __future__ import annotations

import pytest

from oncall_agent.errors import ActionError, ActionRejected, ActionTimeout, VerificationError
from oncall_agent.executors.config import ExecutorConfig, load_executor_config
from oncall_agent.executors.registry import build_executor, configured_actions
from oncall_agent.integrations.airflow_client import AirflowDag
from oncall_agent.models import ActionStatus
from tests.unit.airflow_fake import FakeAirflow

CLEAR = {"dag_id": "etl", "task_id": "load", "run_id": "manual__2026-11-27T03:00:00+00:00"}
BAD_IDS = [
    "", " ", "-rf", ".", "..", "../etl", "etl/../../x", "etl;rm -rf /", "$(touch /tmp/x)",
    "`id`", "etl\nload", "etl\x00", "\uff45\uff54\uff4c", "*", "a" * 251, 42, None, ["etl"],
    {"dag": "etl"}, True,
]  # fmt: skip


def _airflow() -> FakeAirflow:
    """A fake Airflow with a run of etl whose `load` failed and `publish` never ran."""
    fake = FakeAirflow()
    fake.dags["etl"] = AirflowDag(dag_id="etl")
    fake.dags["paused"] = AirflowDag(dag_id="paused", is_paused=True)
    fake.add_run("etl", CLEAR["run_id"], "failed", 30)
    fake.add_ti("etl", CLEAR["run_id"], "load", "failed", 10)
    fake.add_ti("etl", CLEAR["run_id"], "publish", "upstream_failed", 11)
    return fake


def _executor(name: str, fake: FakeAirflow, allowed: list[str] | None = None):
    """Executor NAME from the registry, acting on FAKE."""
    config = ExecutorConfig(airflow_allowed_dags=["*"] if allowed is None else allowed)
    return build_executor(name, config, secrets=["s3cret"], clients={"airflow": fake})


@pytest.mark.parametrize("field", ["dag_id", "task_id", "run_id"])
@pytest.mark.parametrize("value", BAD_IDS, ids=repr)
def test_clear_refuses_every_id_airflow_would_not_accept(field: str, value: object) -> None:
    """Ids with paths, options, shell, control or look-alike characters are refused, unsent."""
    fake = _airflow()
    with pytest.raises(ActionRejected, match=f"parameter '{field}'"):
        _executor("airflow_clear_task", fake).plan(CLEAR | {field: value})
    assert fake.calls == []


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("airflow_clear_task", CLEAR | {"only_failed": False}, "unknown parameter"),
        ("airflow_clear_task", CLEAR | {"include_downstream": "yes"}, "true or false"),
        ("airflow_mark_run", {"dag_id": "etl", "run_id": "r", "state": "running"}, "one of"),
        ("airflow_mark_run", {"dag_id": "etl", "run_id": "r"}, "one of"),
        ("airflow_trigger_dag", {"dag_id": "etl", "conf": "x=1"}, "must be a mapping"),
        ("airflow_trigger_dag", {"dag_id": "etl", "conf": {"n": float("nan")}}, "plain JSON"),
        ("airflow_trigger_dag", {"dag_id": "etl", "conf": {"b": "x" * 70000}}, "at most"),
        ("airflow_trigger_dag", {"dag_id": "etl", "run_id": "mine"}, "unknown parameter"),
    ],
)
def test_malformed_parameters_are_refused_before_any_request(
    name: str, params: dict, message: str
) -> None:
    """Unknown keys, non-booleans, states outside the list, bad conf: refused, nothing sent."""
    fake = _airflow()
    with pytest.raises(ActionRejected, match=message):
        _executor(name, fake).plan(params)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("airflow_clear_task", CLEAR),
        ("airflow_mark_run", {"dag_id": "etl", "run_id": CLEAR["run_id"], "state": "success"}),
        ("airflow_trigger_dag", {"dag_id": "etl"}),
    ],
)
def test_a_dag_outside_the_allow_list_is_refused_before_any_request(
    name: str, params: dict
) -> None:
    """With airflow_allowed_dags set, any other DAG is refused, naming the setting to change."""
    fake = _airflow()
    with pytest.raises(ActionRejected, match="not in airflow_allowed_dags"):
        _executor(name, fake, allowed=["sales_*"]).plan(params)
    assert fake.calls == []


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("airflow_clear_task", CLEAR),
        ("airflow_mark_run", {"dag_id": "etl", "run_id": CLEAR["run_id"], "state": "success"}),
        ("airflow_trigger_dag", {"dag_id": "etl"}),
    ],
)
def test_an_empty_dag_allow_list_allows_no_dag(name: str, params: dict) -> None:
    """Deny by default: with airflow_allowed_dags empty every DAG is refused and nothing is sent."""
    fake = _airflow()
    with pytest.raises(ActionRejected, match="airflow_allowed_dags is empty"):
        _executor(name, fake, allowed=[]).plan(params)
    assert fake.calls == []
    config = ExecutorConfig()
    assert not configured_actions(config, {"airflow": fake}) & {name}


def test_clear_refuses_a_task_that_is_not_failed() -> None:
    """A task waiting for its retry, or that succeeded, is not cleared."""
    fake = _airflow()
    fake.set_ti_state("etl", CLEAR["run_id"], "load", "up_for_retry")
    with pytest.raises(ActionRejected, match=r"only failed task instances .* \['up_for_retry'\]"):
        _executor("airflow_clear_task", fake).plan(CLEAR)


def test_clear_dry_run_uses_airflows_dry_run_and_changes_nothing() -> None:
    """The dry run lists what Airflow would clear (downstream too, by default); nothing changes."""
    fake = _airflow()
    executor = _executor("airflow_clear_task", fake, allowed=["etl"])
    plan = executor.plan(CLEAR)
    result = executor.run(plan, dry_run=True, timeout_s=5)
    assert result.status is ActionStatus.DRY_RUN
    assert result.details["would_clear"] == ["load (failed)", "publish (upstream_failed)"]
    assert "clear(dry_run=True)" in fake.calls and "clear(dry_run=False)" not in fake.calls
    assert fake.runs[0].state == "failed"
    narrow = executor.plan(CLEAR | {"include_downstream": False})
    assert executor.run(narrow, dry_run=True, timeout_s=5).details["would_clear"] == [
        "load (failed)"
    ]


def test_clear_then_verify_follows_the_run_to_success() -> None:
    """A real clear resets the run; verification reports the state the run reaches."""
    fake = _airflow()
    executor = _executor("airflow_clear_task", fake)
    plan = executor.plan(CLEAR)
    result = executor.run(plan, dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.SUCCEEDED
    waiting = executor.verify(plan, result, {"within_s": 0})
    assert not waiting.ok and "queued after 0s" in waiting.detail
    fake.set_run_state("etl", CLEAR["run_id"], "success")
    assert executor.verify(plan, result, {"within_s": 5}).ok
    fake.set_run_state("etl", CLEAR["run_id"], "failed")
    assert not executor.verify(plan, result, {"within_s": 5}).ok


def test_a_plan_made_stale_by_airflow_is_refused_at_run_time() -> None:
    """If the task stopped being failed between plan and run, the run is refused, not sent."""
    fake = _airflow()
    executor = _executor("airflow_clear_task", fake)
    plan = executor.plan(CLEAR)
    fake.set_ti_state("etl", CLEAR["run_id"], "load", "running")
    with pytest.raises(ActionRejected, match="only failed"):
        executor.run(plan, dry_run=False, timeout_s=5)
    assert "clear(dry_run=False)" not in fake.calls


def test_a_change_request_without_an_answer_is_unknown_not_failed() -> None:
    """A clear whose request timed out may have happened: the result is UNKNOWN."""
    fake = _airflow()
    fake.write_error = ActionTimeout("no answer within 5s")
    executor = _executor("airflow_clear_task", fake)
    result = executor.run(executor.plan(CLEAR), dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.UNKNOWN and result.details["timed_out"] is True


def test_a_refused_change_request_raises_action_error() -> None:
    """Airflow refusing the request is an ActionError the caller records as a failure."""
    fake = _airflow()
    fake.write_error = ActionError("Airflow refused to clear (HTTP 409)")
    executor = _executor("airflow_clear_task", fake)
    with pytest.raises(ActionError, match="HTTP 409"):
        executor.run(executor.plan(CLEAR), dry_run=False, timeout_s=5)


def test_mark_run_previews_then_marks_and_reads_the_state_back() -> None:
    """The dry run names the unfinished tasks Airflow would set; the real run is verified."""
    fake = _airflow()
    fake.add_run("etl", "r2", "running")
    fake.add_ti("etl", "r2", "load", "running", 5)
    executor = _executor("airflow_mark_run", fake)
    plan = executor.plan({"dag_id": "etl", "run_id": "r2", "state": "failed"})
    preview = executor.run(plan, dry_run=True, timeout_s=5)
    assert preview.details["unfinished"] == ["load (running)"]
    assert fake.runs[-1].state == "running"
    result = executor.run(plan, dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.SUCCEEDED and executor.verify(plan, result, {}).ok
    with pytest.raises(ActionRejected, match="already failed"):
        executor.plan({"dag_id": "etl", "run_id": "r2", "state": "failed"})


def test_trigger_refuses_paused_and_unknown_dags_and_verifies_its_run() -> None:
    """A paused or unknown DAG is refused; a triggered run is followed to its end."""
    fake = _airflow()
    executor = _executor("airflow_trigger_dag", fake)
    with pytest.raises(ActionRejected, match="paused"):
        executor.plan({"dag_id": "paused"})
    with pytest.raises(ActionRejected, match="no DAG 'nope'"):
        executor.plan({"dag_id": "nope"})
    plan = executor.plan({"dag_id": "etl", "conf": {"day": "2026-11-27"}})
    assert executor.run(plan, dry_run=True, timeout_s=5).status is ActionStatus.DRY_RUN
    assert "trigger_dag_run" not in fake.calls
    result = executor.run(plan, dry_run=False, timeout_s=5)
    fake.set_run_state("etl", result.details["run_id"], "success")
    assert executor.verify(plan, result, {"interval_s": 0.1}).ok


def test_verification_settings_are_checked() -> None:
    """Unknown or negative verify settings are a VerificationError; a dry run verifies nothing."""
    fake = _airflow()
    executor = _executor("airflow_clear_task", fake)
    plan = executor.plan(CLEAR)
    dry = executor.run(plan, dry_run=True, timeout_s=5)
    assert executor.verify(plan, dry, {}).ok is False
    result = executor.run(plan, dry_run=False, timeout_s=5)
    with pytest.raises(VerificationError, match="unknown verify"):
        executor.verify(plan, result, {"wait": 5})
    with pytest.raises(VerificationError, match="must not be negative"):
        executor.verify(plan, result, {"within_s": -1})


def test_airflow_actions_need_the_airflow_connection() -> None:
    """Without an Airflow client the actions are neither available nor buildable."""
    config = load_executor_config({"airflow_allowed_dags": ["etl_*"]})
    assert not {"airflow_clear_task"} & configured_actions(config)
    assert {"airflow_clear_task", "airflow_mark_run", "airflow_trigger_dag"} <= configured_actions(
        config, {"airflow": FakeAirflow()}
    )
    with pytest.raises(ActionRejected, match="needs a airflow connection"):
        build_executor("airflow_clear_task", config)
