"""Alert patterns: the defaults fire on what on-call meets, not on look-alikes; bad regexes fail."""

from __future__ import annotations

import pytest

from oncall_agent.detection.patterns import (
    DEFAULT_PATTERNS,
    AlertPattern,
    compile_patterns,
    default_pattern_set,
)
from oncall_agent.errors import PatternError
from oncall_agent.models import Severity

# One realistic line per default pattern, and the pattern that must win on it.
REALISTIC = {
    "db-pool-exhausted": "2024-05-01 10:00:00 ERROR [orders] sqlalchemy.exc.TimeoutError: "
    "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30",
    "redis-connection-refused": "redis.exceptions.ConnectionError: Error 111 connecting to "
    "cache-1:6379. Connection refused.",
    "db-connection-refused": "psycopg2.OperationalError: could not connect to server: Connection "
    'refused. Is the server running on host "db.internal" and accepting TCP/IP connections?',
    "spark-executor-oom": "ERROR Executor: Exception in task 0.0 in stage 1.0 (TID 1): "
    "java.lang.OutOfMemoryError: Java heap space",
    "spark-executor-lost": "WARN TaskSetManager: Lost task 1.0 in stage 2.0 (TID 7, node3, "
    "executor 5): ExecutorLostFailure (executor 5 exited caused by one of the running tasks)",
    "airflow-task-timeout": "[2024-05-01, 10:00:00 UTC] {taskinstance.py:1937} ERROR - "
    "airflow.exceptions.AirflowTaskTimeout: Timeout, PID: 4242",
    "airflow-task-failed": "[2024-05-01, 10:00:00 UTC] {taskinstance.py:1400} INFO - Marking "
    "task as FAILED. dag_id=etl_daily, task_id=load, execution_date=20240501T000000",
    "out-of-memory": "kernel: Memory cgroup out of memory: Killed process 1234 (java) "
    "total-vm:8123456kB",
    "disk-full": "OSError: [Errno 28] No space left on device: '/var/lib/app/cache/blob'",
    "deadlock": "ERROR:  deadlock detected DETAIL: Process 123 waits for ShareLock on "
    "transaction 456; blocked by process 789.",
    "health-check-failing": "haproxy[77]: Health check for server api/api-2 failed, reason: "
    "Layer7 wrong status, code: 503",
    "http-5xx": '10.0.0.5 - - [01/May/2024:10:00:00 +0000] "GET /api/orders HTTP/1.1" 502 157 '
    '"-" "curl/8.0"',
    "timeout": "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='pay.example.com', "
    "port=443): Read timed out. (read timeout=10)",
    "auth-failure": "sshd[123]: Failed password for invalid user admin from 203.0.113.9 port "
    "22 ssh2",
    "network-error": "nginx: upstream connect error: connect() failed (111: Connection refused) "
    "while connecting to upstream",
    "fatal": "2024-05-01 10:00:00 FATAL [main] Application could not start: missing config",
    "error": "2024-05-01 10:00:00 ERROR [billing] InvoiceService: unexpected null customer",
    "error-words": "payments-worker[812]: unable to open /data/rates.csv: no such file",
}

# More ways the same problems show up.
VARIANTS = [
    ("HikariPool-1 - Connection is not available, request timed out after 30000ms.", "database"),
    ("FATAL:  sorry, too many clients already", "database"),
    ("Container killed by YARN for exceeding memory limits. 5.5 GB of 5.5 GB used", "spark"),
    ("Last State: Terminated  Reason: OOMKilled  Exit Code: 137", "memory"),
    ("Exception in thread main java.lang.OutOfMemoryError: Java heap space", "memory"),
    ("ERROR 1213 (40001): Deadlock found when trying to get lock; try restarting", "deadlock"),
    ("Readiness probe failed: Get http://10.1.2.3:8080/ready: connection refused", "health"),
    ('{"level":"warn","status":503,"path":"/api/pay"}', "http"),
    ("pam_unix(sshd:auth): authentication failure; rhost=1.2.3.4 user=root", "auth"),
    ("Traceback (most recent call last):", "error"),
    ("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", "error"),
]

# Look-alikes that a pattern matches but a suppression defuses.
SUPPRESSED = [
    "2024-05-01 10:00:00 INFO metrics: SocketTimeoutException=0 error_rate=0.00 p99=120ms",
    "2024-05-01 10:00:00 INFO DagRun etl_daily finished: 0 failed jobs, 12 succeeded",
    '10.0.0.5 - - [01/May/2024:10:00:00 +0000] "GET /kb/OutOfMemoryError HTTP/1.1" 200 5120',
    "2024-05-01 10:00:00 WARN db: could not connect to postgres, retrying in 2s... connected",
    "2024-05-01 10:00:00 WARNING the TimeoutError alias is deprecated; use builtins.TimeoutError",
]
# Look-alikes that must not alert, whether or not a suppression is involved.
FALSE_POSITIVES = [
    *SUPPRESSED,
    "2024-05-01 10:00:00 INFO metrics: error_rate=0.00 p99=120ms",
    "2024-05-01 10:00:00 INFO scheduler: run complete, 0 failed jobs, 12 succeeded",
    '10.0.0.5 - - [01/May/2024:10:00:00 +0000] "GET /errors HTTP/1.1" 200 512',
    "2024-05-01 10:00:00 INFO health check ok for api-2 (200 in 12ms)",
    "2024-05-01 10:00:00 INFO Block rdd_2_0 stored as bytes in memory (estimated size 16.0 B)",
]


