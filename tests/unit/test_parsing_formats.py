"""Parsing the common log formats: time, level, service, ids, and the body masking starts from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from oncall_agent.errors import ConfigError
from oncall_agent.sources import log_formats
from oncall_agent.sources.parsing import PARSER_NAMES, check_parser, parse_line, split_header

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)
LOGHUB = Path(__file__).parent.parent / "data" / "loghub"

# (line, timestamp, level, service, body): one realistic line per format.
LINES = [
    (  # nginx access log, combined format, a 502
        '203.0.113.9 - - [01/May/2024:10:00:02 +0200] "POST /api/orders?id=7 HTTP/1.1" 502 157 '
        '"-" "Mozilla/5.0 (X11; Linux x86_64)"',
        datetime(2024, 5, 1, 8, 0, 2, tzinfo=UTC), "ERROR", None, "",
    ),
    (  # nginx error log
        "2024/05/01 10:00:03 [error] 3123#3123: *4711 upstream timed out (110: Connection timed "
        'out) while reading response header from upstream, client: 203.0.113.9, server: shop',
        datetime(2024, 5, 1, 10, 0, 3, tzinfo=UTC), "ERROR", "nginx",
        "upstream timed out (110: Connection timed out) while reading response header from "
        "upstream, client: 203.0.113.9, server: shop",
    ),
    (  # Apache 2.4 error log
        "[Wed May 01 10:00:04.123456 2024] [core:error] [pid 4242:tid 140] [client 10.0.0.5:51234]"
        " AH00124: Request exceeded the limit of 10 internal redirects",
        datetime(2024, 5, 1, 10, 0, 4, 123456, tzinfo=UTC), "ERROR", "apache",
        "AH00124: Request exceeded the limit of 10 internal redirects",
    ),
    (  # PostgreSQL, default log_line_prefix '%m [%p] '
        '2024-05-01 10:00:05.123 UTC [8123] ERROR:  duplicate key value violates unique '
        'constraint "orders_pkey"',
        datetime(2024, 5, 1, 10, 0, 5, 123000, tzinfo=UTC), "ERROR", "postgresql",
        'duplicate key value violates unique constraint "orders_pkey"',
    ),
    (  # PostgreSQL with user@database in the prefix, a FATAL
        '2024-05-01 10:00:06.001 UTC [8124] app@orders FATAL:  password authentication failed '
        'for user "app"',
        datetime(2024, 5, 1, 10, 0, 6, 1000, tzinfo=UTC), "FATAL", "postgresql",
        'password authentication failed for user "app"',
    ),
    (  # Airflow 2.x task log
        "[2024-05-01, 10:00:07 UTC] {taskinstance.py:2698} ERROR - Task failed with exception",
        datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC), "ERROR", "airflow",
        "Task failed with exception",
    ),
    (  # Airflow 1.10 task log
        "[2021-03-01 10:00:07,412] {taskinstance.py:1150} ERROR - Executor reports task failed",
        datetime(2021, 3, 1, 10, 0, 7, 412000, tzinfo=UTC), "ERROR", "airflow",
        "Executor reports task failed",
    ),
    (  # Airflow scheduler log (2.7+ format)
        "[2024-05-01T10:00:08.250+0000] {scheduler_job_runner.py:1723} WARNING - Marked 1 "
        "SchedulerJob instances as failed",
        datetime(2024, 5, 1, 10, 0, 8, 250000, tzinfo=UTC), "WARNING", "airflow",
        "Marked 1 SchedulerJob instances as failed",
    ),
    (  # Python logging's usual format
        "2024-05-01 10:00:09,500 - billing.db - ERROR - could not serialize access",
        datetime(2024, 5, 1, 10, 0, 9, 500000, tzinfo=UTC), "ERROR", None,
        "could not serialize access",
    ),
    (  # A generic ISO line with a bracketed thread
        "2024-05-01T10:00:10Z WARN [worker-3] cache miss storm on key users:42",
        datetime(2024, 5, 1, 10, 0, 10, tzinfo=UTC), "WARNING", None,
        "cache miss storm on key users:42",
    ),
    (  # rsyslog with an ISO timestamp
        "2024-05-01T10:00:11.5+02:00 web-1 kernel: Out of memory: Killed process 4242 (java)",
        datetime(2024, 5, 1, 8, 0, 11, 500000, tzinfo=UTC), None, "kernel",
        "Out of memory: Killed process 4242 (java)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("line", "moment", "level", "service", "body"), LINES)
def test_each_format_gives_time_level_service_and_body(
    line: str, moment: datetime, level: str | None, service: str | None, body: str
) -> None:
    """A line of each supported format is read for its time, level, service and message body."""
    parsed = parse_line(line, NOW)
    assert (parsed.timestamp, parsed.level, parsed.service) == (moment, level, service)
    assert parsed.message == line
    if body:
        assert split_header(line) == ("", body)


@pytest.mark.parametrize(
    ("status", "level"), [("500", "ERROR"), ("503", "ERROR"), ("404", "WARNING"), ("200", "INFO")]
)
def test_access_log_level_follows_the_status(status: str, level: str) -> None:
    """In an access log a 5xx is an error, a 4xx a warning, anything else routine."""
    line = f'10.0.0.1 - bob [01/May/2024:10:00:00 +0000] "GET /ERRORS HTTP/1.1" {status} 12'
    parsed = parse_line(line, NOW)
    assert parsed.level == level
    assert parsed.attributes["status"] == status and parsed.attributes["path"] == "/ERRORS"


def test_access_log_kind_is_method_route_and_status() -> None:
    """An access line's kind keeps method, first path segment and status; ids and query go."""
    first = '1.2.3.4 - - [01/May/2024:10:00:00 +0000] "GET /orders/42?x=1 HTTP/1.1" 502 9 "-" "a"'
    second = '5.6.7.8 - - [02/May/2024:11:00:00 +0000] "GET /orders/77 HTTP/2.0" 502 0 "-" "b"'
    assert split_header(first) == ("GET /orders 502", "")
    assert split_header(first) == split_header(second)
    assert split_header(first.replace(" 502 ", " 504 "))[0] == "GET /orders 504"


