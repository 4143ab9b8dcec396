"""The learning-report flow: how well the agent resolves incidents, published as an artifact."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact

from oncall_agent.learning.report_render import render_markdown
from tasks.reporting import learning_figures


@flow(name="learning-report")
async def learning_report(days: int = 30) -> dict[str, object]:
    """MTTR, automation, success per action and entry, false positives, calibration, drift."""
    report = await learning_figures(days)
    await acreate_markdown_artifact(
        key="learning-report",
        markdown=render_markdown(report),
        description=f"Learning report over the last {days} days",
    )
    return report.model_dump(mode="json")
