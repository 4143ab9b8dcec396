"""The real Airflow client: apache-airflow-client against Airflow 3's /api/v2, errors translated.

Calls go through the client's `*_without_preload_content` methods and the JSON is read into the
lenient models of `airflow_client` (this package's interface): the generated response models are
strict (a server one minor version apart fails validation) and drop the structured fields of
task logs (level, error_detail) that the source needs.

Authentication: a token from the block, or a JWT obtained from `POST {base_url}/auth/token` with
the username and password (what Airflow 3's simple and FAB auth managers serve); a call refused
with 401/403 logs in again once, since tokens expire.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
import urllib3
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi
from airflow_client.client.exceptions import OpenApiException
from airflow_client.client.models import (
    ClearTaskInstancesBody,
    ClearTaskInstancesBodyTaskIdsInner,
    DagRunMutableStates,
    DAGRunPatchBody,
    TriggerDAGRunPostBody,
)
from pydantic import BaseModel, ValidationError

from oncall_agent.errors import (
    ActionError,
    ActionTimeout,
    ConfigError,
    OncallError,
    SourceError,
    SourceUnavailable,
)
from oncall_agent.integrations.airflow_client import (
    AirflowDag,
    AirflowDagRun,
    AirflowLogRecord,
    AirflowTaskInstance,
)

M = TypeVar("M", bound=BaseModel)
PAGE = 100
MAX_PAGES = 50
_READ, _WRITE = "read", "write"


class AirflowRestClient:
    """AirflowClient over the REST API; every call carries the connection's timeout."""

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        verify_tls: bool = True,
        timeout_s: float = 30.0,
    ) -> None:
        """A client of the Airflow API server at BASE_URL (its root, without /api/v2)."""
        if not (token or (username and password)):
            raise ConfigError("Airflow connection: give a token, or a username and a password")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = float(timeout_s)
        self._login_with = (username, password) if username and password else None
        self._secrets = tuple(s for s in (password, token) if s)
        config = Configuration(host=self.base_url, access_token=token, verify_ssl=verify_tls)
        config.retries = 0  # one attempt per call; callers decide about retrying
        self._config = config
        self._verify_tls = verify_tls
        api = ApiClient(config)
        self._api = api
        self._dags, self._runs, self._tis = DAGApi(api), DagRunApi(api), TaskInstanceApi(api)

    def close(self) -> None:
        """Release the connection pool."""
        self._api.rest_client.pool_manager.clear()

    # -- reads ---------------------------------------------------------------------------

    def list_task_instances(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowTaskInstance]:
        """Task instances of any DAG in STATES that ended at or after ENDED_SINCE, oldest first."""
        body = self._call(
            "list task instances", _READ, self._tis.get_task_instances_without_preload_content,
            "~", "~", state=list(states), end_date_gte=ended_since, order_by=["end_date"],
            limit=limit, offset=offset,
        )  # fmt: skip
        return self._many("list task instances", _READ, AirflowTaskInstance, body, "task_instances")

    def list_dag_runs(
        self, *, states: Sequence[str], ended_since: datetime, limit: int, offset: int
    ) -> list[AirflowDagRun]:
        """Runs of every DAG in STATES that ended at or after ENDED_SINCE, oldest first."""
        body = self._call(
            "list DAG runs", _READ, self._runs.get_dag_runs_without_preload_content,
            "~", state=list(states), end_date_gte=ended_since, order_by=["end_date"],
            limit=limit, offset=offset,
        )  # fmt: skip
        return self._many("list DAG runs", _READ, AirflowDagRun, body, "dag_runs")

    def list_run_task_instances(
        self, dag_id: str, run_id: str, *, task_id: str | None = None
    ) -> list[AirflowTaskInstance]:
        """The task instances of one run (of one task only, with TASK_ID; all map indexes)."""
        found: list[AirflowTaskInstance] = []
        for page in range(MAX_PAGES):
            body = self._call(
                f"list the task instances of {dag_id} run {run_id}", _READ,
                self._tis.get_task_instances_without_preload_content, dag_id, run_id,
                task_id=task_id, limit=PAGE, offset=page * PAGE,
            )  # fmt: skip
            page_items = self._many("list task instances", _READ, AirflowTaskInstance, body,
                                    "task_instances")  # fmt: skip
            found += page_items
            if len(page_items) < PAGE:
                break
        return found

    def get_dag(self, dag_id: str) -> AirflowDag | None:
        """The DAG, or None if Airflow does not know it."""
        body = self._call(
            f"get DAG {dag_id}", _READ, self._dags.get_dag_without_preload_content, dag_id,
            missing_ok=True,
        )  # fmt: skip
        return None if body is None else self._one(f"get DAG {dag_id}", _READ, AirflowDag, body)

    def get_dag_run(self, dag_id: str, run_id: str) -> AirflowDagRun | None:
        """The run, or None if it does not exist."""
        body = self._call(
            f"get run {run_id} of {dag_id}", _READ,
            self._runs.get_dag_run_without_preload_content, dag_id, run_id, missing_ok=True,
        )  # fmt: skip
        return None if body is None else self._one("get a run", _READ, AirflowDagRun, body)

    def task_log(self, ti: AirflowTaskInstance, *, try_number: int) -> list[AirflowLogRecord]:
        """The log records of one try of TI, oldest first (structured records when available)."""
        body = self._call(
            f"read the log of {ti.label} try {try_number}", _READ,
            self._tis.get_log_without_preload_content, ti.dag_id, ti.run_id, ti.task_id,
            try_number, map_index=ti.map_index, _headers={"Accept": "application/json"},
        )  # fmt: skip
        return [record for item in body.get("content") or [] for record in _log_records(item)]

    # -- writes --------------------------------------------------------------------------

    def clear_task_instances(
        self,
        dag_id: str,
        run_id: str,
        task_ids: Sequence[str],
        *,
        include_downstream: bool,
        dry_run: bool,
        timeout_s: float | None = None,
    ) -> list[AirflowTaskInstance]:
        """Clear the failed instances of TASK_IDS in the run; those cleared (or, dry, to be)."""
        request = ClearTaskInstancesBody(
            dag_run_id=run_id,
            task_ids=[ClearTaskInstancesBodyTaskIdsInner(t) for t in task_ids],
            dry_run=dry_run,
            only_failed=True,
            include_downstream=include_downstream,
            reset_dag_runs=True,
        )
        body = self._call(
            f"clear {list(task_ids)} in {dag_id} run {run_id}", _WRITE,
            self._tis.post_clear_task_instances_without_preload_content, dag_id, request,
            timeout_s=timeout_s,
        )  # fmt: skip
        # A dry run may list tasks that have no instance yet (only a task_id): fill in the ids.
        defaults = {"dag_id": dag_id, "dag_run_id": run_id}
        return self._many("clear", _WRITE, AirflowTaskInstance, body, "task_instances", defaults)

    def set_dag_run_state(
        self, dag_id: str, run_id: str, state: str, *, timeout_s: float | None = None
    ) -> AirflowDagRun:
        """Mark the run STATE (success or failed); the run as it is afterwards."""
        body = self._call(
            f"mark run {run_id} of {dag_id} {state}", _WRITE,
            self._runs.patch_dag_run_without_preload_content, dag_id, run_id,
            DAGRunPatchBody(state=DagRunMutableStates(state)), update_mask=["state"],
            timeout_s=timeout_s,
        )  # fmt: skip
        return self._one(f"mark run {run_id} {state}", _WRITE, AirflowDagRun, body)

    def trigger_dag_run(
        self, dag_id: str, *, conf: dict[str, Any], note: str | None = None,
        timeout_s: float | None = None,
    ) -> AirflowDagRun:  # fmt: skip
        """Start a new run of the DAG with CONF; the run created."""
        # Airflow 3 wants logical_date sent explicitly; null lets it pick none (a manual run).
        request = TriggerDAGRunPostBody(logical_date=None, conf=conf, note=note)
        body = self._call(
            f"trigger {dag_id}", _WRITE, self._runs.trigger_dag_run_without_preload_content,
            dag_id, request, timeout_s=timeout_s,
        )  # fmt: skip
        return self._one(f"trigger {dag_id}", _WRITE, AirflowDagRun, body)

    # -- plumbing ------------------------------------------------------------------------

    def _call(
        self,
        what: str,
        kind: str,
        method: Callable[..., Any],
        *args: Any,
        missing_ok: bool = False,
        timeout_s: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """METHOD's JSON answer (None for a 404 if MISSING_OK), logging in when needed."""
        timeout = float(timeout_s or self.timeout_s)
        for attempt in (1, 2):
            if self._config.access_token is None and self._login_with:
                self._login(kind)
            response = self._send(what, kind, method, args, kwargs, timeout)
            status = response.status
            if status in (401, 403) and attempt == 1 and self._login_with:
                self._config.access_token = None  # expired or revoked: log in again, once
                continue
            break
        if 200 <= status < 300:
            return self._decode(what, kind, response.data)
        if status == 404 and missing_ok:
            return None
        raise self._refused(what, kind, status, response.data)

    def _send(
        self, what: str, kind: str, method: Callable[..., Any], args: tuple[Any, ...],
        kwargs: dict[str, Any], timeout: float,
    ) -> Any:  # fmt: skip
        """The raw response of one request, transport failures translated."""
        try:
            return method(*args, _request_timeout=timeout, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            raise self._unreachable(what, kind, exc, timeout) from exc
        except (OpenApiException, ValidationError, ValueError, TypeError) as exc:
            # The client refused to build the request (a value of the wrong type or shape).
            error = SourceError if kind == _READ else ActionError
            raise error(f"Airflow: could not {what}: {self._clean(str(exc))[:300]}") from exc

    def _login(self, kind: str) -> None:
        """Obtain a JWT with the username and password (POST /auth/token)."""
        assert self._login_with is not None
        username, password = self._login_with
        url = f"{self.base_url}/auth/token"
        try:
            reply = httpx.post(
                url, json={"username": username, "password": password},
                timeout=self.timeout_s, verify=self._verify_tls, trust_env=False,
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise self._unreachable(f"log in at {url}", kind, exc, self.timeout_s) from exc
        if reply.status_code in (400, 401, 403, 404, 415, 422):
            raise ConfigError(
                f"Airflow at {self.base_url} refused the login of user {username!r} "
                f"(HTTP {reply.status_code}): check the AirflowConnection block's username "
                "and password (or give a token)"
            )
        if reply.status_code >= 300:
            raise self._refused(f"log in at {url}", kind, reply.status_code, reply.content)
        token = reply.json().get("access_token")
        if not isinstance(token, str) or not token:
            raise ConfigError(f"Airflow at {url} answered the login without an access_token")
        self._config.access_token = token

    def _one(self, what: str, kind: str, model: type[M], body: Any) -> M:
        """BODY read into MODEL; an answer of another shape is an error of the call's kind."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            error = SourceError if kind == _READ else ActionError
            raise error(
                f"Airflow at {self.base_url}: unexpected answer to {what}: {exc}"[:500]
            ) from exc

    def _many(
        self, what: str, kind: str, model: type[M], body: Any, key: str,
        defaults: dict[str, Any] | None = None,
    ) -> list[M]:  # fmt: skip
        """The list under KEY of BODY, each item (over DEFAULTS) read into MODEL."""
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            error = SourceError if kind == _READ else ActionError
            raise error(f"Airflow at {self.base_url}: the answer to {what} has no {key!r} list")
        base = defaults or {}
        return [
            self._one(what, kind, model, base | item if isinstance(item, dict) else item)
            for item in items
        ]

    def _decode(self, what: str, kind: str, data: bytes) -> Any:
        """The JSON body of a successful answer."""
        try:
            return json.loads(data)
        except ValueError as exc:
            error = SourceError if kind == _READ else ActionError
            raise error(f"Airflow: {what}: the answer is not JSON: {data[:200]!r}") from exc

    def _unreachable(self, what: str, kind: str, exc: Exception, timeout: float) -> OncallError:
        """The error for a request that got no answer (refused, reset, timed out)."""
        cause = getattr(exc, "reason", None) or exc
        detail = f"Airflow at {self.base_url} did not answer ({what}): {self._clean(str(cause))}"
        if kind == _READ:
            return SourceUnavailable(detail[:500])
        if isinstance(cause, urllib3.exceptions.ReadTimeoutError | httpx.ReadTimeout):
            # The request went out: Airflow may have done it. Say so instead of guessing.
            return ActionTimeout(
                f"{detail[:400]}; no answer within {timeout:g}s, so it may or may not have "
                "been done: check Airflow before trying again"
            )
        return ActionError(detail[:500])

    def _refused(self, what: str, kind: str, status: int, data: bytes) -> OncallError:
        """The error for an answer that is not a success."""
        detail = self._clean(data.decode("utf-8", errors="replace"))[:300]
        message = f"Airflow at {self.base_url} refused to {what} (HTTP {status}): {detail}"
        if status in (401, 403):
            return ConfigError(
                f"{message}; check the AirflowConnection block's credentials and the user's role"
            )
        if kind == _READ:
            return SourceUnavailable(message) if status >= 500 else SourceError(message)
        return ActionError(message)

    def _clean(self, text: str) -> str:
        """TEXT without the connection's password or token."""
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text


def _log_records(item: Any) -> list[AirflowLogRecord]:
    """The records of one log item: a structured message, or plain text from older servers."""
    if not isinstance(item, dict):
        return [AirflowLogRecord(event=line) for line in str(item).splitlines() if line.strip()]
    error = None
    details = item.get("error_detail")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        # The first exception listed is the one raised; the rest are its causes.
        error = f"{details[0].get('exc_type', 'Exception')}: {details[0].get('exc_value', '')}"
    record = AirflowLogRecord(
        event=str(item.get("event", "")),
        timestamp=item.get("timestamp"),
        level=item.get("level"),
        error=error,
    )
    return [record]
