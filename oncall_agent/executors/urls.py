"""Whether a URL lies under an allowed prefix, compared by parts (a plain string prefix is unsafe).

`http://svc` as a string prefix would also admit `http://svc.evil.com` and `http://svc@evil.com`;
so scheme, host and port must be equal and the path must continue at a segment boundary.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import httpx

from oncall_agent.errors import ActionRejected

_ENCODED_SEPARATORS = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url_allowed(url: Any, prefixes: list[str]) -> str:
    """URL (normalized) if it is under one of PREFIXES; ActionRejected before any request if not."""
    if not prefixes:
        raise ActionRejected(
            "http_call: no URL prefixes are allowed (http_allowed_prefixes is empty)"
        )
    if not isinstance(url, str) or not url:
        raise ActionRejected("http_call: 'url' must be a non-empty string")
    parsed = _parse(url)
    if any(_under(parsed, _parse(prefix)) for prefix in prefixes):
        return str(parsed)
    raise ActionRejected(f"http_call: URL {url[:200]!r} is not under an allowed prefix {prefixes}")


def _parse(url: str) -> httpx.URL:
    """URL parsed strictly: http(s), a host, no credentials, no whitespace or control characters."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        raise ActionRejected(
            f"http_call: URL {url[:200]!r} contains whitespace or control characters"
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ActionRejected(f"http_call: URL {url[:200]!r} is not valid: {exc}") from exc
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise ActionRejected(f"http_call: URL {url[:200]!r} must be http(s) with a host")
    if parsed.userinfo:
        raise ActionRejected(f"http_call: URL {url[:200]!r} must not carry credentials")
    if _ENCODED_SEPARATORS.search(parsed.raw_path.decode("ascii")) or ".." in parsed.path.split(
        "/"
    ):
        raise ActionRejected(f"http_call: URL {url[:200]!r} has '..' or encoded separators")
    return parsed


def _under(url: httpx.URL, prefix: httpx.URL) -> bool:
    """Same scheme, host and port, and URL's path continues PREFIX's path at a '/' boundary."""
    if (url.scheme, url.host, _port(url)) != (prefix.scheme, prefix.host, _port(prefix)):
        return False
    base = prefix.path
    if base.endswith("/"):
        return url.path.startswith(base)
    return url.path == base or url.path.startswith(base + "/")


def _port(url: httpx.URL) -> int:
    """The URL's port, the scheme's default if none is written."""
    return url.port or _DEFAULT_PORTS[url.scheme]
