"""Logs made up for the grouping benchmark: templated messages behind varied headers.

Nothing in the agent was written for these: each system gets a header assembled at random
(time form, host, pid, level style, thread, component, separators) and message templates
assembled at random from a vocabulary, with variable fields of many kinds (numbers, ids,
addresses, paths, durations, and plain words such as user or table names that no masking rule
can recognise). A quarter of the templates have a sibling that differs in one constant word at
a random position, as real events do (started / stopped). The truth of each line is the
template it was made from. Seeded: every run makes the same files.

An earlier version changed only the verb, always the second token, which the miner's two-token
prefix tree separates by construction; siblings now differ anywhere, which is harder for every
parser (Drain3 included) and not shaped like the miner.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

WORDS = [
    "cache",
    "queue",
    "worker",
    "request",
    "session",
    "replica",
    "shard",
    "volume",
    "index",
    "backup",
    "snapshot",
    "lease",
    "token",
    "upload",
    "download",
    "stream",
    "batch",
    "partition",
    "segment",
    "checkpoint",
    "schema",
    "table",
    "column",
    "record",
    "message",
    "channel",
    "listener",
    "handler",
    "scheduler",
    "executor",
    "driver",
    "pool",
    "connection",
    "socket",
    "buffer",
    "heartbeat",
    "election",
    "leader",
    "follower",
    "commit",
    "rollback",
    "migration",
    "tenant",
    "account",
    "invoice",
    "order",
    "payment",
    "report",
    "export",
    "import",
    "sync",
    "refresh",
    "retry",
    "timeout",
    "limit",
    "quota",
    "threshold",
    "policy",
    "rule",
    "metric",
    "counter",
    "gauge",
    "alert",
    "probe",
    "health",
    "check",
    "config",
    "secret",
    "certificate",
    "key",
    "credential",
]
VERBS = [
    "started",
    "stopped",
    "failed",
    "finished",
    "skipped",
    "paused",
    "resumed",
    "rejected",
    "accepted",
    "expired",
    "created",
    "deleted",
    "updated",
    "opened",
    "closed",
    "evicted",
    "flushed",
    "scheduled",
    "cancelled",
    "restored",
    "dropped",
]
GLUE = ["for", "on", "in", "from", "to", "after", "while", "with", "by", "of", "at"]
NAMES = [f"{a}{b}" for a in ("al", "bo", "cy", "di", "ed", "fa", "gu") for b in ("ma", "ri", "to")]
LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")


def _variable(rng: random.Random) -> Callable[[random.Random], str]:
    """A kind of variable field, as a function that draws one value."""
    kinds: list[Callable[[random.Random], str]] = [
        lambda r: str(r.randint(0, 99999)),
        lambda r: f"{r.random() * 100:.2f}",
        lambda r: f"{r.getrandbits(48):012x}",
        lambda r: str(uuid.UUID(int=r.getrandbits(128))),
        lambda r: (
            f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
            f":{r.randint(1024, 65535)}"
        ),
        lambda r: "/" + "/".join(r.choice(WORDS) for _ in range(r.randint(1, 4))),
        lambda r: f"{r.randint(1, 5000)}ms",
        lambda r: r.choice(NAMES),
        lambda r: f"'{r.choice(WORDS)}_{r.choice(WORDS)}'",
        lambda r: f"id={r.randint(1, 10**6)}",
    ]
    return rng.choice(kinds)


@dataclass
class Template:
    """A message template: constant words and variable slots (None)."""

    parts: list[str | None]
    fields: list[Callable[[random.Random], str]]

    def render(self, rng: random.Random) -> str:
        """One message of this template."""
        values = iter(field(rng) for field in self.fields)
        return " ".join(part if part is not None else next(values) for part in self.parts)


def _template(rng: random.Random) -> Template:
    """A random template of 3 to 12 tokens with 0 to 3 variable slots."""
    words = [rng.choice(WORDS), rng.choice(VERBS)]
    for _ in range(rng.randint(1, 10)):
        words.append(rng.choice(GLUE if rng.random() < 0.3 else WORDS))
    parts: list[str | None] = list(words)
    slots = rng.sample(range(1, len(parts) + 1), k=min(rng.randint(0, 3), len(parts)))
    for slot in sorted(slots, reverse=True):
        parts.insert(slot, None)
    return Template(parts, [_variable(rng) for part in parts if part is None])


def _sibling(rng: random.Random, template: Template) -> Template:
    """TEMPLATE with one constant word changed, anywhere in it: another kind of event that reads
    almost the same (a verb: started / stopped, or any other word)."""
    parts = list(template.parts)
    index = rng.choice([i for i, part in enumerate(parts) if part is not None])
    pool = VERBS if parts[index] in VERBS else WORDS
    parts[index] = rng.choice([word for word in pool if word != parts[index]])
    return Template(parts, template.fields)


def _header(rng: random.Random) -> Callable[[random.Random, int, str], str]:
    """A random header layout, as a function of (rng, line number, level)."""
    stamp = rng.choice(
        [
            lambda n: (
                f"2024-05-{1 + n // 5000:02d}T10:{n // 60 % 60:02d}:{n % 60:02d}.{n % 1000:03d}Z"
            ),
            lambda n: f"2024-05-01 10:{n // 60 % 60:02d}:{n % 60:02d},{n % 1000:03d}",
            lambda n: f"May  {1 + n // 5000} 10:{n // 60 % 60:02d}:{n % 60:02d}",
            lambda n: f"{1714557600 + n}.{n % 1000:03d}",
            lambda n: f"[01/May/2024:10:{n // 60 % 60:02d}:{n % 60:02d} +0000]",
            lambda n: f"2024/05/01 10:{n // 60 % 60:02d}:{n % 60:02d}",
        ]
    )
    host = rng.choice([None, "node-{}", "web{}", "db-{}.prod.internal", "ip-10-0-0-{}"])
    pid = rng.choice([None, "{}", "[{}]"])
    level = rng.choice(["{}", "[{}]", "<{}>", "{}:", "[{}]".lower()])
    thread = rng.choice([None, "[worker-{}]", "[main]", "(thread {})"])
    component = rng.choice([None, "svc.{}.Handler:", "{}[{}]:", "{}:"])
    sep = rng.choice([" ", " | ", " - "])

    def render(r: random.Random, n: int, lvl: str) -> str:
        fields = [stamp(n)]
        if host:
            fields.append(host.format(r.randint(1, 40)))
        if pid:
            fields.append(pid.format(r.randint(100, 40000)))
        fields.append(level.format(lvl if level != "[{}]".lower() else lvl.lower()))
        if thread:
            fields.append(thread.format(r.randint(1, 16)))
        if component:
            fields.append(component.format(r.choice(WORDS), r.randint(100, 999)))
        return sep.join(fields)

    return render


@dataclass
class GeneratedLog:
    """One made-up system: its lines, each line's template id and message (its true content)."""

    name: str
    lines: list[str]
    truth: list[str]
    contents: list[str]


def generate(seed: int, lines: int = 2000) -> GeneratedLog:
    """A made-up system's log of LINES lines, from SEED."""
    rng = random.Random(seed)
    header = _header(rng)
    templates = [_template(rng) for _ in range(rng.randint(15, 60))]
    templates += [_sibling(rng, t) for t in rng.sample(templates, k=len(templates) // 4)]
    weights = [rng.paretovariate(1.2) for _ in templates]
    levels = {id(t): rng.choices(LEVELS, weights=(6, 2, 2, 1))[0] for t in templates}
    out = GeneratedLog(f"gen-{seed}", [], [], [])
    for n in range(lines):
        index = rng.choices(range(len(templates)), weights=weights)[0]
        message = templates[index].render(rng)
        out.lines.append(f"{header(rng, n, levels[id(templates[index])])} {message}")
        out.truth.append(f"T{index}")
        out.contents.append(message)
    return out
