"""The retrain-models flow on the Prefect harness: a promoted model and a markdown artifact."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.retraining import retrain_models
from oncall_agent.learning.importer import import_history
from oncall_agent.learning.records import read_history
from oncall_agent.learning.registry import current_model
from oncall_agent.learning.synth import generate, write_csv
from oncall_agent.store.engine import get_engine
from oncall_agent.store.schema import upgrade


async def _artifact_markdown() -> str:
    """The newest `retrain-models` artifact's markdown."""
    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["retrain-models"]))
        )
    return str(found[-1].data) if found else ""


def test_retrain_flow_promotes_a_model_and_publishes_its_metrics(
    data_dir: Path, tmp_path: Path
) -> None:
    """After an import, the flow saves model v1 as current under the data folder and publishes
    the holdout metrics with a reliability table."""
    history = generate(19, "a", days=120, scale=0.25)
    write_csv(history.train, tmp_path / "train.csv")
    engine = get_engine()
    upgrade(engine)
    import_history(engine, read_history(tmp_path / "train.csv"))
    report = retrain_models()
    assert report.promoted and report.rows == len(history.train)
    loaded = current_model(engine)
    assert loaded is not None and Path(loaded[0].path).parent == (data_dir / "models").resolve()
    markdown = asyncio.run(_artifact_markdown())
    assert f"model v{report.version}" in markdown and "| confidence bin |" in markdown
