"""The knowledge entries every new store is seeded with (a person may edit them afterwards).

Actions name incident fields they need with {{incident.X}}: the resolution step fills them in
and escalates when the incident lacks one (e.g. a Spark entry without an app_id).
"""

from __future__ import annotations

from oncall_agent.knowledge.spec import KnowledgeEntrySpec
from oncall_agent.models import ActionSpec, AutonomyMode, RiskClass

_SPARK_OOM = KnowledgeEntrySpec(
    key="spark-executor-oom",
    title="Spark executor out of memory",
    description="A Spark executor ran out of heap or was killed by YARN/Kubernetes for "
    "exceeding its memory limit, so tasks were lost and the application failed.",
    patterns=[
        r"Container killed by YARN for exceeding (physical |virtual )?memory limits",
        r"ExecutorLostFailure .*(memory|OutOfMemory|exit code 137)",
        r"executor.*java\.lang\.OutOfMemoryError",
        r"executor .*exited with exit code 137",
        r"Consider boosting spark\.(yarn\.)?executor\.memoryOverhead",
    ],
    categories=["spark", "memory", "oom"],
    tags=["spark", "executor", "task", "stage", "yarn", "heap", "memoryOverhead", "resubmit"],
    solution="Resubmit the Spark application with more executor memory (8g), and check for "
    "skewed partitions or large broadcasts if it fails again.",
    action=ActionSpec(
        name="spark_resubmit",
        params={"app_id": "{{incident.app_id}}", "executor_memory": "8g"},
    ),
    risk=RiskClass.MEDIUM,
    autonomy=AutonomyMode.APPROVE,
)

_AIRFLOW_TIMEOUT = KnowledgeEntrySpec(
    key="airflow-task-timeout",
    title="Airflow task timed out",
    description="An Airflow task instance exceeded its execution_timeout and was killed.",
    patterns=[
        r"AirflowTaskTimeout",
        r"Timeout, PID: \d+",
        r"task .*(timed out|exceeded (its )?execution_timeout)",
    ],
    categories=["airflow", "timeout"],
    tags=["airflow", "dag", "task", "execution_timeout", "retry", "clear"],
    solution="Clear the task instance so the scheduler runs it again; if it keeps timing out, "
    "raise execution_timeout or look for a slow upstream system.",
    action=ActionSpec(
        name="airflow_clear_task",
        params={
            "dag_id": "{{incident.dag_id}}",
            "task_id": "{{incident.task_id}}",
            "run_id": "{{incident.run_id}}",
        },
    ),
    risk=RiskClass.LOW,
    autonomy=AutonomyMode.APPROVE,
)

_DB_POOL = KnowledgeEntrySpec(
    key="db-connection-pool-exhausted",
    title="Database connection pool exhausted",
    description="The service holds all of its database connections (often leaked by a stuck "
    "request) or the database refuses new ones, so requests fail waiting for a connection.",
    patterns=[
        r"connection pool (is )?exhausted",
        r"remaining connection slots are reserved",
        r"QueuePool limit of size \d+ overflow \d+ reached",
        r"too many (clients|connections)",
        r"HikariPool-\d+ - Connection is not available",
        r"(unable|failed|could not|cannot) (to )?(acquire|obtain|get) (a )?(jdbc |database |db )?"
        r"connection",
    ],
    categories=["database", "db", "connection", "connection_pool", "resource"],
    tags=["database", "postgres", "mysql", "pool", "connections", "leak", "restart"],
    solution="Restart the service to release its leaked connections, then look for "
    "long-running transactions and raise the pool size only if the database has headroom.",
    action=ActionSpec(name="restart_service", params={"service": "{{incident.service}}"}),
    risk=RiskClass.LOW,
    autonomy=AutonomyMode.AUTO,
)

_DISK_FULL = KnowledgeEntrySpec(
    key="disk-full",
    title="Disk full: no space left on device",
    description="A filesystem the service writes to is full, usually because old logs piled up.",
    patterns=[
        r"No space left on device",
        r"disk (usage|full)",
        r"ENOSPC",
        r"Disk quota exceeded",
        r"(file ?system|volume|partition) .*(is )?(\d{2,3}(\.\d+)?% )?full",
    ],
    categories=["disk", "storage", "resource"],
    tags=["disk", "space", "filesystem", "logs", "cleanup", "rotate"],
    solution="Delete log files older than a day under the service's log directory, then check "
    "log rotation and retention.",
    action=ActionSpec(
        name="cleanup_files",
        params={"root": "{{incident.log_dir}}", "pattern": "*.log*", "older_than_s": 86400},
    ),
    risk=RiskClass.LOW,
    autonomy=AutonomyMode.AUTO,
)

