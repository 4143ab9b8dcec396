"""Tasks of the learning-report flow."""

from __future__ import annotations

import asyncio

from prefect import task
from prefect.cache_policies import NO_CACHE

from oncall_agent.learning.report import LearningReport, build_report
from oncall_agent.store.engine import get_engine, session_scope


@task(name="build-learning-report", cache_policy=NO_CACHE)
async def learning_figures(days: int) -> LearningReport:
    """Every figure of the learning report over the last DAYS days, from the store."""

    def _build() -> LearningReport:
        with session_scope(get_engine()) as session:
            return build_report(session, days=days)

    return await asyncio.to_thread(_build)
