"""A generator of realistic incident histories for a data platform, with a known truth.

What makes the history hard (each on purpose): paraphrased titles and descriptions; the same
symptom words on different services needing different fixes; people sometimes picking a worse
fix; rare problems with a handful of examples; fixes that stop working late in the history; and
problems that appear only after it ends. `vocabulary` picks one of two disjoint word sets so a
model can be tried on words it was never tuned on.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

COLUMNS = ("timestamp", "title", "description", "service", "severity", "resolution_time",
           "solution", "tags", "success")  # fmt: skip

# Each symptom: synonyms for the phrase, and words of the log line people paste.
SYMPTOMS = {
    "a": {
        "oom": (
            [
                "out of memory",
                "OOM killed",
                "ran out of heap",
                "memory exhausted",
                "java heap space error",
            ],
            "java.lang.OutOfMemoryError: Java heap space",
        ),
        "disk": (
            ["disk full", "no space left on device", "volume at 100%", "storage exhausted"],
            "OSError: [Errno 28] No space left on device",
        ),
        "conn": (
            ["connection refused", "cannot connect", "connect failed", "unreachable"],
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ),
        "timeout": (
            ["timed out", "timeout", "took too long and was killed", "deadline exceeded"],
            "TimeoutError: operation exceeded 3600 seconds",
        ),
        "auth": (
            ["authentication failed", "permission denied", "access denied", "credentials rejected"],
            "401 Unauthorized: token expired",
        ),
        "lock": (
            ["lock wait", "deadlock detected", "stuck on a lock", "blocked by lock"],
            "ERROR: deadlock detected while waiting for ShareLock",
        ),
        "lag": (
            ["consumer lag growing", "falling behind", "backlog increasing", "lag alert"],
            "consumer group lag 1832211 messages",
        ),
        "schema": (
            [
                "schema mismatch",
                "unexpected column",
                "type mismatch in schema",
                "incompatible schema",
            ],
            "AnalysisException: cannot resolve column",
        ),
        "cert": (
            ["certificate expired", "TLS handshake failed", "SSL error", "x509 invalid"],
            "ssl.SSLCertVerificationError: certificate has expired",
        ),
        "zombie": (
            ["zombie task", "task stuck in running", "hung task", "task never finishes"],
            "Detected zombie job with pid 4411",
        ),
        "quota": (
            ["quota exceeded", "rate limited", "too many requests", "throttled"],
            "429 Too Many Requests: quota exceeded for project",
        ),
        "corrupt": (
            ["corrupt file", "checksum mismatch", "bad block", "truncated parquet"],
            "ParquetDecodingException: can not read value at 0 in block -1",
        ),
    },
    "b": {
        "oom": (
            [
                "memory blowup",
                "container evicted for memory",
                "heap overflow",
                "exceeded memory limit",
            ],
            "Container killed on request. Exit code is 137",
        ),
        "disk": (
            ["filesystem saturated", "ran out of disk", "partition filled up", "no free blocks"],
            "write failed: device has no free space",
        ),
        "conn": (
            [
                "refused connections",
                "endpoint down",
                "socket closed by peer",
                "network unreachable",
            ],
            "java.net.ConnectException: refused",
        ),
        "timeout": (
            [
                "hung past SLA",
                "exceeded time budget",
                "stalled then aborted",
                "ran past the deadline",
            ],
            "Job aborted after exceeding max runtime",
        ),
        "auth": (
            ["login rejected", "forbidden", "token invalid", "unauthorised request"],
            "403 Forbidden: signature does not match",
        ),
        "lock": (
            ["waiting on lock forever", "mutual block", "lock contention", "transaction blocked"],
            "Lock wait timeout exceeded; try restarting",
        ),
        "lag": (
            ["ingest delay rising", "queue depth growing", "events arrive late", "offsets behind"],
            "partition 7 behind by 914201 offsets",
        ),
        "schema": (
            [
                "column drift",
                "field missing in payload",
                "schema evolution broke",
                "parse failure on new field",
            ],
            "SchemaParseException: undefined field",
        ),
        "cert": (
            [
                "expired TLS cert",
                "handshake rejected",
                "untrusted certificate",
                "cert chain broken",
            ],
            "PKIX path building failed",
        ),
        "zombie": (
            ["orphaned worker", "stuck execution", "heartbeat lost on task", "frozen job"],
            "task heartbeat missing for 900s",
        ),
        "quota": (
            ["API throttling", "limit reached", "request budget spent", "over the rate cap"],
            "ThrottlingException: Rate exceeded",
        ),
        "corrupt": (
            ["unreadable file", "bad checksum", "damaged object", "file failed integrity check"],
            "CRC mismatch in block 88123",
        ),
    },
}
SERVICES = {
    "a": [
        "airflow-scheduler",
        "spark-etl",
        "kafka-ingest",
        "postgres-dwh",
        "hdfs-namenode",
        "trino-gateway",
        "dbt-runner",
        "s3-sync",
        "es-logging",
        "redis-cache",
    ],
    "b": [
        "orchestrator",
        "batch-compute",
        "stream-bus",
        "warehouse-db",
        "object-store",
        "query-engine",
        "transform-jobs",
        "replicator",
        "search-index",
        "session-cache",
    ],
}
FIXES = {
    "a": [
        "restart",
        "scale-up-memory",
        "clear-tmp",
        "rotate-credentials",
        "kill-blocking-query",
        "reset-offsets",
        "rerun-task",
        "renew-certificate",
        "raise-quota",
        "rebuild-partition",
        "failover",
        "purge-old-logs",
        "increase-timeout",
        "pin-schema-version",
    ],
    "b": [
        "bounce-process",
        "bump-heap",
        "free-scratch",
        "reissue-token",
        "terminate-blocker",
        "rewind-consumer",
        "retry-run",
        "reissue-cert",
        "request-limit-raise",
        "repair-segment",
        "switch-replica",
        "vacuum-archives",
        "extend-deadline",
        "rollback-schema",
    ],
}
FRAMES = [
    "{s} on {svc}",
    "{svc}: {s}",
    "{s} in {job}",
    "[{svc}] {s} ({job})",
    "{job} failed: {s}",
    "alert: {s} for {job}",
    "{s} again on {svc}",
    "{job} - {s}",
]
JOB_PARTS = ["daily", "hourly", "orders", "users", "events", "billing", "clicks", "ledger"]
NOTES = ["Paged at night.", "Noticed by the data team.", "Dashboards were stale.",
         "Happened during the nightly load.", "Second time this week.", "",
         "Downstream jobs waited.", "Customer reports were late."]  # fmt: skip


@dataclass
class Problem:
    """One kind of incident: where, what it looks like, and how well each fix works over time."""

    name: str
    service: str
    symptom: str
    rate: float  # incidents per day
    fixes: dict[str, float]  # fix -> success probability
    usual: str  # what people reach for
    drift_at: datetime | None = None  # from then on the usual fix mostly fails
    after_drift: dict[str, float] = field(default_factory=dict)
    unseen: bool = False  # appears only after the history ends

    def success_p(self, fix: str, at: datetime) -> float:
        """The true probability that FIX resolves this problem at time AT."""
        if self.drift_at is not None and at >= self.drift_at:
            return self.after_drift.get(fix, 0.02)
        return self.fixes.get(fix, 0.02)

    def best_fix(self, at: datetime) -> str:
        """The fix that works best at time AT (the right answer)."""
        table = (
            self.after_drift if self.drift_at is not None and at >= self.drift_at else self.fixes
        )
        return max(table, key=lambda f: table[f])


@dataclass
class SynthRow:
    """A generated incident with its truth (best fix now, the problem it belongs to)."""

    timestamp: datetime
    title: str
    description: str
    service: str
    severity: str
    solution: str
    success: bool
    problem: Problem
    resolution_min: int


def _problems(rng: random.Random, vocab: str, start: datetime, end: datetime) -> list[Problem]:
    """Problems spread over services; symptoms reused across services with different fixes."""
    services, fixes, symptoms = SERVICES[vocab], FIXES[vocab], list(SYMPTOMS[vocab])
    span = (end - start).total_seconds()
    problems: list[Problem] = []
    for service in services:
        for symptom in rng.sample(symptoms, 5):
            options = rng.sample(fixes, 3)
            best_p = rng.uniform(0.75, 0.97)
            table = {options[0]: best_p, options[1]: rng.uniform(0.3, best_p - 0.15),
                     options[2]: rng.uniform(0.05, 0.4)}  # fmt: skip
            usual = options[0] if rng.random() < 0.7 else options[1]
            kind = rng.random()
            rate = rng.uniform(0.02, 0.08) if kind < 0.2 else rng.uniform(0.3, 2.0)
            p = Problem(f"{service}/{symptom}", service, symptom, rate, table, usual)
            if kind > 0.85:  # the usual fix stops working late; another takes its place
                p.usual = options[0]
                p.drift_at = start + timedelta(seconds=span * rng.uniform(0.75, 0.85))
                p.after_drift = {
                    options[0]: rng.uniform(0.05, 0.25),
                    options[1]: rng.uniform(0.8, 0.95),
                    options[2]: table[options[2]],
                }
            problems.append(p)
        # A problem on this service that the history never shows.
        left = [s for s in symptoms if f"{service}/{s}" not in {q.name for q in problems}]
        unseen = rng.choice(left)
        problems.append(Problem(f"{service}/{unseen}", service, unseen, 0.5,
                                {rng.choice(fixes): 0.9}, "", unseen=True))  # fmt: skip
    return problems


def _pick_fix(rng: random.Random, p: Problem, at: datetime) -> str:
    """What a person reaches for: mostly the usual fix, sometimes another; after a drift people
    gradually move to what works."""
    fixes = list(p.fixes)
    if p.drift_at is not None and at >= p.drift_at:
        weeks = (at - p.drift_at).days / 7
        if rng.random() < min(0.8, 0.15 + 0.12 * weeks):
            return p.best_fix(at)
    if rng.random() < 0.75:
        return p.usual
    return rng.choice(fixes)


def _text(rng: random.Random, vocab: str, p: Problem) -> tuple[str, str]:
    """A paraphrased title and description for one incident of problem P."""
    phrases, log_line = SYMPTOMS[vocab][p.symptom]
    job = f"{rng.choice(JOB_PARTS)}_{rng.choice(JOB_PARTS)}_{rng.randint(1, 40)}"
    title = rng.choice(FRAMES).format(s=rng.choice(phrases), svc=p.service, job=job)
    desc = (
        f"{rng.choice(phrases).capitalize()} seen on {p.service}. {rng.choice(NOTES)} "
        f"Log: {log_line} (host node-{rng.randint(1, 60)}, run {rng.randint(1000, 99999)})"
    )
    return title, desc.replace("  ", " ")


def _incident(rng: random.Random, vocab: str, p: Problem, at: datetime) -> SynthRow:
    """One incident of P at AT, fixed the way a person would have."""
    title, desc = _text(rng, vocab, p)
    fix = _pick_fix(rng, p, at) if not p.unseen else p.best_fix(at)
    ok = rng.random() < p.success_p(fix, at)
    severity = rng.choice(["warning", "error", "error", "critical"])
    return SynthRow(at, title, desc, p.service, severity, fix, ok, p, rng.randint(5, 240))


def _arrivals(rng: random.Random, p: Problem, start: datetime, end: datetime) -> list[datetime]:
    """Poisson arrival times of P's incidents between START and END."""
    times: list[datetime] = []
    t = start
    while True:
        t += timedelta(days=rng.expovariate(p.rate))
        if t >= end:
            return times
        times.append(t)


