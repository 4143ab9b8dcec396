"""ISO-timestamped lines: a level word after the timestamp is a level, never a syslog host."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oncall_agent.sources.parsing import parse_line

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "line",
    [
        "2024-05-01T10:00:00Z ERROR pool: connection pool exhausted",
        "2024-05-01 10:00:00 ERROR worker: job 7 failed",
        "2024-05-01T10:00:00.5+02:00 WARN cache: miss storm",
    ],
)
def test_level_after_iso_timestamp_is_not_a_host(line: str) -> None:
    """The level is read as the level, and no bogus `host` attribute such as 'ERROR' appears."""
    parsed = parse_line(line, NOW)
    assert parsed.level in ("ERROR", "WARNING")
    assert "host" not in parsed.attributes


def test_iso_syslog_line_keeps_its_host() -> None:
    """A real rsyslog line with an ISO timestamp still gives its host and program."""
    parsed = parse_line("2024-05-01T10:00:00.123+02:00 web01 sshd[123]: Failed password", NOW)
    assert (parsed.attributes.get("host"), parsed.service) == ("web01", "sshd")
