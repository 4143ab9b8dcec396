"""The built-in alert patterns and suppressions, in priority order (specific before catch-all).

Every regex is matched case-insensitively; `(?-i:...)` marks parts that must match case. Bounded
gaps (`.{0,200}?`) instead of `.*` keep the worst case linear in practice.
"""

from __future__ import annotations

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.models import Severity

_DB = (
    r"(?:postgres(?:ql)?|psql|psycopg\d?|mysql|mariadb|jdbc|database|\bdb\b|sqlalchemy|oracle"
    r"|mongo(?:db)?|:5432|:3306|:27017)"
)
_CRIT, _ERR, _WARN = Severity.CRITICAL, Severity.ERROR, Severity.WARNING


def _p(name: str, category: str, severity: Severity, title: str, *regexes: str) -> AlertPattern:
    """A default pattern whose regex is the alternation of REGEXES."""
    return AlertPattern(
        name=name,
        category=category,
        severity=severity,
        title=title,
        regex="|".join(f"(?:{r})" for r in regexes),
    )


DEFAULT_PATTERNS: list[AlertPattern] = [
    _p("db-pool-exhausted", "database", _CRIT, "connection pool exhausted",
       r"connection pool (?:is )?(?:exhausted|full|timed? ?out)",
       r"pool limit of size \d+ overflow \d+ reached",
       r"too many (?:connections|clients)",
       r"remaining connection slots are reserved",
       r"unable to acquire jdbc connection",
       r"HikariPool-\d+ - Connection is not available"),
    _p("redis-connection-refused", "redis", _ERR, "connection refused",
       r"redis.{0,200}?(?:connection refused|error connecting|could not connect|connection reset)",
       r"(?:connection refused|could not connect|connectionerror).{0,200}?(?:redis|:6379)"),
    _p("db-connection-refused", "database", _CRIT, "connection refused",
       _DB + r".{0,200}?(?:connection refused|could not connect|can't connect|unable to connect"
       r"|connection (?:was )?reset)",
       r"(?:connection refused|could not connect|unable to connect).{0,200}?" + _DB,
       r"Communications link failure"),
    _p("spark-executor-oom", "spark", _CRIT, "executor out of memory",
       r"executor.{0,200}?(?:OutOfMemoryError|out of memory|exceeding (?:physical )?memory limits)",
       r"Container killed by YARN for exceeding memory limits"),
    _p("spark-executor-lost", "spark", _ERR, "executor lost",
       r"ExecutorLostFailure", r"Lost executor \d+", r"executor \d+ (?:lost|exited|was lost)"),
    _p("airflow-task-timeout", "airflow", _ERR, "task timed out",
       r"AirflowTaskTimeout", r"task .{0,120}?timed out after",
       r"execution_timeout .{0,60}?exceeded"),
    _p("airflow-task-failed", "airflow", _ERR, "task failed",
       r"Marking task as (?:FAILED|UP_FOR_RETRY)",
       r"Task failed with exception",
       r"Task exited with return code (?:[1-9]|-)",
       r"task instance .{0,200}?finished \(failed\)",
       r"DagRun .{0,200}? failed"),
    _p("out-of-memory", "memory", _CRIT, "out of memory",
       r"out of memory", r"OutOfMemoryError", r"java heap space", r"OOMKilled",
       r"oom[-_ ]?kill(?:er|ed)?", r"Cannot allocate memory", r"\bMemoryError\b",
       r"GC overhead limit exceeded", r"memory limit exceeded"),
    _p("disk-full", "disk", _CRIT, "disk full",
       r"No space left on device", r"\bENOSPC\b", r"disk (?:is )?full",
       r"disk quota exceeded", r"(?:insufficient|low) (?:free )?disk space",
       r"filesystem .{0,100}?(?:is )?(?:full|at 100%)"),
    _p("deadlock", "deadlock", _ERR, "deadlock",
       r"deadlock (?:found|detected)", r"Deadlock found when trying to get lock",
       r"lock wait timeout exceeded", r"\bdeadlock\b"),
    _p("health-check-failing", "health", _ERR, "health check failing",
       r"health ?check.{0,80}?(?:fail|unhealthy|timed out|error|returned [45]\d\d|not ok)",
       r"(?:liveness|readiness|startup) probe failed", r"\bunhealthy\b"),
    _p("http-5xx", "http", _ERR, "5xx responses",
       r"\"\s*[A-Z]+ \S+ HTTP/\d(?:\.\d)?\"\s+5\d\d\b",
       r"\bHTTP/\d(?:\.\d)?\"?\s+5\d\d\b",
       r"\b(?:http_)?status(?:_code|code)?\"?\s*[:=]\s*\"?5\d\d\b",
       r"\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)"),
    _p("timeout", "timeout", _ERR, "timeouts",
       r"\btimed out\b", r"Timeout(?:Exception|Error)", r"deadline exceeded",
       r"\b(?:read|connect|connection|socket|request|gateway|query|statement) timeout\b",
       r"\btimeout (?:exceeded|expired|reached)"),
    _p("auth-failure", "auth", _WARN, "authentication failures",
       r"authentication fail(?:ed|ure)", r"\bauth fail\b", r"Failed password for",
       r"invalid (?:user|credentials|password|token|api[ _-]?key)",
       r"permission denied", r"access denied", r"\bunauthorized\b", r"login failed",
       r"password authentication failed"),
    _p("network-error", "network", _ERR, "network errors",
       r"connection refused", r"connection reset by peer", r"no route to host",
       r"network is unreachable", r"\bbroken pipe\b", r"could not resolve host",
       r"name or service not known", r"ConnectException\b", r"UnknownHostException"),
    _p("fatal", "error", _CRIT, "",
       r"(?-i:\b(?:FATAL|CRITICAL|PANIC|EMERG(?:ENCY)?)\b)",
       r"\[(?:crit|alert|emerg)\]", r"\bfatal:", r"^panic:", r"\bKernel panic\b",
       r"\blevel\"?\s*[:=]\s*\"?(?:fatal|critical)\b"),
    _p("error", "error", _ERR, "",
       r"(?-i:\b(?:ERROR|SEVERE)\b)", r"\[error\]", r"\berror:",
       r"\blevel\"?\s*[:=]\s*\"?(?:error|err)\b",
       # No leading \w*: a search finds "IOException" by its tail alone, and faster.
       r"(?-i:Exception|Error)\b",
       r"\bexception (?:thrown|raised|occurred|caught|in thread)\b",
       r"\b(?:unexpected|unhandled|uncaught|caught|got|threw|throws?|raised?) (?:an? )?"
       r"(?:\w+ ){0,3}exception\b",
       r"Traceback \(most recent call last\)"),
    # Lines with no level of their own (access logs, plain stderr, syslog bodies) say "error" in
    # words: a general vocabulary of failure, never tuned to one system's sample.
    _p("error-words", "error", _ERR, "",
       r"\b(?:could not|couldn't|cannot|can't|unable to|failed to)\b",
       r"\b(?:failed|failure|refused|denied|rejected|aborted|crashed|unreachable)\b",
       r"\b(?:exception|segfault|segmentation fault|core dumped)\b"),
]  # fmt: skip

