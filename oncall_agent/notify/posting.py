"""POST JSON to a webhook with httpx, translating every failure into the notification errors.

Webhook URLs carry their token in the path or query, so no message here ever shows more of a URL
than its scheme, host and port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from oncall_agent.errors import ChannelMisconfigured, ChannelUnavailable
from oncall_agent.executors.base import truncate
from oncall_agent.secrets import mask_secrets

# A server asking for more than this is taken at this: a day-long pause hides an outage.
MAX_RETRY_AFTER_S = 3600.0
BODY_SNIPPET_CHARS = 200


def where(url: str) -> str:
    """The scheme, host and port of URL: enough to say which server, never its token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unparsable URL)"
    return f"{parts.scheme or '?'}://{host}{port}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def post_json(
    channel: str,
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
    secrets: Iterable[str] = (),
    transport: httpx.BaseTransport | None = None,
) -> httpx.Response:
    """POST PAYLOAD as JSON; raise ChannelUnavailable or ChannelMisconfigured unless it is 2xx."""
    target = where(url)
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.post(url, json=payload, headers=dict(headers or {}))
    # `from None` everywhere: the library's own message and traceback may quote the full URL.
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise ChannelMisconfigured(
            f"{channel}: the webhook URL is not a usable http(s) URL ({target}); fix the block"
        ) from None
    except httpx.TimeoutException:
        raise ChannelUnavailable(
            f"{channel}: {target} did not answer within {timeout_s:g} s; will retry"
        ) from None
    except httpx.TransportError as exc:
        raise ChannelUnavailable(
            f"{channel}: cannot reach {target} ({type(exc).__name__}); will retry"
        ) from None
    check_status(channel, target, response, secrets)
    return response


def check_status(
    channel: str, target: str, response: httpx.Response, secrets: Iterable[str] = ()
) -> None:
    """Raise the notification error a non-2xx answer means: retry later, or fix the block."""
    code = response.status_code
    if 200 <= code < 300:
        return
    snippet = mask_secrets(truncate(response.text.strip(), BODY_SNIPPET_CHARS), secrets)
    said = f" ({snippet})" if snippet else ""
    if code in (408, 429) or code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        asked = f", asked to wait {retry_after:g} s" if retry_after is not None else ""
        raise ChannelUnavailable(
            f"{channel}: {target} answered {code}{said}{asked}; will retry",
            retry_after=retry_after,
        )
    raise ChannelMisconfigured(
        f"{channel}: {target} refused the message with {code}{said}; the channel's configuration "
        "is wrong (check the webhook URL, its token and headers in the block)"
    )
