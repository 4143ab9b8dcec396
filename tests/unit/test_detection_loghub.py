"""Grouping on real logs (LogHub samples): one EventId, one fingerprint; different ones apart."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import default_pattern_set
from oncall_agent.models import LogEvent

LOGHUB = Path(__file__).parent.parent / "data" / "loghub"
SYSTEMS = sorted(p.name for p in LOGHUB.iterdir() if p.is_dir())


def _flagged(system: str) -> list[tuple[str, str, str]]:
    """(EventId, EventTemplate, fingerprint) of every line of SYSTEM the detector flags."""
    detector = Detector(default_pattern_set())
    path = LOGHUB / system / f"{system}_2k.log_structured.csv"
    flagged = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            event = LogEvent(
                source=system, message=row["Content"], service=system, level=row.get("Level")
            )
            found = detector.detect(event)
            if found is not None:
                flagged.append((row["EventId"], row["EventTemplate"], found.fingerprint))
    return flagged


def test_all_eight_samples_are_present() -> None:
    """The copied LogHub samples are all there (with their licence beside them)."""
    assert SYSTEMS == [
        "Apache", "HDFS", "Hadoop", "Linux", "OpenSSH", "OpenStack", "Spark", "Zookeeper"
    ]  # fmt: skip
    assert (LOGHUB / "LICENSE").is_file() and (LOGHUB / "README.md").is_file()


def test_most_samples_have_lines_that_alert() -> None:
    """Most samples hold lines that alert (a sample whose only error words sit in INFO and
    WARN lines, as OpenStack's, rightly alerts on nothing)."""
    assert sum(1 for system in SYSTEMS if _flagged(system)) >= 5


@pytest.mark.parametrize("system", [s for s in SYSTEMS if s != "Spark"])
def test_same_event_id_gets_the_same_fingerprint(system: str) -> None:
    """At least 90% of the flagged lines share their EventId's most common fingerprint."""
    flagged = _flagged(system)
    if not flagged:
        pytest.skip(f"{system}: no line alerts")
    by_event: dict[str, Counter[str]] = defaultdict(Counter)
    for event_id, _, fp in flagged:
        by_event[event_id][fp] += 1
    agreeing = sum(counts.most_common(1)[0][1] for counts in by_event.values())
    assert agreeing / len(flagged) >= 0.9


def test_info_only_spark_sample_raises_nothing() -> None:
    """Two thousand routine Spark lines (all INFO) raise no alert at all."""
    assert _flagged("Spark") == []
