"""Tasks of the detection flow."""

from __future__ import annotations

import asyncio

from prefect import task
from prefect.cache_policies import NO_CACHE

from oncall_agent.pipeline import ScanReport, scan_source
from oncall_agent.sources.files import FileSource
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import pending_resolution


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
