"""Grouping accuracy on the LogHub samples: the agent's incidents beside Drain3's clusters.

    .venv/bin/python bench/grouping.py

For each of the eight systems, the agent scans the raw log file exactly as `oncall scan` does
(file source, parser, detector, masking, fingerprints) and the lines it flags are scored against
LogHub's EventIds. A flagged line is grouped correctly when the flagged lines sharing its
incident are exactly the flagged lines sharing its EventId (LogPAI's grouping accuracy,
restricted to the flagged lines). Drain3, default settings, runs in the same process over the
same file, and over LogHub's Content column (headers already removed by LogHub's own parser,
the easier task), and is scored on the same lines. Two passes: the default detection rules,
and with WARN-level lines flagged too (`oncall scan --warnings`), which flags far more lines.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from oncall_agent.detection.source_rules import DetectionRules  # noqa: E402
from oncall_agent.scan import ScanOptions, scan_files  # noqa: E402

LOGHUB = ROOT / "tests" / "data" / "loghub"
SYSTEMS = ("Apache", "HDFS", "Hadoop", "Linux", "OpenSSH", "OpenStack", "Spark", "Zookeeper")


@dataclass
class Sample:
    """One LogHub system: its raw file, and per line (1-based) its EventId, level and content."""

    name: str
    path: Path
    event_ids: dict[int, str]
    levels: Counter[str]
    contents: list[str]


@dataclass
class Row:
    """The measurements of one system in one pass."""

    system: str
    flagged: int
    incidents: int
    agent: float | None
    drain_raw: float | None
    drain_content: float | None
    note: str = ""


def load(name: str) -> Sample:
    """The raw log and the structured CSV of system NAME."""
    path = LOGHUB / name / f"{name}_2k.log"
    with open(f"{path}_structured.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return Sample(
        name=name,
        path=path,
        event_ids={int(r["LineId"]): r["EventId"] for r in rows},
        levels=Counter(r.get("Level", "?") for r in rows),
        contents=[r["Content"] for r in rows],
    )


def grouping_accuracy(
    predicted: Mapping[int, Hashable], truth: Mapping[int, str], lines: Iterable[int]
) -> float | None:
    """Share of LINES whose predicted group, within LINES, equals their true group."""
    chosen = sorted(lines)
    if not chosen:
        return None
    by_predicted: dict[Hashable, set[int]] = defaultdict(set)
    by_truth: dict[str, set[int]] = defaultdict(set)
    for line in chosen:
        by_predicted[predicted[line]].add(line)
        by_truth[truth[line]].add(line)
    right = sum(1 for line in chosen if by_predicted[predicted[line]] == by_truth[truth[line]])
    return right / len(chosen)


def drain_clusters(messages: Iterable[str]) -> dict[int, int]:
    """Drain3's cluster id for each message (1-based position), default settings."""
    miner = TemplateMiner(config=TemplateMinerConfig())  # defaults, not a drain3.ini nearby
    return {n: miner.add_log_message(m)["cluster_id"] for n, m in enumerate(messages, start=1)}


def raw_lines(path: Path) -> list[str]:
    """The lines of PATH as written (invalid UTF-8 replaced, line ends removed)."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        return [line.rstrip("\r\n") for line in handle]


def agent_incidents(sample: Sample, rules: DetectionRules) -> dict[int, str]:
    """The fingerprint of the incident each flagged line of SAMPLE joins, from `oncall scan`."""
    result = scan_files([str(sample.path)], ScanOptions(rules=rules, with_lines=True))
    return {n: i.draft.fingerprint for i in result.incidents for _, n in i.lines}


def measure(sample: Sample, rules: DetectionRules) -> Row:
    """Agent and Drain3 accuracies over the lines the agent flags in SAMPLE."""
    predicted = agent_incidents(sample, rules)
    flagged = sorted(predicted)
    row = Row(
        system=sample.name,
        flagged=len(flagged),
        incidents=len(set(predicted.values())),
        agent=grouping_accuracy(predicted, sample.event_ids, flagged),
        drain_raw=grouping_accuracy(
            drain_clusters(raw_lines(sample.path)), sample.event_ids, flagged
        ),
        drain_content=grouping_accuracy(drain_clusters(sample.contents), sample.event_ids, flagged),
    )
    if not flagged:
        levels = ", ".join(f"{level} x{n}" for level, n in sample.levels.most_common())
        row.note = f"nothing to group: no line raises an alert (levels: {levels})"
    return row


def _fmt(value: float | None) -> str:
    """An accuracy, or '-' when no line was flagged."""
    return "-" if value is None else f"{value:.3f}"


def _verdict(row: Row) -> str:
    """Whether the agent reaches Drain3's figures (raw file, and content) on this system."""
    if row.agent is None:
        return "n/a"
    references = [r for r in (row.drain_raw, row.drain_content) if r is not None]
    return "PASS" if all(row.agent >= r for r in references) else "below Drain3"


def print_table(title: str, rows: list[Row]) -> None:
    """One pass as a table: flagged lines, incidents, the three accuracies, the verdict."""
    print(f"\n{title}")
    head = ("system", "flagged", "incidents", "agent", "Drain3 raw", "Drain3 content", "agent-raw")
    print(f"{head[0]:<10} {head[1]:>8} {head[2]:>9} {head[3]:>7} {head[4]:>10} {head[5]:>14} "
          f"{head[6]:>9}  verdict")  # fmt: skip
    for r in rows:
        gap = "-" if r.agent is None or r.drain_raw is None else f"{r.agent - r.drain_raw:+.3f}"
        print(
            f"{r.system:<10} {r.flagged:>8} {r.incidents:>9} {_fmt(r.agent):>7} "
            f"{_fmt(r.drain_raw):>10} {_fmt(r.drain_content):>14} {gap:>9}  {_verdict(r)}"
        )
        if r.note:
            print(f"{'':<10} {r.note}")


def main() -> int:
    """Measure both passes over the eight systems and print the two tables."""
    samples = [load(name) for name in SYSTEMS]
    print(f"Grouping accuracy over flagged lines, LogHub 2k samples; drain3 {version('drain3')}")
    passes = {
        "Default rules (oncall scan)": DetectionRules(),
        "WARN-level lines flagged too (oncall scan --warnings)": DetectionRules(warning_lines=True),
    }
    failed = False
    for title, rules in passes.items():
        rows = [measure(sample, rules) for sample in samples]
        print_table(title, rows)
        failed = failed or any(_verdict(r) == "below Drain3" for r in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