def test_every_default_pattern_has_a_realistic_line() -> None:
    """The table of realistic lines covers every built-in pattern."""
    assert set(REALISTIC) == {p.name for p in DEFAULT_PATTERNS}


@pytest.mark.parametrize("name", sorted(REALISTIC))
def test_default_pattern_fires_on_realistic_line(name: str) -> None:
    """Each built-in pattern is the first to match its realistic line."""
    found = default_pattern_set().match(REALISTIC[name])
    assert found is not None and found.name == name


@pytest.mark.parametrize(("line", "category"), VARIANTS)
def test_variants_get_the_right_category(line: str, category: str) -> None:
    """Other phrasings of the same problems land in the expected category."""
    found = default_pattern_set().match(line)
    assert found is not None and found.category == category


@pytest.mark.parametrize("line", FALSE_POSITIVES)
def test_look_alikes_do_not_alert(line: str) -> None:
    """Zero counters, successful requests, recovered retries and deprecations raise nothing."""
    assert default_pattern_set().match(line) is None


@pytest.mark.parametrize("line", SUPPRESSED)
def test_look_alikes_would_alert_without_suppressions(line: str) -> None:
    """The suppressed look-alikes do match a pattern: the suppressions are what silences them."""
    assert compile_patterns(DEFAULT_PATTERNS, suppressions=[]).match(line) is not None


def test_suppression_does_not_hide_a_real_error_on_the_same_line() -> None:
    """A benign span is blanked, but an alert elsewhere on the line still fires."""
    line = "ERROR payment call failed: TimeoutError after 3 tries; error_rate=0.00"
    found = default_pattern_set().match(line)
    assert found is not None and found.category == "timeout"


def test_invalid_regex_raises_pattern_error_naming_it() -> None:
    """A regex that does not compile is refused with the pattern's name and the reason."""
    bad = AlertPattern(name="broken-one", regex="payment (declined", category="payments")
    with pytest.raises(PatternError) as caught:
        compile_patterns([bad])
    message = str(caught.value)
    assert "broken-one" in message
    assert "payment (declined" in message
    assert "missing )" in message


def test_duplicate_names_are_refused() -> None:
    """Two patterns with one name cannot be compiled together."""
    twice = [AlertPattern(name="x", regex="a", category="c")] * 2
    with pytest.raises(PatternError, match="used twice"):
        compile_patterns(twice)


def test_first_matching_pattern_wins() -> None:
    """Priority is the order given: a specific pattern placed first beats the catch-all."""
    specific = AlertPattern(name="payments", regex=r"payment declined", category="payments")
    patterns = compile_patterns([specific, *DEFAULT_PATTERNS])
    found = patterns.match("ERROR payment declined for order 42")
    assert found is not None and found.name == "payments"


def test_pattern_limited_to_services() -> None:
    """A pattern with services fires only for those services."""
    scoped = AlertPattern(
        name="checkout-slow", regex="slow checkout", category="latency", services=["shop"]
    )
    patterns = compile_patterns([scoped], suppressions=[])
    assert patterns.match("slow checkout: 9s", service="shop") is not None
    assert patterns.match("slow checkout: 9s", service="blog") is None


def test_patterns_without_keywords_and_with_backreferences_still_match() -> None:
    """Regexes the prefilter cannot summarise are tried on every line, and still match."""
    patterns = compile_patterns(
        [
            AlertPattern(name="phone", regex=r"\d{3}-\d{4}", category="pii"),
            AlertPattern(name="stutter", regex=r"\b(\w+) \1\b", category="typo"),
        ],
        suppressions=[],
    )
    found = patterns.match("call 555-1234 now")
    assert found is not None and found.name == "phone"
    found = patterns.match("the the cat")
    assert found is not None and found.name == "stutter"


def test_user_pattern_is_case_insensitive_unless_it_says_otherwise() -> None:
    """Patterns match regardless of case; (?-i:...) keeps case where a pattern needs it."""
    patterns = compile_patterns(
        [
            AlertPattern(name="loose", regex="payment declined", category="p"),
            AlertPattern(name="strict", regex="(?-i:CARD)", category="c"),
        ],
        suppressions=[],
    )
    assert patterns.match("PAYMENT DECLINED") is not None
    assert patterns.match("card expired") is None


def test_may_match_rejects_plain_info_lines() -> None:
    """The cheap prefilter already rejects a line no pattern can match."""
    patterns = default_pattern_set()
    assert not patterns.may_match("2024-05-01 10:00:00 INFO user 42 logged in from web")
    assert patterns.may_match("2024-05-01 10:00:00 ERROR boom")


def test_default_severities_rank_memory_above_auth() -> None:
    """Resource exhaustion is critical; single authentication failures are warnings."""
    by_name = {p.name: p for p in DEFAULT_PATTERNS}
    assert by_name["out-of-memory"].severity is Severity.CRITICAL
    assert by_name["auth-failure"].severity is Severity.WARNING