# Patterns that say no more than a level does ("ERROR", "Exception", "could not"): when a
# line's parsed level is known, the level decides (see detector.judge_level). Every other
# pattern names a specific problem (disk full, OOM, 5xx) and alerts whatever the level.
LEVEL_WORD_PATTERNS = frozenset({"error", "fatal", "error-words"})

# Not in DEFAULT_PATTERNS: a source opts in (DetectionRules.warning_lines) to let lines whose own
# level is WARN open incidents, tried after every other pattern. Deprecation warnings stay
# suppressed (see below).
WARNING_LEVEL_PATTERN = _p(
    "warning-level", "warning", _WARN, "",
    r"(?-i:\bWARN(?:ING)?\b)", r"\[warn(?:ing)?\]", r"\blevel\"?\s*[:=]\s*\"?warn(?:ing)?\b",
)  # fmt: skip

# Spans blanked out of a line before the patterns run: benign look-alikes of alerts.
DEFAULT_SUPPRESSIONS: list[str] = [
    # A counter of errors or failures that is zero: error_rate=0.00, errors: 0, failures=0.
    # (A level word and its colon is not a counter: "ERROR: 0x7f..." still alerts.)
    r"\b(?!(?-i:ERROR|FAILED|FAILURE):)[\w.-]*(?:error|fail\w*|exception|timeout)s?[\w.-]*"
    r"\"?\s*[=:]\s*\"?0+(?:\.0+)?%?(?![\w.])",
    # "0 failed jobs", "no errors", "zero failures".
    r"\b(?:0|no|zero|without) (?:failed|failing|errors?|failures?|exceptions?|timeouts?)\b",
    # A successful request in an access log whose URL looks alarming: "GET /errors HTTP/1.1" 200.
    r"\"\s*[A-Z]+ [^\"]*\"\s+[1-4]\d\d\b",
    # A retry that succeeded: the whole line is benign.
    r"^.*\bretr(?:y|ying|ied)\b.{0,300}?\b(?:re)?connected\b.*$",
    r"^.*\bretr(?:y|ying|ied)\b.{0,300}?\b(?:succeeded|recovered)\b.*$",
    # A deprecation warning, from the warning marker to the end of the line.
    r"\bWARN(?:ING)?\b.{0,200}?\bdeprecat.*$",
    r"\b\w*DeprecationWarning\b.*$",
]
