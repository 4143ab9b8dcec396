"""`http_call`: one HTTP request to a URL under an allow-listed prefix.

Requests connect directly (proxy variables are ignored), never follow redirects (a redirect could
leave the allow-list), and always carry an explicit timeout.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from oncall_agent.errors import ActionRejected, VerificationError
from oncall_agent.executors.base import (
    ActionPlan,
    check_verify_keys,
    clean_output,
    dry_run_verification,
    ensure_same_plan,
    reject_unknown_keys,
    verify_number,
)
from oncall_agent.executors.common import ConfiguredExecutor
from oncall_agent.executors.config import HTTP_METHODS as METHODS
from oncall_agent.executors.health import check_health
from oncall_agent.executors.urls import check_url_allowed
from oncall_agent.models import ActionResult, ActionStatus, VerificationResult

MAX_BODY_BYTES = 512 * 1024


class HttpCallExecutor(ConfiguredExecutor):
    """Sends one request to a URL under an allowed prefix and checks the status code."""

    name = "http_call"

    def plan(self, params: dict[str, Any]) -> ActionPlan:
        """The exact request for {method, url, expect_status, json}; no request is sent."""
        reject_unknown_keys(self.name, params, ["method", "url", "expect_status", "json"])
        method = params.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise ActionRejected(f"http_call: method {method!r} is not one of {list(METHODS)}")
        url = check_url_allowed(params.get("url"), self.config.http_allowed_prefixes, method)
        expect = _status_code(params.get("expect_status", 200), "expect_status")
        validated: dict[str, Any] = {"method": method.upper(), "url": url, "expect_status": expect}
        if "json" in params:
            try:
                json.dumps(params["json"], allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ActionRejected(f"http_call: 'json' is not JSON-serializable: {exc}") from exc
            validated["json"] = params["json"]
        return ActionPlan(
            action=self.name,
            target=url,
            params=validated,
            description=f"{validated['method']} {url} expecting HTTP {expect}",
        )

    def run(self, plan: ActionPlan, *, dry_run: bool, timeout_s: float) -> ActionResult:
        """Send the planned request (dry run: only describe it); SUCCEEDED if the status matches."""
        fresh = self.plan(plan.params)
        ensure_same_plan(plan, fresh)
        if dry_run:
            return ActionResult(
                status=ActionStatus.DRY_RUN, output=f"would send {fresh.description}", dry_run=True
            )
        params = fresh.params
        try:
            with (
                httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
                client.stream(params["method"], params["url"], json=params.get("json")) as reply,
            ):
                body = _read_limited(reply)
                status = reply.status_code
        except httpx.TimeoutException as exc:
            return self._failed(
                f"{fresh.description}: timed out after {timeout_s:g}s ({exc})", True
            )
        except httpx.HTTPError as exc:
            return self._failed(f"{fresh.description}: request failed: {exc}", False)
        ok = status == params["expect_status"]
        return ActionResult(
            status=ActionStatus.SUCCEEDED if ok else ActionStatus.FAILED,
            output=clean_output(f"HTTP {status}\n{body}", self.secrets, self.output_limit),
            details={"status_code": status, "expect_status": params["expect_status"]},
        )

    def verify(
        self, plan: ActionPlan, result: ActionResult, verify: dict[str, Any]
    ) -> VerificationResult:
        """With {"url"}: poll it until expect_status; otherwise: the call itself succeeded."""
        check_verify_keys(self.name, verify, ["url", "expect_status", "within_s", "interval_s"])
        skipped = dry_run_verification(result)
        if skipped is not None:
            return skipped
        if "url" not in verify:
            code = result.details.get("status_code")
            return VerificationResult(
                ok=result.status is ActionStatus.SUCCEEDED, detail=f"HTTP {code}",
                data={"status_code": code},
            )  # fmt: skip
        try:
            url = check_url_allowed(verify["url"], self.config.http_allowed_prefixes)
        except ActionRejected as exc:
            raise VerificationError(f"http_call verify: {exc}") from exc
        return check_health(
            url,
            expect_status=_status_code(verify.get("expect_status", 200), "verify expect_status"),
            within_s=verify_number(self.name, verify, "within_s", 10.0),
            interval_s=verify_number(self.name, verify, "interval_s", 0.5),
        )

    def _failed(self, message: str, timed_out: bool) -> ActionResult:
        """A FAILED result for a request that got no usable response."""
        return ActionResult(
            status=ActionStatus.FAILED,
            output=clean_output(message, self.secrets, self.output_limit),
            details={"timed_out": timed_out},
        )


def _status_code(value: Any, field: str) -> int:
    """VALUE as an HTTP status code, or ActionRejected naming FIELD."""
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise ActionRejected(
            f"http_call: {field} must be an HTTP status code (100-599), got {value!r}"
        )
    return value


def _read_limited(reply: httpx.Response) -> str:
    """The response body as text, reading at most MAX_BODY_BYTES of it."""
    chunks: list[bytes] = []
    size = 0
    for chunk in reply.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            chunks.append(b"\n[rest of the body not read]")
            break
    return b"".join(chunks).decode(reply.encoding or "utf-8", errors="replace")
