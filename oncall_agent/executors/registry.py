"""The one place an action name becomes an executor; anything unknown or unconfigured is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.airflow import (
    AirflowClearTaskExecutor,
    AirflowMarkRunExecutor,
    AirflowTriggerDagExecutor,
)
from oncall_agent.executors.base import Executor
from oncall_agent.executors.cleanup import CleanupFilesExecutor
from oncall_agent.executors.config import ExecutorConfig
from oncall_agent.executors.http_call import HttpCallExecutor
from oncall_agent.executors.postgres import TerminateQueriesExecutor
from oncall_agent.executors.restart import RestartServiceExecutor
from oncall_agent.executors.run_command import RunCommandExecutor
from oncall_agent.executors.spark import SparkResubmitExecutor

_FACTORIES: dict[str, Callable[..., Executor]] = {
    "run_command": RunCommandExecutor,
    "http_call": HttpCallExecutor,
    "cleanup_files": CleanupFilesExecutor,
    "restart_service": RestartServiceExecutor,
}

# The config field each action needs, and what to tell the user when it is empty.
_REQUIRED: dict[str, tuple[str, str]] = {
    "run_command": ("command_templates", "add the command to command_templates"),
    "http_call": ("http_allowed_prefixes", "add the URL prefix to http_allowed_prefixes"),
    "cleanup_files": ("cleanup_roots", "add the directory to cleanup_roots"),
    "restart_service": ("services", "add the service to services"),
}

# Executors that talk to an external system get its client (built by a block) by this name:
# action name -> (client name, factory(config, client, secrets=, output_limit=)).
_CLIENT_FACTORIES: dict[str, tuple[str, Callable[..., Executor]]] = {
    "airflow_clear_task": ("airflow", AirflowClearTaskExecutor),
    "airflow_mark_run": ("airflow", AirflowMarkRunExecutor),
    "airflow_trigger_dag": ("airflow", AirflowTriggerDagExecutor),
    "terminate_queries": ("postgres", TerminateQueriesExecutor),
    "spark_resubmit": ("spark", SparkResubmitExecutor),
}

ACTION_NAMES = tuple(sorted({*_FACTORIES, *_CLIENT_FACTORIES}))


def build_executor(
    name: str,
    config: ExecutorConfig,
    *,
    secrets: Iterable[str] = (),
    output_limit: int | None = None,
    clients: Mapping[str, Any] | None = None,
) -> Executor:
    """The executor for action NAME; ActionRejected if the action is unknown or not configured."""
    if name in _CLIENT_FACTORIES:
        client_name, client_factory = _CLIENT_FACTORIES[name]
        client = (clients or {}).get(client_name)
        if client is None:
            raise ActionRejected(
                f"action {name!r} needs a {client_name} connection: name its block in the "
                f"ActionTargets block's connections"
            )
        return client_factory(config, client, secrets=secrets, output_limit=output_limit)
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ActionRejected(f"unknown action {name!r}; known actions: {list(ACTION_NAMES)}")
    field, hint = _REQUIRED[name]
    if not getattr(config, field):
        raise ActionRejected(
            f"action {name!r} is not configured: the executor config's {field} is empty ({hint})"
        )
    return factory(config, secrets=secrets, output_limit=output_limit)


def configured_actions(
    config: ExecutorConfig, clients: Mapping[str, Any] | None = None
) -> set[str]:
    """The action names CONFIG allows at all (non-empty allow-list, or a configured client)."""
    allowed = {name for name, (field, _) in _REQUIRED.items() if getattr(config, field)}
    names = set(clients or {})
    if not config.airflow_allowed_dags:
        names.discard("airflow")  # deny by default: no DAG listed, no Airflow action
    return allowed | {a for a, (client, _) in _CLIENT_FACTORIES.items() if client in names}
