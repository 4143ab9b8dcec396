"""The `retrain-models` flow: fit the recommendation model, score it, promote it if not worse."""

from __future__ import annotations

from prefect import flow

from oncall_agent.learning.training import RetrainReport
from tasks.learning import fit_evaluate_promote, publish_report


@flow(name="retrain-models", log_prints=True)
def retrain_models(actor: str = "retrain-models") -> RetrainReport:
    """Retrain from the store, publish the metrics as an artifact, return the report."""
    report = fit_evaluate_promote(actor)
    publish_report(report)
    return report
