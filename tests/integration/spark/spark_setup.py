"""Running the real Spark of the installed pyspark package: its History Server and spark-submit."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

JOB = Path(__file__).parent / "jobs" / "memory_hungry.py"
START_TIMEOUT_S = 90.0
SUBMIT_TIMEOUT_S = 180.0


def spark_home() -> Path | None:
    """The Spark bundled with pyspark, or None if pyspark is not installed."""
    spec = importlib.util.find_spec("pyspark")
    return Path(spec.origin).parent if spec and spec.origin else None


def java_available() -> bool:
    """Whether `java -version` runs."""
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def spark_env() -> dict[str, str]:
    """Environment for Spark processes: this Python for PySpark, loopback for the driver."""
    return {"PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}


def event_log_conf(event_dir: Path) -> dict[str, str]:
    """Spark conf that writes event logs where the History Server reads them (no web UI).

    In local mode the executor is the driver's JVM: an OutOfMemoryError treated as fatal exits
    that JVM, racing the event log's record of the failed task. Depth 0 makes the task fail
    like any task on a cluster whose executor died, so the log says OutOfMemoryError every time.
    """
    return {
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": event_dir.as_uri(),
        "spark.ui.enabled": "false",
        "spark.executor.killOnFatalError.depth": "0",
        # Short jobs on a small machine: the quick JIT only, no whole-stage code generation.
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
        "spark.sql.codegen.wholeStage": "false",
    }


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HistoryServer:
    """A Spark History Server process reading EVENT_DIR, on 127.0.0.1:port."""

    def __init__(self, home: Path, event_dir: Path, work_dir: Path) -> None:
        self.home, self.event_dir, self.work_dir = home, event_dir, work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work_dir / "history-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until its REST API answers; RuntimeError with its log if it cannot."""
        props = self.work_dir / "history.conf"
        props.write_text(
            f"spark.history.fs.logDirectory {self.event_dir.as_uri()}\n"
            f"spark.history.ui.port {self.port}\n"
            "spark.history.fs.update.interval 1s\n"
        )
        env = (
            os.environ
            | spark_env()
            | {"SPARK_HOME": str(self.home), "SPARK_DAEMON_JAVA_OPTS": "-XX:TieredStopAtLevel=1"}
        )
        argv = [
            str(self.home / "bin" / "spark-class"),
            "org.apache.spark.deploy.history.HistoryServer",
            "--properties-file",
            str(props),
        ]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v1/applications", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the History Server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop it and its children."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


def submit(home: Path, name: str, memory: str, event_dir: Path, log: Path) -> int:
    """Run the memory-hungry job as a scheduler would (local mode); its exit code."""
    argv = [
        str(home / "bin" / "spark-submit"),
        "--master",
        "local[1]",
        "--name",
        name,
        "--driver-memory",
        memory,
    ]
    for key, value in event_log_conf(event_dir).items():
        argv += ["--conf", f"{key}={value}"]
    with open(log, "wb") as out:
        done = subprocess.run(
            [*argv, str(JOB), "160"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ | spark_env(),
            timeout=SUBMIT_TIMEOUT_S,
            check=False,
        )
    return done.returncode
