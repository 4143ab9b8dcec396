"""`oncall backtest`: learn from the history before a date, then replay the rest in time order,
answering each day's incidents with what was learned so far and then learning their outcomes.

The vocabulary and the calibrator stay those fitted before the date; outcomes are added day by
day (so an answer never uses the outcome of its own day).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from oncall_agent.errors import ConfigError
from oncall_agent.learning.evaluation import Metrics, evaluate
from oncall_agent.learning.examples import Example, ExampleTable, to_table
from oncall_agent.learning.recommend import threshold_decision
from oncall_agent.learning.recommender import Recommendation, Recommender
from oncall_agent.learning.records import HistoryRow, ParsedRow
from oncall_agent.models import AutonomyMode, Decision
from oncall_agent.policy import PolicyConfig

MIN_TRAIN_ROWS = 30


@dataclass
class BacktestReport:
    """Accuracy, calibration, automation rate and escalations of a replay."""

    since: datetime
    train_rows: int
    replayed: int
    metrics: Metrics
    automation_rate: float
    approval_rate: float
    escalation_rate: float
    escalated: list[dict[str, Any]] = field(default_factory=list)


def _example(row: HistoryRow) -> Example:
    """A history row as a training example."""
    return Example(row.timestamp, row.title, row.description, row.service, row.solution,
                   row.success)  # fmt: skip


def _valid_rows(parsed: Iterable[ParsedRow]) -> list[HistoryRow]:
    """The rows, or a ConfigError listing the first invalid ones."""
    rows: list[HistoryRow] = []
    errors: list[str] = []
    for p in parsed:
        if p.errors:
            errors.extend(str(e) for e in p.errors)
        elif p.value is not None:
            rows.append(p.value)
    if errors:
        raise ConfigError("the history has invalid rows: " + "; ".join(errors[:10]))
    return rows


def _replay(model: Recommender, table: ExampleTable) -> list[Recommendation]:
    """Answer each day's rows, then learn their outcomes."""
    answers: list[Recommendation] = []
    day = np.floor(table.days)
    for value in np.unique(day):
        index = np.flatnonzero(day == value)
        part = table.subset(index)
        answers.extend(model.recommend(part.texts, part.services, part.days))
        model.learn(part)
    return answers


def backtest(
    parsed: Iterable[ParsedRow], since: datetime, policy: PolicyConfig | None = None
) -> BacktestReport:
    """Fit on rows before SINCE, replay the rest, and score the answers."""
    policy = policy or PolicyConfig()
    rows = _valid_rows(parsed)
    before = [_example(r) for r in rows if r.timestamp < since]
    after = sorted((r for r in rows if r.timestamp >= since), key=lambda r: r.timestamp)
    if len(before) < MIN_TRAIN_ROWS or not after:
        raise ConfigError(
            f"--since {since:%Y-%m-%d} leaves {len(before)} rows to learn from and {len(after)} "
            f"to replay; choose a date with at least {MIN_TRAIN_ROWS} rows before it and some after"
        )
    model = Recommender().fit(to_table(before))
    replay = to_table([_example(r) for r in after])
    answers = _replay(model, replay)
    decisions = [
        Decision.ESCALATE if a.solution is None
        else threshold_decision(a.confidence, AutonomyMode.AUTO.value, policy)
        for a in answers
    ]  # fmt: skip
    n = len(answers)
    escalated = [
        {"row": r.row, "timestamp": r.timestamp.isoformat(), "service": r.service,
         "title": r.title, "confidence": round(a.confidence, 3)}
        for r, a, d in zip(after, answers, decisions, strict=True) if d is Decision.ESCALATE
    ]  # fmt: skip
    return BacktestReport(
        since=since, train_rows=len(before), replayed=n, metrics=evaluate(answers, replay),
        automation_rate=decisions.count(Decision.EXECUTE) / n,
        approval_rate=decisions.count(Decision.ASK_APPROVAL) / n,
        escalation_rate=decisions.count(Decision.ESCALATE) / n, escalated=escalated,
    )  # fmt: skip