@dataclass
class SynthHistory:
    """A training history, a test period after it, and the problems behind both."""

    train: list[SynthRow]
    test: list[SynthRow]
    problems: list[Problem]


def generate(
    seed: int, vocab: str = "a", days: int = 365, test_days: int = 14, scale: float = 1.0
) -> SynthHistory:
    """A history of DAYS days (then TEST_DAYS of test incidents); SCALE multiplies the rates."""
    rng = random.Random(seed)  # noqa: S311  (a reproducible simulation, not cryptography)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=days)
    test_end = end + timedelta(days=test_days)
    problems = _problems(rng, vocab, start, end)
    rows: list[SynthRow] = []
    for p in problems:
        p.rate *= scale
        begin = end if p.unseen else start
        rows.extend(_incident(rng, vocab, p, at) for at in _arrivals(rng, p, begin, test_end))
    rows.sort(key=lambda r: r.timestamp)
    train = [r for r in rows if r.timestamp < end]
    test = [r for r in rows if r.timestamp >= end]
    return SynthHistory(train, test, problems)


def write_csv(rows: list[SynthRow], path: Path, *, with_outcome: bool = True) -> None:
    """Write ROWS as a history CSV (a test file leaves solution and success empty)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([
                r.timestamp.isoformat(timespec="seconds"), r.title, r.description, r.service,
                r.severity, r.resolution_min, r.solution if with_outcome else "",
                "synthetic", ("true" if r.success else "false") if with_outcome else "",
            ])  # fmt: skip
