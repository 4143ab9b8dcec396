"""The real Spark History Server client: its REST API (/api/v1) over httpx, errors translated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from oncall_agent.errors import SourceError, SourceUnavailable
from oncall_agent.integrations.spark_client import (
    LostExecutor,
    SparkApp,
    StageFailure,
)

# Removal reasons that are part of normal operation, not a lost executor.
_BENIGN_REMOVAL = ("killed by driver", "decommission", "application finished", "stale executor")


class HistoryServerClient:
    """SparkHistory over a History Server's REST API, each call under a timeout."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Talk to the History Server at BASE_URL (e.g. http://spark-history:18080)."""
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=f"{self.base_url}/api/v1", timeout=timeout_s, transport=transport,
            trust_env=False, follow_redirects=False,
        )  # fmt: skip

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The JSON of GET PATH; None for a 404; translated errors otherwise."""
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"Spark History Server {self.base_url} is unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise SourceUnavailable(
                f"Spark History Server answered {response.status_code} for {path}"
            )
        if response.status_code != 200:
            raise SourceError(
                f"Spark History Server refused {path} ({response.status_code}): "
                f"{response.text[:200]}; check history_server_url in the SparkConnection block"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(
                f"Spark History Server sent something else than JSON for {path}"
            ) from exc

    def completed_apps(self, min_end_ms: int) -> list[SparkApp]:
        """Completed applications that ended at or after MIN_END_MS."""
        since = datetime.fromtimestamp(min_end_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        params = {"status": "completed", "minEndDate": since[:-3] + "GMT"}
        apps = [_app(raw) for raw in self._get("/applications", params) or []]
        return [a for a in apps if a.completed and a.end_ms is not None and a.end_ms >= min_end_ms]

    def app(self, app_id: str) -> SparkApp | None:
        """One application, or None."""
        raw = self._get(f"/applications/{_segment(app_id)}")
        return _app(raw) if raw else None

    def failed_stages(self, app_id: str) -> list[StageFailure]:
        """The failed stages of APP_ID (newest attempt of the application)."""
        rows = self._get(f"/applications/{_segment(app_id)}/stages", {"status": "failed"}) or []
        return [
            StageFailure(
                stage_id=int(row["stageId"]),
                attempt_id=int(row.get("attemptId", 0)),
                name=str(row.get("name", "")),
                reason=str(row.get("failureReason", "")),
            )
            for row in rows
        ]

    def failed_jobs(self, app_id: str) -> list[int]:
        """Ids of the failed jobs of APP_ID."""
        rows = self._get(f"/applications/{_segment(app_id)}/jobs", {"status": "failed"}) or []
        return [int(row["jobId"]) for row in rows]

    def lost_executors(self, app_id: str) -> list[LostExecutor]:
        """Executors removed for a reason other than normal operation."""
        rows = self._get(f"/applications/{_segment(app_id)}/allexecutors") or []
        lost = []
        for row in rows:
            reason = str(row.get("removeReason") or "")
            if reason and not any(b in reason.lower() for b in _BENIGN_REMOVAL):
                host = str(row.get("hostPort", "")).rsplit(":", 1)[0]
                lost.append(LostExecutor(executor_id=str(row["id"]), host=host, reason=reason))
        return lost

    def spark_properties(self, app_id: str) -> dict[str, str]:
        """The application's Spark properties."""
        raw = self._get(f"/applications/{_segment(app_id)}/environment") or {}
        return {str(k): str(v) for k, v in raw.get("sparkProperties", [])}


def _segment(app_id: str) -> str:
    """APP_ID as one URL path segment (ids never hold '/'; refuse rather than escape)."""
    if not app_id or "/" in app_id or ".." in app_id or any(ch.isspace() for ch in app_id):
        raise SourceError(f"{app_id[:100]!r} is not a Spark application id")
    return app_id


def _app(raw: dict[str, Any]) -> SparkApp:
    """A SparkApp from one element of /applications (its last attempt)."""
    try:
        attempt = raw["attempts"][-1]
        end = attempt.get("endTimeEpoch")
        return SparkApp(
            app_id=str(raw["id"]), name=str(raw.get("name", "")),
            attempt_id=attempt.get("attemptId"), start_ms=int(attempt["startTimeEpoch"]),
            end_ms=int(end) if end and int(end) > 0 else None,
            completed=bool(attempt.get("completed")), spark_user=str(attempt.get("sparkUser", "")),
        )  # fmt: skip
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SourceError(f"Spark History Server sent an application without {exc}") from exc
