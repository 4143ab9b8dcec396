"""Parameter checks of the Airflow actions, and waiting for a run to finish.

Identifiers are checked against Airflow's own rules before any request: DAG and task ids are
letters, digits, `_ . -` (Airflow's KEY_REGEX, ASCII only here); run ids follow Airflow's
default `allowed_run_id_pattern`; neither may start with `-` or `.`. A DAG must also match one
of the executor config's `airflow_allowed_dags` globs (empty: no DAG at all, deny by default).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import time
from collections.abc import Callable
from typing import Any

from oncall_agent.errors import ActionRejected, SourceError, VerificationError
from oncall_agent.integrations.airflow_client import RUN_FINISHED_STATES, AirflowClient
from oncall_agent.models import VerificationResult

AIRFLOW_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}")
# Both start with a letter, digit or "_": never an option-like "-x", nor "." or ".." (a URL
# path segment that could walk up the API's paths).
AIRFLOW_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~:+-]{0,249}")
MAX_CONF_BYTES = 64 * 1024
MAX_POLL_INTERVAL_S = 15.0


def airflow_id(action: str, params: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    """params[NAME] if it is a string Airflow accepts as that id; ActionRejected otherwise."""
    value = params.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value)[:120]
        raise ActionRejected(
            f"{action}: parameter {name!r} must be an Airflow id "
            f"(letters, digits and {'_.~:+-' if pattern is AIRFLOW_RUN_ID else '_.-'}), "
            f"got {shown}"
        )
    return value


def flag(action: str, params: dict[str, Any], name: str, default: bool) -> bool:
    """params[NAME] as a boolean (DEFAULT if absent); only true booleans are accepted."""
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise ActionRejected(f"{action}: parameter {name!r} must be true or false, got {value!r}")
    return value


def one_of(action: str, params: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """params[NAME] if it is one of CHOICES."""
    value = params.get(name)
    if value not in choices:
        raise ActionRejected(
            f"{action}: parameter {name!r} must be one of {list(choices)}, got {value!r}"
        )
    return str(value)


def run_conf(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """params["conf"] (default {}) if it is a JSON object of at most MAX_CONF_BYTES."""
    conf = params.get("conf", {})
    if not isinstance(conf, dict):
        raise ActionRejected(f"{action}: parameter 'conf' must be a mapping, got {conf!r}"[:200])
    try:
        size = len(json.dumps(conf, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise ActionRejected(f"{action}: parameter 'conf' is not plain JSON: {exc}") from exc
    if size > MAX_CONF_BYTES:
        raise ActionRejected(f"{action}: 'conf' is {size} bytes; at most {MAX_CONF_BYTES}")
    return dict(conf)


def check_dag_allowed(action: str, dag_id: str, allowed: list[str]) -> None:
    """Refuse DAG_ID unless one of the ALLOWED globs matches it (an empty list allows none)."""
    if not allowed:
        raise ActionRejected(
            f"{action}: no DAG may be touched (airflow_allowed_dags is empty); add {dag_id!r} "
            "or a glob matching it to the executor config to allow it"
        )
    if not any(fnmatch.fnmatchcase(dag_id, glob) for glob in allowed):
        raise ActionRejected(
            f"{action}: DAG {dag_id!r} is not in airflow_allowed_dags {allowed}; "
            "add it (or a glob matching it) to the executor config to allow it"
        )


def poll_setting(action: str, verify: dict[str, Any], key: str, default: float) -> float:
    """verify[KEY] as a non-negative, finite number of seconds (DEFAULT if absent)."""
    value = verify.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise VerificationError(f"{action}: verify {key!r} must be a number, got {value!r}")
    if value < 0:
        raise VerificationError(f"{action}: verify {key!r} must not be negative, got {value}")
    return float(value)


def wait_for_run(
    client: AirflowClient,
    dag_id: str,
    run_id: str,
    *,
    wanted: str,
    within_s: float,
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> VerificationResult:
    """Poll the run until it is finished (or in WANTED) or WITHIN_S passes; ok if in WANTED."""
    deadline = time.monotonic() + within_s
    state = "unknown"
    while True:
        try:
            run = client.get_dag_run(dag_id, run_id)
        except SourceError as exc:
            raise VerificationError(f"could not read run {run_id} of {dag_id}: {exc}") from exc
        if run is None:
            return VerificationResult(ok=False, detail=f"run {run_id} of {dag_id} is gone")
        state = run.state
        if state == wanted or state in RUN_FINISHED_STATES:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sleep(min(interval_s, left))
        # Back off: a long run should not be asked about every second for an hour.
        interval_s = min(max(interval_s, 0.5) * 1.5, MAX_POLL_INTERVAL_S)
    finished = state == wanted or state in RUN_FINISHED_STATES
    detail = f"run {run_id} of {dag_id} is {state}"
    if not finished:
        detail += f" after {within_s:g}s (verification stopped waiting; the run goes on)"
    data = {"dag_id": dag_id, "run_id": run_id, "state": state}
    return VerificationResult(ok=state == wanted, detail=detail, data=data)