def test_postgres_continuation_lines_have_no_level() -> None:
    """DETAIL, HINT and STATEMENT lines add to the line before them and carry no level."""
    line = "2024-05-01 10:00:05.124 UTC [8123] DETAIL:  Key (id)=(42) already exists."
    assert parse_line(line, NOW).level is None
    assert parse_line(line.replace("DETAIL", "LOG"), NOW).level == "INFO"


def test_airflow_ids_become_attributes() -> None:
    """dag_id, task_id and run_id written in an Airflow line are kept for the action."""
    line = (
        "[2024-05-01, 10:00:07 UTC] {taskinstance.py:1206} INFO - Marking task as FAILED. "
        "dag_id=etl_daily, task_id=load, run_id=scheduled__2024-05-01T00:00:00+00:00, "
        "execution_date=20240501T000000"
    )
    attributes = parse_line(line, NOW).attributes
    assert attributes["dag_id"] == "etl_daily" and attributes["task_id"] == "load"
    assert attributes["run_id"] == "scheduled__2024-05-01T00:00:00+00:00"


def test_json_line_keeps_its_ids() -> None:
    """A JSON line's dag/task ids and host become attributes like a text line's."""
    parsed = parse_line('{"msg": "boom", "level": "ERROR", "dag_id": "etl", "host": "w1"}', NOW)
    assert parsed.attributes == {"dag_id": "etl", "host": "w1"}


@pytest.mark.parametrize(
    ("system", "parser", "service"),
    [
        ("Apache", "apache-error", "apache"), ("HDFS", "hdfs", None), ("Hadoop", "log4j", None),
        ("Linux", "syslog", "sshd"), ("OpenSSH", "syslog", "sshd"),
        ("OpenStack", "openstack", "nova"), ("Spark", "spark", None),
        ("Zookeeper", "zookeeper", None),
    ],
)  # fmt: skip
def test_loghub_lines_are_recognised(system: str, parser: str, service: str | None) -> None:
    """The first lines of each LogHub sample parse with a time, under the expected format."""
    lines = (LOGHUB / system / f"{system}_2k.log").read_text(encoding="utf-8").splitlines()
    if system == "OpenStack":  # LogHub wrote each line's file name in front: not nova's format
        lines = [line.split(" ", 1)[1] for line in lines]
    for line in lines[:50]:
        parsed = parse_line(line, NOW, parser=parser)
        assert parsed.timestamp is not None, line
        assert parse_line(line, NOW) == parsed, line  # auto-detection agrees
    first = parse_line(lines[2], NOW)
    assert first.service == service or (system == "Linux" and first.service is not None)


def test_specific_formats_never_overlap() -> None:
    """No line of the samples or tests matches two specific formats (the parser relies on it)."""
    specific = [f for f in log_formats.FORMATS if f is not log_formats.GENERIC]
    lines = [line for line, *_ in LINES]
    for path in LOGHUB.glob("*/*_2k.log"):
        lines += path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert sum(1 for f in specific if f.match(line)) <= 1, line


def test_forced_parser_reads_only_its_format() -> None:
    """A source told to use one parser does not guess another format; a plain parser reads none."""
    line = "2024-05-01 10:00:05.123 UTC [8123] ERROR:  relation does not exist"
    assert parse_line(line, NOW, parser="postgresql").service == "postgresql"
    assert parse_line(line, NOW, parser="syslog").service is None
    assert parse_line(line, NOW, parser="plain").timestamp is None


def test_unknown_parser_is_refused_with_the_known_names() -> None:
    """A typo in a parser name is a configuration error that lists every known parser."""
    with pytest.raises(ConfigError, match=r"unknown log parser 'ngnix'.*nginx-error"):
        check_parser("ngnix")
    assert "auto" in PARSER_NAMES and "json" in PARSER_NAMES
