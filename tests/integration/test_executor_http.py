"""http_call and check_health against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import pytest

from oncall_agent.errors import ActionRejected, VerificationError
from oncall_agent.executors import build_executor, check_health, load_executor_config
from oncall_agent.models import ActionStatus
from tests.integration.executor_health_server import serve_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture
def server():
    """A health server in a thread, on a free port of 127.0.0.1."""
    srv = serve_in_thread()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def base(server):
    """The server's base URL."""
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def executor(base):
    """An http_call executor allowed to call the server's /health, /status/ and /echo paths."""
    config = load_executor_config(
        {
            "http_allowed_prefixes": [
                f"{base}/health",
                f"{base}/status/",
                {"prefix": f"{base}/echo", "methods": ["POST", "GET"]},
                f"{base}/secret",
            ]
        }
    )
    return build_executor("http_call", config, output_limit=1000)


def test_allowed_url_is_called_and_succeeds(executor, server, base):
    """A GET under an allowed prefix reaches the server and is SUCCEEDED on the expected status."""
    plan = executor.plan({"method": "get", "url": f"{base}/health"})
    result = executor.run(plan, dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.SUCCEEDED
    assert result.details["status_code"] == 200 and "ok" in result.output
    assert server.requests == [("GET", "/health")]
    assert executor.verify(plan, result, {}).ok


def test_post_with_json_and_expected_status(executor, server, base):
    """A POST sends its JSON body and succeeds when the expected status comes back."""
    plan = executor.plan(
        {"method": "POST", "url": f"{base}/echo", "json": {"a": 1}, "expect_status": 201}
    )
    result = executor.run(plan, dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.SUCCEEDED
    assert '{"a":1}' in result.output.replace(" ", "")


def test_unexpected_status_fails(executor, base):
    """A status other than expect_status makes the call FAILED."""
    plan = executor.plan({"url": f"{base}/status/503"})
    result = executor.run(plan, dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.FAILED and result.details["status_code"] == 503
    assert not executor.verify(plan, result, {}).ok


def test_redirects_are_not_followed(executor, base):
    """A redirect is reported as its own status, never followed outside the allow-list."""
    result = executor.run(executor.plan({"url": f"{base}/status/302"}), dry_run=False, timeout_s=5)
    assert result.status is ActionStatus.FAILED and result.details["status_code"] == 302


def test_response_secrets_are_redacted(executor, base):
    """Credential shapes in a response body never reach the result."""
    result = executor.run(executor.plan({"url": f"{base}/secret"}), dry_run=False, timeout_s=5)
    assert "hunter2" not in result.output and "abcdefghijklmnop" not in result.output


@pytest.mark.parametrize(
    "path_or_url",
    [
        "/break",
        "/healthz",
        "/status/../break",
        "http://localhost:{port}/health",
        "http://127.0.0.1:1/health",
        "http://127.0.0.1:{port}@127.0.0.1:{port}/break",
        "/status/..;/break",
        "/status/%2e%2e/break",
        "/status/%252e%252e/break",
        "/status/.%2e/break",
        "/status/..%2fbreak",
        "/status/%252fbreak",
        "/status/..\\break",
        "/status/./x",
        "/status/x;jsessionid=1",
    ],
)
def test_disallowed_url_is_rejected_before_any_request(executor, server, base, path_or_url):
    """A URL outside the prefixes is rejected at plan time and the server sees no request."""
    port = server.server_address[1]
    url = path_or_url.format(port=port) if path_or_url.startswith("http") else base + path_or_url
    with pytest.raises(ActionRejected):
        executor.plan({"method": "POST", "url": url})
    assert server.requests == []
    assert not server.broken


def test_dry_run_sends_nothing(executor, server, base):
    """A dry run describes the request without sending it."""
    plan = executor.plan({"method": "POST", "url": f"{base}/echo"})
    result = executor.run(plan, dry_run=True, timeout_s=5)
    assert result.status is ActionStatus.DRY_RUN and f"POST {base}/echo" in result.output
    assert server.requests == []


def test_unreachable_server_fails_without_raising(base):
    """A refused connection is a FAILED result with the reason, not an exception."""
    config = load_executor_config({"http_allowed_prefixes": ["http://127.0.0.1:9/"]})
    executor = build_executor("http_call", config)
    result = executor.run(
        executor.plan({"url": "http://127.0.0.1:9/x"}), dry_run=False, timeout_s=2
    )
    assert result.status is ActionStatus.FAILED and "request failed" in result.output


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "TRACE"}, "method"),
        ({"expect_status": 99}, "expect_status"),
        ({"expect_status": "200"}, "expect_status"),
        ({"json": {"x": float("nan")}}, "JSON"),
        ({"headers": {}}, "unknown parameter"),
    ],
)
def test_invalid_parameters_are_rejected(executor, base, params, message):
    """Bad methods, statuses, bodies and unknown keys are rejected with a message naming them."""
    with pytest.raises(ActionRejected, match=message):
        executor.plan({"url": f"{base}/health", **params})


def test_verify_polls_a_health_url_until_it_answers(executor, server, base):
    """Verification with a URL polls until the expected status is seen."""
    server.fail_first = 2
    plan = executor.plan({"url": f"{base}/status/200"})
    result = executor.run(plan, dry_run=False, timeout_s=5)
    check = executor.verify(plan, result, {"url": f"{base}/health", "interval_s": 0.01})
    assert check.ok and check.data["attempts"] == 3


def test_verify_refuses_a_url_outside_the_allow_list(executor, base):
    """A verification URL outside the prefixes is an error, not a request."""
    plan = executor.plan({"url": f"{base}/health"})
    result = executor.run(plan, dry_run=False, timeout_s=5)
    with pytest.raises(VerificationError, match="not under an allowed prefix"):
        executor.verify(plan, result, {"url": f"{base}/break"})


def test_check_health_fails_when_the_status_never_comes(server, base):
    """A broken service fails the health check once the time is up, saying what it last saw."""
    server.broken = True
    check = check_health(f"{base}/health", within_s=0.2, interval_s=0.05)
    assert not check.ok and "HTTP 500" in check.detail and check.data["attempts"] >= 1


def test_check_health_reports_an_unreachable_url():
    """A refused connection is reported in the detail, not raised."""
    check = check_health("http://127.0.0.1:9/health", within_s=0, interval_s=0.05)
    assert not check.ok and "ConnectError" in check.detail


def test_methods_are_allowed_per_prefix(executor, server, base):
    """A plain prefix allows only GET and HEAD; other methods need the prefix's own list."""
    with pytest.raises(ActionRejected, match="method POST is not allowed"):
        executor.plan({"method": "POST", "url": f"{base}/status/200"})
    with pytest.raises(ActionRejected, match="method DELETE is not allowed"):
        executor.plan({"method": "DELETE", "url": f"{base}/echo"})
    assert executor.plan({"method": "POST", "url": f"{base}/echo"}).params["method"] == "POST"
    assert server.requests == []
