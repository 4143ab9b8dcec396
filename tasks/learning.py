"""Tasks of the retraining flow: each wraps one core function."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from oncall_agent.learning.training import RetrainReport, report_markdown, retrain
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import get_engine


@task(name="fit-evaluate-promote", cache_policy=NO_CACHE)
def fit_evaluate_promote(actor: str) -> RetrainReport:
    """Build the training set, fit, score on the holdout, save, and promote if not worse."""
    return retrain(get_engine(), get_settings().data_dir / "models", actor=actor)


@task(name="publish-model-report", cache_policy=NO_CACHE)
def publish_report(report: RetrainReport) -> str:
    """The metrics and reliability table as a markdown artifact; returns the markdown."""
    markdown = report_markdown(report)
    create_markdown_artifact(
        markdown=markdown, key="retrain-models", description=f"model v{report.version}"
    )
    return markdown
