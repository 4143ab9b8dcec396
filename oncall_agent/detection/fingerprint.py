"""Incident fingerprints: a stable hash of what kind of event happened, where."""

from __future__ import annotations

import hashlib

FINGERPRINT_LENGTH = 40
# Only this much of a template counts: two very long lines that agree this far are one kind.
TEMPLATE_LIMIT = 1024


def normalize_template(template: str) -> str:
    """TEMPLATE as it is hashed: whitespace collapsed, lower case, capped in length."""
    return " ".join(template.split()).lower()[:TEMPLATE_LIMIT]


def fingerprint(template: str, service: str, category: str) -> str:
    """A hex digest (40 chars) of template + service + category, identical across runs."""
    parts = (service.strip().lower(), category.strip().lower(), normalize_template(template))
    # The unit separator cannot appear in the parts' boundaries, so ("a b", "c") != ("a", "b c").
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8"))
    return digest.hexdigest()[:FINGERPRINT_LENGTH]
