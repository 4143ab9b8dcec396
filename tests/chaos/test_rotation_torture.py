"""Rotation torture: a writer process writes numbered lines and rotates its log (rename,
logrotate's shifting rename, copy-then-truncate) while a detector reads it often through a
stored cursor, watching from before the log existed: no line lost, none read twice."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from oncall_agent.sources.files import FileSource
from tests.integration.test_rotation import _start, _tail_until_done

pytestmark = [pytest.mark.chaos, pytest.mark.integration, pytest.mark.slow]

LINES = 50_000  # rotated 5 times


@pytest.mark.parametrize("mode", ["rename-paced", "shift", "copytruncate-paced"])
def test_rotation_loses_and_repeats_no_line(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every numbered line is read exactly once, whatever the rotation (the writer truncates
    between its own writes, so copytruncate has no window to lose lines in)."""
    log = tmp_path / "app.log"
    watching = json.loads(json.dumps(FileSource([str(log)]).read({}).cursor))
    writer = _start("writer", mode, str(log), str(LINES))
    seen, reads = _tail_until_done(
        log, writer, every_s=0.3, max_bytes=8 * 1024 * 1024, cursor=watching
    )
    assert writer.wait(timeout=60) == 0
    counts = Counter(seen)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    lost = len(set(range(1, LINES + 1)) - set(counts))
    with capsys.disabled():
        print(f"\n{mode}: {reads} reads, {lost} lost, {duplicated} duplicated of {LINES}")
    assert (lost, duplicated) == (0, 0)
    assert set(counts) == set(range(1, LINES + 1))
