"""A hostile regex stored before the add-time check existed (an alert pattern and a knowledge
entry holding `(a+)+$`) and lines built to make it backtrack: detection and analysis finish in
seconds on both engines, where `re` alone would run for minutes (727 s measured)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import AlertPatternRow, KnowledgeEntry

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

HOSTILE = "(a+)+$"
BUDGET_S = 60.0  # process start and imports included, on a loaded machine; ~3 s when idle
SCAN = Path(__file__).with_name("hostile_scan.py")


def _hostile_store(url: str) -> None:
    """A store holding the hostile regex as a user pattern and as a knowledge entry pattern,
    written straight into the tables (as a store from before the check would hold them)."""
    engine = make_engine(url)
    create_schema(engine)
    with session_scope(engine) as session:
        session.add(AlertPatternRow(name="a-storm", regex=HOSTILE, category="error"))
        session.add(KnowledgeEntry(key="a-storm", title="A storm", patterns=[HOSTILE],
                                   solution="wait it out"))  # fmt: skip
    engine.dispose()


@pytest.mark.parametrize("engine_name", ["python", "hyperscan"])
def test_hostile_regex_on_hostile_lines_finishes_in_seconds(
    engine_name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Detection opens the incident and analysis matches it, well inside the budget."""
    log, url = tmp_path / "app.log", f"sqlite:///{tmp_path / 'store.db'}"
    hostile = [f"{'a' * n}!\n" for n in (40, 400, 3999)]
    # An error whose samples end in a's and `!`: the knowledge entry's pattern meets it too.
    log.write_text("".join(hostile) + "aaaa\n" + f"ERROR upload failed: {'a' * 40}!\n")
    _hostile_store(url)
    env = {**os.environ, "ONCALL_DETECTION_ENGINE": engine_name}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(SCAN), str(log), url],
            env=env,
            capture_output=True,
            text=True,
            timeout=BUDGET_S,
            cwd=Path(__file__).parents[2],
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{engine_name}: still matching after {BUDGET_S:.0f}s")
    took = time.monotonic() - started
    with capsys.disabled():
        print(f"\n{engine_name}: hostile regex, detection + analysis in {took:.1f}s")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["done", "2"]  # `aaaa` (a-storm) and the ERROR line
