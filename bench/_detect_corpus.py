"""Corpora of the detection benchmark: real LogHub lines at a chosen share of alerting lines.

The eight LogHub samples in tests/data/loghub are split into two pools for a pattern set: lines
that alert (the agent flags them, one line as one event, and one of the set's regexes matches
them) and quiet lines (neither). Lines on which the two disagree (a level the text does not
name, for instance) are left out, and so are lines that are not plain ASCII or that would
continue the line before them (indented, "at ...": the agent joins those into one event while
grep counts lines), so that grep, ripgrep and the agent must flag exactly the same lines; the
benchmark checks that they do. A corpus draws quiet and alerting lines at the requested rate,
each pass over the pools with its digits permuted so that lines differ as in real logs.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import compile_patterns
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.multiline import _CONTINUATION

LOGHUB = Path(__file__).resolve().parent.parent / "tests" / "data" / "loghub"


def _agent_flags(lines: list[bytes], patterns: list[AlertPattern], folder: Path) -> set[int]:
    """Indexes of LINES the agent flags when each line is one event."""
    path = folder / "pool-probe.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    detector = Detector(compile_patterns(patterns))
    events = FileSource([str(path)], multiline=None, flush_after_s=0).read({}).events
    return {int(d.event.line_no or 0) - 1 for d in detector.detect_many(events)}


def pools(patterns: list[AlertPattern], folder: Path) -> tuple[list[bytes], list[bytes]]:
    """(quiet lines, alerting lines) of the LogHub samples for PATTERNS."""
    lines = [
        line
        for path in sorted(LOGHUB.glob("*/*_2k.log"))
        for line in path.read_bytes().splitlines()
        if line.strip() and line.isascii() and b"\r" not in line
        and _CONTINUATION.match(b"\n" + line) is None
    ]  # fmt: skip
    regexes = [re.compile(p.regex.encode(), re.IGNORECASE) for p in patterns]
    flagged = _agent_flags(lines, patterns, folder)
    quiet: list[bytes] = []
    alerting: list[bytes] = []
    for index, line in enumerate(lines):
        matched = any(r.search(line) for r in regexes)
        if matched and index in flagged:
            alerting.append(line)
        elif not matched and index not in flagged:
            quiet.append(line)
    return quiet, alerting


def build(path: Path, size_mb: int, rate: float, quiet: list[bytes], alerting: list[bytes]) -> int:
    """Write SIZE_MB of lines to PATH, a share RATE of them alerting; the alerting line count."""
    rng = random.Random(f"{size_mb}-{rate}")
    target = size_mb * 1024 * 1024
    per_quiet = rate / (1 - rate)  # alerting lines per quiet line
    written = flagged = seen = 0
    with path.open("wb") as out:
        while written < target:
            digits = list(b"0123456789")
            rng.shuffle(digits)
            table = bytes.maketrans(b"0123456789", bytes(digits))
            block = []
            for line in quiet:
                seen += 1
                block.append(line.translate(table))
                while flagged < per_quiet * seen:
                    block.append(alerting[flagged % len(alerting)].translate(table))
                    flagged += 1
            data = b"\n".join(block) + b"\n"
            out.write(data)
            written += len(data)
    return flagged
