"""Polling a health URL until it answers the expected status; used by several executors' verify."""

from __future__ import annotations

import time

import httpx

from oncall_agent.models import VerificationResult

MAX_REQUEST_TIMEOUT_S = 5.0
MIN_REQUEST_TIMEOUT_S = 0.2


def check_health(
    url: str, expect_status: int = 200, within_s: float = 10, interval_s: float = 0.5
) -> VerificationResult:
    """Poll URL until it answers EXPECT_STATUS or WITHIN_S seconds pass (at least one attempt)."""
    deadline = time.monotonic() + within_s
    attempts = 0
    last = "no answer yet"
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        while True:
            attempts += 1
            remaining = deadline - time.monotonic()
            timeout = min(MAX_REQUEST_TIMEOUT_S, max(MIN_REQUEST_TIMEOUT_S, remaining))
            status, last = _probe(client, url, timeout)
            if status == expect_status:
                return VerificationResult(
                    ok=True,
                    detail=f"{url} answered HTTP {status} after {attempts} attempt(s)",
                    data={"url": url, "status_code": status, "attempts": attempts},
                )
            if time.monotonic() + interval_s > deadline:
                break
            time.sleep(interval_s)
    return VerificationResult(
        ok=False,
        detail=f"{url} did not answer HTTP {expect_status} within {within_s:g}s "
        f"({attempts} attempt(s); last: {last})",
        data={"url": url, "status_code": status, "attempts": attempts},
    )


def _probe(client: httpx.Client, url: str, timeout: float) -> tuple[int | None, str]:
    """One GET of URL: its status code (None if no answer) and a short description."""
    try:
        status = client.get(url, timeout=timeout).status_code
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return status, f"HTTP {status}"
