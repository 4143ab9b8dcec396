"""Tasks of the detection flow."""

from __future__ import annotations

import asyncio

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from oncall_agent.detection.source_rules import DetectionRules, RuledDetector
from oncall_agent.pipeline import ScanReport, scan_source
from oncall_agent.shutdown import clear_stop, request_stop
from oncall_agent.sources.base import EventSource
from oncall_agent.store.credits import settle_credits as settle_pending_credits
from oncall_agent.store.engine import get_engine, session_scope
from oncall_agent.store.incidents import pending_resolution, still_pending
from oncall_agent.store.leases import claim_name
from oncall_agent.store.patterns import load_pattern_set


def _detector(rules: DetectionRules | None) -> RuledDetector:
    """The built-in and user patterns, with the source's own rules on top."""
    with session_scope(get_engine()) as session:
        patterns = load_pattern_set(session).patterns
    return RuledDetector(patterns, rules)


@task(name="scan-source", cache_policy=NO_CACHE)
async def scan_event_source(
    source: EventSource, source_key: str, rules: DetectionRules | None = None
) -> ScanReport:
    """Read what is new in one source and store the incidents it shows."""

    def _scan() -> ScanReport:
        return scan_source(
            get_engine(),
            source,
            source_key,
            detector=_detector(rules),
            use_baseline=rules is None or rules.baseline,
        )

    clear_stop()  # a stop asked of an earlier run in this process is not this run's
    try:
        report = await asyncio.to_thread(_scan)
    except BaseException:
        # SIGTERM (Prefect's TerminationSignal), Ctrl-C or a cancellation reached this run:
        # the reading thread stops after the batch in hand instead of reading to the end.
        request_stop()
        raise
    for problem in report.problems:
        get_run_logger().warning("%s: %s", source_key, problem)
    return report


@task(name="incidents-to-resolve", cache_policy=NO_CACHE)
async def incidents_to_resolve() -> list[int]:
    """Incidents opened or reopened that no resolution has claimed yet (this run's or earlier)."""

    def _pending() -> list[int]:
        with session_scope(get_engine()) as session:
            return pending_resolution(session)

    return await asyncio.to_thread(_pending)


async def unclaimed(incident_id: int) -> bool:
    """Whether nobody claimed the incident yet (a plain call: cheaper than a task or a subflow)."""

    def _look() -> bool:
        with session_scope(get_engine()) as session:
            return still_pending(session, incident_id)

    return await asyncio.to_thread(_look)


@task(name="incident-episode", cache_policy=NO_CACHE)
async def incident_episode(incident_id: int) -> str:
    """Names the incident's next resolution: its episode and the claims it has had (retries)."""

    def _episode() -> str:
        with session_scope(get_engine()) as session:
            return claim_name(session, incident_id)

    return await asyncio.to_thread(_episode)


@task(name="settle-credits", cache_policy=NO_CACHE)
async def settle_credits() -> int:
    """Credit (or fail) the actions whose verification window has passed; how many settled."""

    def _settle() -> int:
        with session_scope(get_engine()) as session:
            return len(settle_pending_credits(session))

    return await asyncio.to_thread(_settle)
