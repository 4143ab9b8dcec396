"""Log lines for the resolution benchmark: N errors that stay distinct after masking.

Masking turns every token holding a digit into a placeholder, so lines are told apart by words:
each line names its own component (a unique combination of three plain words). The kinds rotate
between an error the knowledge base knows (pool exhausted, disk full) and one it does not, so the
benchmark exercises both a knowledge match with confidence scoring and a plain escalation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product
from pathlib import Path

SERVICE = "bench-api"
_FIRST = (
    "amber",
    "brisk",
    "cobalt",
    "dusky",
    "ember",
    "frosty",
    "golden",
    "hazel",
    "ivory",
    "jade",
    "khaki",
    "lunar",
)
_SECOND = (
    "anchor",
    "beacon",
    "cinder",
    "delta",
    "falcon",
    "glacier",
    "harbor",
    "island",
    "juniper",
    "kestrel",
    "lagoon",
    "meadow",
)
_THIRD = ("ledger", "router", "mailer", "indexer", "scheduler", "gateway")
_KINDS = (
    "reconciliation failed for batch 4242 in {c}: checksum mismatch expected=ab12 actual=cd34",
    "connection pool exhausted in {c}: size=10 in_use=10 waiting=17 timeout=30s",
    "failed to write /srv/archive/export-77.log for {c}: [Errno 28] No space left on device",
)
MAX_INCIDENTS = len(_FIRST) * len(_SECOND) * len(_THIRD)


def component_names(n: int) -> list[str]:
    """N distinct component names made only of letters and dashes (masking keeps them)."""
    if n > MAX_INCIDENTS:
        raise ValueError(f"at most {MAX_INCIDENTS} distinct incidents are supported, got {n}")
    names = (f"{a}-{b}-{c}" for c, b, a in product(_THIRD, _SECOND, _FIRST))
    return [name for _, name in zip(range(n), names, strict=False)]


def error_lines(n: int, now: datetime | None = None) -> list[str]:
    """N log lines, one distinct error each, in the demo service's line format."""
    stamp = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [
        f"{stamp} ERROR {SERVICE} [{name}] {_KINDS[i % len(_KINDS)].format(c=name)}"
        for i, name in enumerate(component_names(n))
    ]


def write_log(path: Path, n: int) -> Path:
    """Write N distinct error lines to PATH (replacing it); return PATH."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(error_lines(n)) + "\n", encoding="utf-8")
    return path
