"""Parsing lines: timestamps in the common formats, levels, syslog programs and JSON fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oncall_agent.sources.parsing import parse_level, parse_line, parse_timestamp

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2024-05-01T10:00:00Z start", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00.250+02:00 x", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2015-10-18 18:01:47,978 INFO", datetime(2015, 10, 18, 18, 1, 47, 978000, tzinfo=UTC)),
        ("Jun 14 15:16:01 combo sshd", datetime(2024, 6, 14, 15, 16, 1, tzinfo=UTC)),
        ("17/06/09 20:10:40 INFO spark", datetime(2017, 6, 9, 20, 10, 40, tzinfo=UTC)),
        ("081109 203615 148 INFO dfs", datetime(2008, 11, 9, 20, 36, 15, tzinfo=UTC)),
        ("[Sun Dec 04 04:47:44 2005] [error]", datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)),
        (
            '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200',
            datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC),
        ),
        (
            "nova-api.log.1 2017-05-16 00:00:00.008 25746 INFO nova",
            datetime(2017, 5, 16, 0, 0, 0, 8000, tzinfo=UTC),
        ),
    ],
)
def test_timestamps_in_common_formats(line: str, expected: datetime) -> None:
    """Each supported format gives an aware UTC datetime (no zone means UTC)."""
    assert parse_timestamp(line, NOW) == expected


def test_syslog_date_from_last_year_in_january() -> None:
    """A syslog date without year that would lie in the future belongs to last year."""
    january = datetime(2024, 1, 2, tzinfo=UTC)
    assert parse_timestamp("Dec 31 23:59:59 host x", january) == datetime(
        2023, 12, 31, 23, 59, 59, tzinfo=UTC
    )


def test_no_timestamp_and_impossible_dates_give_none() -> None:
    """Lines without a time, or with an impossible one, have no timestamp."""
    assert parse_timestamp("just words", NOW) is None
    assert parse_timestamp("2024-13-45T99:00:00Z bad", NOW) is None


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("2024-05-01 10:00:00 WARN disk at 91%", "WARNING"),
        ("2024-05-01 10:00:00 - ERROR [main] boom", "ERROR"),
        ("[Sun Dec 04 04:47:44 2005] [error] mod_jk", "ERROR"),
        ("[Sun Dec 04 04:47:44 2005] [crit] oops", "CRITICAL"),
        ("2024-05-01 FATAL exiting", "FATAL"),
        ("an error happened, lowercase words are not levels", None),
    ],
)
def test_levels(line: str, level: str | None) -> None:
    """Upper-case level words and bracketed Apache levels are read; prose is not."""
    assert parse_level(line) == level


def test_json_line_gives_its_own_fields() -> None:
    """A JSON line's message, level, service and timestamp come from its keys."""
    parsed = parse_line(
        '{"ts": 1714557600, "level": "warn", "msg": "slow query", "service": "orders"}', NOW
    )
    assert parsed.message == "slow query"
    assert parsed.level == "WARNING"
    assert parsed.service == "orders"
    assert parsed.timestamp == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def test_broken_json_is_plain_text() -> None:
    """A line that only looks like JSON is parsed as text."""
    parsed = parse_line('{"message": "cut in the mid', NOW)
    assert parsed.message == '{"message": "cut in the mid'
    assert parsed.service is None


def test_syslog_program_is_the_service() -> None:
    """In a syslog line the program name (without pid or facility) is the service."""
    line = "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure"
    assert parse_line(line, NOW).service == "sshd"
