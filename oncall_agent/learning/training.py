"""Retraining: build the set from the store, fit on the oldest 80 %, score on the newest 20 %,
and promote only if the new model is not worse than the current one on the same rows.

Promotion rule: with no current model the new one is promoted. Otherwise both answer the same
holdout rows (those newer than everything the current model was trained on, when there are at
least MIN_COMPARE_ROWS of them; else the whole holdout, which favours the current model since it
may have seen those rows): the new model is promoted when its top-1 accuracy is at least the
current's minus TOLERANCE and its Brier score at most the current's plus TOLERANCE.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from oncall_agent.errors import ConfigError
from oncall_agent.learning.dataset import Corrections, build_examples
from oncall_agent.learning.evaluation import Metrics, evaluate, reliability_markdown
from oncall_agent.learning.examples import EPOCH, ExampleTable, time_split, to_table
from oncall_agent.learning.recommender import Recommender
from oncall_agent.learning.registry import current_model, save_model
from oncall_agent.store.audit import audit
from oncall_agent.store.engine import session_scope

MIN_ROWS = 30
MIN_COMPARE_ROWS = 30
TOLERANCE = 0.01


@dataclass
class RetrainReport:
    """What a retraining did: data, metrics, the comparison, and the version saved."""

    rows: int
    train_rows: int
    holdout_rows: int
    metrics: Metrics
    version: int
    promoted: bool
    reason: str
    baseline: Metrics | None = None
    compared_rows: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _answers(model: Recommender, table: ExampleTable) -> list:  # type: ignore[type-arg]
    """MODEL's recommendations for TABLE's rows."""
    return model.recommend(table.texts, table.services, table.days)


def _compare(
    candidate: Recommender, holdout: ExampleTable, current: Recommender
) -> tuple[Metrics, Metrics, int]:
    """Candidate and current metrics on the same rows (those the current never saw if enough)."""
    unseen = np.flatnonzero(holdout.days > current.data_end)
    rows = holdout.subset(unseen) if len(unseen) >= MIN_COMPARE_ROWS else holdout
    return (
        evaluate(_answers(candidate, rows), rows),
        evaluate(_answers(current, rows), rows),
        len(rows),
    )


def promotion(new: Metrics, old: Metrics | None) -> tuple[bool, str]:
    """Whether NEW may replace OLD, and why (the rule in the module docstring)."""
    if old is None:
        return True, "no current model"
    ok = new.top1 >= old.top1 - TOLERANCE and new.brier <= old.brier + TOLERANCE
    verdict = "not worse" if ok else "worse"
    return ok, (
        f"{verdict} than the current on the same holdout: top-1 {new.top1:.3f} vs "
        f"{old.top1:.3f}, Brier {new.brier:.3f} vs {old.brier:.3f} (tolerance {TOLERANCE})"
    )


def retrain(
    engine: Engine,
    models_dir: Path,
    *,
    corrections: Corrections | None = None,
    actor: str = "agent",
) -> RetrainReport:
    """Fit, evaluate, compare and save a new model version (promoted only if not worse)."""
    clock = time.perf_counter()
    with session_scope(engine) as session:
        table = to_table(build_examples(session, corrections))
    if len(table) < MIN_ROWS:
        raise ConfigError(
            f"only {len(table)} incidents with a known fix in the store; at least {MIN_ROWS} are "
            "needed: import history with `oncall history import FILE` first"
        )
    seconds = {"load": time.perf_counter() - clock}
    train, holdout = time_split(table)
    scored = Recommender().fit(train)
    metrics = evaluate(_answers(scored, holdout), holdout)
    seconds["fit_and_score"] = time.perf_counter() - clock - seconds["load"]
    existing = current_model(engine)
    baseline, compared = None, len(holdout)
    if existing is not None:
        new_on_same, baseline, compared = _compare(scored, holdout, existing[1])
        promote, reason = promotion(new_on_same, baseline)
    else:
        promote, reason = promotion(metrics, None)
    final = Recommender().fit(table)
    with session_scope(engine) as session:
        row = save_model(
            session, final, models_dir, promote=promote, metrics=metrics.as_dict(),
            baseline=baseline.as_dict() if baseline else {}, promotion_reason=reason,
            data_end=EPOCH + timedelta(days=float(table.days.max())),
        )  # fmt: skip
        audit(session, "model_trained", actor=actor, version=row.version, promoted=promote,
              reason=reason, rows=len(table))  # fmt: skip
        version = row.version
    seconds["total"] = time.perf_counter() - clock
    return RetrainReport(
        rows=len(table), train_rows=len(train), holdout_rows=len(holdout), metrics=metrics,
        version=version, promoted=promote, reason=reason, baseline=baseline,
        compared_rows=compared, seconds=seconds,
    )  # fmt: skip


def report_markdown(report: RetrainReport) -> str:
    """The retraining's metrics and reliability table as markdown (the flow's artifact)."""
    m = report.metrics
    state = "promoted (current)" if report.promoted else "kept as a candidate (not promoted)"
    lines = [
        f"# Recommendation model v{report.version}: {state}",
        "",
        f"{report.rows} incidents with a known fix: {report.train_rows} to train (oldest), "
        f"{report.holdout_rows} holdout (newest 20 %). Promotion: {report.reason}.",
        "",
        "| metric | holdout | current model |",
        "|---|---|---|",
    ]
    base = report.baseline
    for name in ("top1", "macro_f1", "brier", "ece", "coverage", "abstention"):
        old = f"{getattr(base, name):.3f}" if base else "-"
        lines.append(f"| {name} | {getattr(m, name):.3f} | {old} |")
    lines += ["", "Reliability (holdout answers whose fix was the one used):", ""]
    lines.append(reliability_markdown(m.reliability))
    return "\n".join(lines) + "\n"
