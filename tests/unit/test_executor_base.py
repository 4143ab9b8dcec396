"""Shared executor helpers: parameter hashing, redaction, truncation."""

from __future__ import annotations

import pytest

from oncall_agent.executors.base import params_hash, truncate
from oncall_agent.secrets import REDACTED, mask_secrets


def test_params_hash_ignores_key_order_and_nesting_order():
    """The same parameters hash the same whatever order their keys were written in."""
    first = {"service": "web", "opts": {"a": 1, "b": [1, 2]}}
    second = {"opts": {"b": [1, 2], "a": 1}, "service": "web"}
    assert params_hash(first) == params_hash(second)
    assert len(params_hash(first)) == 64


def test_params_hash_changes_when_a_value_changes():
    """Changing any parameter after approval gives a different hash."""
    assert params_hash({"service": "web"}) != params_hash({"service": "web2"})
    assert params_hash({"n": 1}) != params_hash({"n": "1"})


def test_redact_removes_given_secrets_longest_first():
    """Each given secret disappears, even when one secret contains another."""
    text = "conn with s3cr3t-long and s3cr3t here"
    cleaned = mask_secrets(text, ["s3cr3t", "s3cr3t-long", ""])
    assert "s3cr3t" not in cleaned
    assert cleaned == f"conn with {REDACTED} and {REDACTED} here"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("password=hunter2 next", "hunter2"),
        ("DB_PASSWORD: 'pa ss'", "pa ss"),
        ('{"api_key": "abc123xyz"}', "abc123xyz"),
        ("api-key=abc123xyz&x=1", "abc123xyz"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("curl -H 'bearer abcdefgh12345678'", "abcdefgh12345678"),
        ("postgresql://app:pgpass@db:5432/x", "pgpass"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_abcdefghij"),
        ("key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP"),
        ("client_secret=zzz-top", "zzz-top"),
    ],
)
def test_redact_removes_common_credential_shapes(text, leaked):
    """Passwords, API keys, bearer tokens and URL credentials are redacted without being listed."""
    cleaned = mask_secrets(text)
    assert leaked not in cleaned
    assert REDACTED in cleaned


def test_redact_keeps_ordinary_text():
    """Text without secrets is returned unchanged."""
    text = "restarted web in 2.3s; 14 files deleted from /var/log/app"
    assert mask_secrets(text) == text


def test_truncate_returns_short_text_unchanged():
    """Text within the limit is not touched."""
    assert truncate("hello", 5) == "hello"


def test_truncate_keeps_head_and_tail_and_says_how_much_was_cut():
    """A long text keeps its start and end, fits the limit, and states the number of cut chars."""
    text = "HEAD" + "x" * 10_000 + "TAIL"
    cut = truncate(text, 200)
    assert len(cut) <= 200
    assert cut.startswith("HEAD") and cut.endswith("TAIL")
    head, note, tail = cut.split("\n")
    assert note == f"... [{len(text) - len(head) - len(tail)} characters cut] ..."


def test_truncate_with_a_tiny_limit_still_fits():
    """A limit smaller than the note keeps only the head, within the limit."""
    assert truncate("abcdefghijklmnopqrstuvwxyz" * 4, 10) == "abcdefghij"
