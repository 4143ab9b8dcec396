"""What one resolution did, step by step, as the short markdown a run page shows.

The unattended path is one direct core call (a Prefect task per step measured ~40 ms each), so the
steps are told here instead: analyse, decide, act, verify, record, each with what it found and
how long it took, built from the store after the fact. Text from logs is escaped, so `<NUM>` and
`[ledger]` display as written wherever the UI renders markdown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from oncall_agent.markdown import escape_markdown
from oncall_agent.store.actions import runs_for_incident
from oncall_agent.store.engine import session_scope
from oncall_agent.store.incidents import get_incident

STEPS = ("analyse", "decide", "act", "verify", "record")


class StepClock:
    """Wall time per resolution step, cheap enough for the unattended path (no API calls)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the step NAME (repeated names add up)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _ms(seconds: dict[str, float], *names: str) -> str:
    """Milliseconds spent in NAMES, or '-' when none of them ran."""
    spent = [seconds[n] for n in names if n in seconds]
    return f"{sum(spent) * 1000:.0f} ms" if spent else "-"


def step_rows(engine: Engine, incident_id: int, seconds: dict[str, float]) -> list[dict[str, str]]:
    """One row per step: what it found (escaped for markdown) and its time."""
    with session_scope(engine) as session:
        inc = get_incident(session, incident_id)
        runs = runs_for_incident(session, incident_id)
        last = runs[-1] if runs else None
        analysis: dict[str, Any] = dict(inc.analysis or {})
        reasons = list(inc.decision_reasons or [])
        status = inc.status
        decision, confidence = inc.decision, inc.confidence
    entry = analysis.get("entry_key") or "no knowledge entry matched"
    conf = "-" if confidence is None else f"{confidence:.2f}"
    dry = " (dry run)" if last and last.dry_run else ""
    acted = f"{last.action} on {last.target or '-'}: {last.status}{dry}" if last else "nothing ran"
    verified = (
        f"{'passed' if last.verified else 'failed' if last.verified is False else 'not checked'}: "
        f"{(last.verification or {}).get('detail', '-')}"
        if last
        else "-"
    )
    found = {
        "analyse": f"entry {entry}, confidence {conf}",
        "decide": f"{decision or '-'}: {'; '.join(reasons[-3:]) or '-'}",
        "act": acted,
        "verify": verified,
        "record": f"incident is {status}",
    }
    # The core times analyse+decide as one call and act+verify as another.
    timing = {
        "analyse": _ms(seconds, "assess"),
        "decide": "(with analyse)" if "assess" in seconds else "-",
        "act": _ms(seconds, "act"),
        "verify": "(with act)" if "act" in seconds else "-",
        "record": _ms(seconds, "record"),
    }
    return [{"step": s, "result": escape_markdown(found[s]), "time": timing[s]} for s in STEPS]


def resolution_markdown(
    engine: Engine, incident_id: int, seconds: dict[str, float], title: str
) -> str:
    """The run's story: a heading, then one table row per step."""
    rows = step_rows(engine, incident_id, seconds)
    lines = [
        f"### Incident #{incident_id}: {escape_markdown(title)}",
        "",
        "| step | result | time |",
        "| --- | --- | --- |",
        *(f"| {r['step']} | {r['result']} | {r['time']} |" for r in rows),
    ]
    return "\n".join(lines)
