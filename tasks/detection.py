"""Tasks of the detection flow."""

from __future__ import annotations

import asyncio

from prefect import task
from prefect.cache_policies import NO_CACHE

from oncall_agent.pipeline import ScanReport, scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import get_incident, pending_resolution


@task(name="scan-log-source", cache_policy=NO_CACHE)
async def scan_log_source(source: FileSource, source_key: str) -> ScanReport:
    """Read what is new in one source and store the incidents it shows."""
    return await asyncio.to_thread(scan_source, get_engine(), source, source_key)


@task(name="incidents-to-resolve", cache_policy=NO_CACHE)
async def incidents_to_resolve() -> list[int]:
    """Incidents opened or reopened that no resolution has claimed yet (this run's or earlier)."""

    def _pending() -> list[int]:
        with session_scope(get_engine()) as session:
            return pending_resolution(session)

    return await asyncio.to_thread(_pending)


@task(name="incident-episode", cache_policy=NO_CACHE)
async def incident_episode(incident_id: int) -> int:
    """How many times the incident has recurred (names one episode of it)."""

    def _episode() -> int:
        with session_scope(get_engine()) as session:
            return get_incident(session, incident_id).recurrences

    return await asyncio.to_thread(_episode)
