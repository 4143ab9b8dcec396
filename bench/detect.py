"""Benchmark: the agent's detection pass beside GNU grep and ripgrep, same patterns, same file.

    .venv/bin/python bench/detect.py [--size-mb 200] [--sets default,large]

Builds (once, cached) a corpus of at least SIZE_MB from the LogHub samples in tests/data/loghub,
each copy with its digits permuted so that lines differ, and reads it once so the page cache is
warm. Then, per pattern set (the built-in one, and a 200-pattern one), each in a child process:
- agent: scan_source's loop without database writes (read in chunks, select lines with the
  engine, parse, match, mask, fingerprint, group), then scan_source itself into a fresh SQLite
  store, to show what the writes add;
- `LC_ALL=C grep -E -i -c -f patterns.txt` and `rg -i -c -f patterns.txt` on the same file
  ("not installed" when missing).
Prints MB/s, lines/s, CPU seconds and peak RSS (ru_maxrss of the child) and the ratios of the
agent's throughput to grep's and rg's, by wall time and by CPU time (the CPU ratio is the fair
one on a busy machine: a loaded CPU slows every run by a different amount).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from _detect_patterns import grep_lines, pattern_set, rg_lines  # noqa: E402

LOGHUB = ROOT / "tests" / "data" / "loghub"
CHILD = BENCH / "_detect_child.py"
RESULT_PREFIX = "BENCH_RESULT "
TIMEOUT_S = 1800.0


@dataclass
class Run:
    """One measured child process."""

    name: str
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None
    count: int | None = None
    note: str = ""
    extra: dict[str, object] | None = None


def cache_dir() -> Path:
    """Where built corpora are kept between runs."""
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = base / "oncall-agent-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_corpus(size_mb: int) -> Path:
    """A file of at least SIZE_MB: LogHub samples repeated, digits permuted in each copy."""
    path = cache_dir() / f"loghub-{size_mb}mb.log"
    if path.exists() and path.stat().st_size >= size_mb * 1024 * 1024:
        return path
    base = b"".join(p.read_bytes() for p in sorted(LOGHUB.glob("*/*_2k.log")))
    rng = random.Random(20240501)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        written = 0
        while written < size_mb * 1024 * 1024:
            digits = list(b"0123456789")
            rng.shuffle(digits)
            copy = base.translate(bytes.maketrans(b"0123456789", bytes(digits)))
            out.write(copy)
            written += len(copy)
    partial.replace(path)
    return path


def warm(path: Path) -> int:
    """Read PATH once (page cache warm); its line count."""
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(16 * 1024 * 1024):
            lines += block.count(b"\n")
    return lines


def measure(name: str, argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ARGV as a child; wall time, CPU time and peak RSS from its own rusage."""
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return Run(name, note="not installed")
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = _wait(child)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    run = Run(name, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # grep says 1 when nothing matched
        run.note = f"failed: {text.strip()[-300:]}"
    _read_output(run, text)
    return run


def _wait(child: subprocess.Popen[bytes]) -> tuple[int, int, resource.struct_rusage]:
    """Wait for CHILD (killed after TIMEOUT_S) and return os.wait4's answer."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return pid, status, usage
        if time.monotonic() > deadline:
            child.kill()
        time.sleep(0.02)


def _read_output(run: Run, text: str) -> None:
    """The count a tool printed, or the agent's JSON result."""
    for line in text.splitlines():
        if line.startswith(RESULT_PREFIX):
            run.extra = json.loads(line[len(RESULT_PREFIX) :])
            run.count = int(str(run.extra.get("detections", 0)))
            return
    last = text.strip().splitlines()[-1:] if text.strip() else []
    if last and last[0].strip().isdigit():
        run.count = int(last[0].strip())


def write_patterns(folder: Path, set_name: str) -> tuple[Path, Path, int]:
    """patterns files for grep and rg, and how many patterns the set has."""
    patterns = pattern_set(set_name)
    grep_file, rg_file = folder / f"{set_name}-grep.txt", folder / f"{set_name}-rg.txt"
    grep_file.write_bytes(b"\n".join(grep_lines(patterns)) + b"\n")
    rg_file.write_bytes(b"\n".join(rg_lines(patterns)) + b"\n")
    return grep_file, rg_file, len(patterns)


def run_set(corpus: Path, set_name: str, folder: Path) -> tuple[int, list[Run]]:
    """Every measurement for one pattern set."""
    grep_file, rg_file, count = write_patterns(folder, set_name)
    python = sys.executable
    env_c = {**os.environ, "LC_ALL": "C"}
    runs = [
        measure("agent detection", [python, str(CHILD), "detect", str(corpus), set_name]),
        measure("agent + SQLite store", [python, str(CHILD), "store", str(corpus), set_name]),
        measure("grep -E -i", ["grep", "-E", "-i", "-c", "-f", str(grep_file), str(corpus)], env_c),
        measure("rg -i", ["rg", "-i", "-c", "-f", str(rg_file), str(corpus)]),
    ]
    return count, runs


def _ratio(agent: Run, other: Run, field: str) -> str:
    """Agent throughput over OTHER's (time ratio inverted), or "-"."""
    mine, theirs = getattr(agent, field), getattr(other, field)
    if not mine or not theirs:
        return "-"
    return f"{theirs / mine:.2f}"


def print_table(set_name: str, count: int, runs: list[Run], size: int, lines: int) -> None:
    """One table: a row per tool, then the ratios."""
    print(f"\n## pattern set: {set_name} ({count} patterns), {size / 1e6:.0f} MB, {lines:,} lines")
    head = (
        "run",
        "wall s",
        "MB/s",
        "lines/s",
        "CPU s",
        "MB/s (CPU)",
        "peak RSS MB",
        "count",
        "note",
    )
    rows = [head]
    for run in runs:
        if run.wall_s is None:
            rows.append((run.name, "-", "-", "-", "-", "-", "-", "-", run.note))
            continue
        rows.append((
            run.name, f"{run.wall_s:.2f}", f"{size / 1e6 / run.wall_s:.1f}",
            f"{lines / run.wall_s:,.0f}", f"{run.cpu_s:.2f}",
            f"{size / 1e6 / run.cpu_s:.1f}" if run.cpu_s else "-",
            f"{run.rss_mb:.0f}", "-" if run.count is None else f"{run.count:,}", run.note,
        ))  # fmt: skip
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    _print_notes(runs)


def _print_notes(runs: list[Run]) -> None:
    """Ratios, the store's share, and what the agent found."""
    agent, stored, grep, rg = runs
    print(
        f"ratio agent/grep: {_ratio(agent, grep, 'wall_s')} (wall), "
        f"{_ratio(agent, grep, 'cpu_s')} (CPU)   "
        f"ratio agent/rg: {_ratio(agent, rg, 'wall_s')} (wall), {_ratio(agent, rg, 'cpu_s')} (CPU)"
    )
    if agent.extra and stored.extra and stored.wall_s and agent.wall_s:
        inner = float(str(stored.extra["seconds"])) - float(str(agent.extra["seconds"]))
        print(
            f"store writes (scan_source into SQLite minus the detection pass): {inner:.2f} s; "
            f"engine {agent.extra['engine']} "
            f"(built in {float(str(agent.extra['build_s'])):.2f} s); "
            f"{agent.extra['events']:,} events built, {agent.extra['detections']:,} detections, "
            f"{agent.extra['incidents']:,} incidents; template cache "
            f"{agent.extra['template_cache_hits']:,} hits, "
            f"{agent.extra['template_cache_misses']:,} misses"
        )


def main() -> None:
    """Build the corpus, run every measurement, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--sets", default="default,large")
    options = parser.parse_args()
    corpus = build_corpus(options.size_mb)
    lines = warm(corpus)
    size = corpus.stat().st_size
    print(f"corpus: {corpus} ({size / 1e6:.0f} MB, {lines:,} lines); CPUs: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as folder:
        for set_name in options.sets.split(","):
            count, runs = run_set(corpus, set_name, Path(folder))
            print_table(set_name, count, runs, size, lines)


if __name__ == "__main__":
    main()