_REDIS_REFUSED = KnowledgeEntrySpec(
    key="redis-connection-refused",
    title="Redis connection refused",
    description="Clients cannot connect to Redis: the Redis server is down or not listening.",
    patterns=[
        r"redis.*(connection refused|ECONNREFUSED)",
        r"Error (111|61) connecting to \S+:6379",
        r"ECONNREFUSED \S*:6379",
        r"Could not connect to Redis",
        r"redis\.exceptions\.ConnectionError",
    ],
    categories=["redis", "cache", "connection", "network"],
    tags=["redis", "cache", "refused", "6379", "restart"],
    solution="Restart the Redis server and check its memory (maxmemory) and persistence logs.",
    action=ActionSpec(name="restart_service", params={"service": "redis"}),
    risk=RiskClass.LOW,
    autonomy=AutonomyMode.APPROVE,
)

_HEALTH_CHECK = KnowledgeEntrySpec(
    key="health-check-failing",
    title="Service health check failing",
    description="The service's health, readiness or liveness endpoint reports it unhealthy.",
    patterns=[
        r"health ?check (failed|failing|timed out)",
        r"(readiness|liveness) probe failed",
        r"/healthz? .*(returned|status)\W*5\d\d",
        r"\bunhealthy\b",
    ],
    categories=["health", "availability"],
    tags=["health", "healthcheck", "probe", "unhealthy", "restart"],
    solution="Restart the service; if the health check keeps failing, check its dependencies.",
    action=ActionSpec(name="restart_service", params={"service": "{{incident.service}}"}),
    risk=RiskClass.LOW,
    autonomy=AutonomyMode.AUTO,
)

_SERVICE_OOM = KnowledgeEntrySpec(
    key="service-out-of-memory",
    title="Service out of memory",
    description="A service process ran out of memory or was killed by the kernel OOM killer.",
    patterns=[
        r"java\.lang\.OutOfMemoryError",
        r"\bMemoryError\b",
        r"Out of memory: Kill(ed)? process",
        r"OOMKilled",
        r"oom-kill",
        r"Cannot allocate memory",
        r"fatal error: runtime: out of memory",
        r"JavaScript heap out of memory",
    ],
    categories=["memory", "oom", "resource"],
    tags=["memory", "oom", "heap", "killed", "restart"],
    solution="Restart the service to recover, then capture a heap profile and check for a leak "
    "or a memory limit set too low.",
    action=ActionSpec(name="restart_service", params={"service": "{{incident.service}}"}),
    risk=RiskClass.MEDIUM,
    autonomy=AutonomyMode.APPROVE,
)

_DEADLOCK = KnowledgeEntrySpec(
    key="database-deadlock",
    title="Database deadlock detected",
    description="Two transactions waited on each other's locks and the database aborted one.",
    patterns=[
        r"deadlock detected",
        r"Deadlock found when trying to get lock",
        r"was deadlocked on lock",
        r"DeadlockLoserDataAccessException",
    ],
    categories=["database", "db", "deadlock"],
    tags=["database", "deadlock", "lock", "transaction"],
    solution="No automatic fix: retry the failed transaction, then make the code take locks in "
    "a consistent order (the database log names both statements).",
    action=None,
    risk=RiskClass.MEDIUM,
    autonomy=AutonomyMode.APPROVE,
)

_PG_LOCK_TIMEOUT = KnowledgeEntrySpec(
    key="pg-lock-timeout",
    title="PostgreSQL lock timeout",
    description="Statements are cancelled by lock_timeout (or fail to get a lock with NOWAIT) "
    "because another session opened a transaction, took row or table locks, and went idle "
    "without committing.",
    patterns=[
        r"canceling statement due to lock timeout",
        r"LockNotAvailable",
        r"could not obtain lock on (row|relation)",
        r"terminating connection due to idle-in-transaction timeout",
        r"idle in transaction.{0,100}(block|lock)",
    ],
    categories=["database", "db", "lock", "postgres"],
    tags=["postgres", "lock", "lock_timeout", "idle", "transaction", "blocking", "terminate"],
    solution="Terminate the sessions idle in transaction that hold the locks, then find the "
    "code that opens a transaction and waits, and set idle_in_transaction_session_timeout.",
    action=ActionSpec(name="terminate_queries", params={"state": "idle_in_transaction"}),
    risk=RiskClass.MEDIUM,
    autonomy=AutonomyMode.APPROVE,
)

DEFAULT_ENTRIES: list[KnowledgeEntrySpec] = [
    _SPARK_OOM,
    _AIRFLOW_TIMEOUT,
    _DB_POOL,
    _DISK_FULL,
    _REDIS_REFUSED,
    _HEALTH_CHECK,
    _SERVICE_OOM,
    _DEADLOCK,
    _PG_LOCK_TIMEOUT,
]
