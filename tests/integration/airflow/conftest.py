"""The real Airflow of the Airflow tests: installed once per machine, started once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oncall_agent.integrations.airflow_rest import AirflowRestClient
from tests.integration.airflow.server import (
    AirflowServer,
    AirflowUnavailable,
    ensure_airflow,
    start_airflow,
)

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowServer]:
    """`airflow standalone` on 127.0.0.1 (SQLite, fresh home) for the whole session."""
    try:
        airflow = ensure_airflow()
    except AirflowUnavailable as exc:
        pytest.skip(f"Airflow could not be installed: no network to the package index ({exc})")
    server = start_airflow(airflow, tmp_path_factory.mktemp("airflow-home"), DAGS)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def airflow_api(airflow_server: AirflowServer) -> Iterator[AirflowRestClient]:
    """The agent's real Airflow client, logged in as the test user."""
    client = AirflowRestClient(
        airflow_server.base_url,
        username=airflow_server.username,
        password=airflow_server.password,
        timeout_s=30,
    )
    yield client
    client.close()
