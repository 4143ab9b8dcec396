"""mask_secrets: every credential shape in a line is masked, ordinary text is left alone."""

from __future__ import annotations

import pytest

from oncall_agent.secrets import REDACTED, mask_secrets


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login failed api_key=sk_live_abcdef for shop", "abcdef"),
        ("apikey=lettersonly rejected", "lettersonly"),
        ("DB_PASSWORD=hunter", "hunter"),
        ("password: correcthorse", "correcthorse"),
        ('{"passwd": "open sesame"}', "open sesame"),
        ("pwd=swordfish user=bob", "swordfish"),
        ("client_secret = abc", "abc"),
        ("secret: plainwords here", "plainwords"),
        ("token=xyz", "xyz"),
        ("Authorization: Bearer abcdefghijkl", "abcdefghijkl"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("calling with bearer eyJhbGciOiJIUzI1NiJ9xyz", "eyJhbGciOiJIUzI1NiJ9xyz"),
        ("connect postgresql://app:s3cretpw@db:5432/x failed", "s3cretpw"),
        ("key -----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----", "MIIEabc"),
        ("private_key: abcdef", "abcdef"),
        ("credentials=admin:admin", "admin:admin"),
        ("found sk_live_abcdef1234 in body", "sk_live_abcdef1234"),
        ("aws AKIAABCDEFGHIJKLMNOP leaked", "AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_mask_secrets_masks_every_shape(text: str, secret: str) -> None:
    """Each key=value / key: value secret, header, URL credential and key block is masked."""
    masked = mask_secrets(text)
    assert secret not in masked
    assert REDACTED in masked


def test_mask_secrets_masks_known_values_and_keeps_keys() -> None:
    """Known secret values go whatever their shape; the key stays so a reader sees what it was."""
    masked = mask_secrets("cfg api_key=sk_live_abcdef value canary-xyz", ["canary-xyz"])
    assert masked == f"cfg api_key={REDACTED} value {REDACTED}"


@pytest.mark.parametrize(
    "text",
    [
        "connection pool exhausted for service api",
        "status=FAILED dag_id=etl_daily run_id=scheduled__2026",
        "GET /health returned 503 in 12 ms",
    ],
)
def test_mask_secrets_keeps_ordinary_text(text: str) -> None:
    """A line without secrets comes back unchanged."""
    assert mask_secrets(text) == text


def test_mask_secrets_is_idempotent() -> None:
    """Masking an already masked line changes nothing."""
    once = mask_secrets("password=hunter api_key=abc")
    assert mask_secrets(once) == once
