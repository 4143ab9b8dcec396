"""Turning a masked incident template into a regex and a key for a learned knowledge entry."""

from __future__ import annotations

import hashlib
import re

# Detection masks variable parts as <NUM>, <HEX>, <IP>, <PATH>, ... or <*>.
MASK_PLACEHOLDER = re.compile(r"<[A-Z]+>|<\*>")
# A pattern with less literal text than this would match almost any line.
MIN_LITERAL_CHARS = 8


def _literal(part: str) -> str:
    """PART escaped, with each whitespace run matching any whitespace."""
    tokens = re.split(r"(\s+)", part)
    return "".join(r"\s+" if token.isspace() else re.escape(token) for token in tokens if token)


def template_pattern(template: str) -> str | None:
    """A regex recognising lines of TEMPLATE (placeholders become .+?), or None if too vague."""
    parts = MASK_PLACEHOLDER.split(template.strip())
    if len(re.sub(r"\W", "", "".join(parts))) < MIN_LITERAL_CHARS:
        return None
    pattern = ".+?".join(_literal(part) for part in parts)
    # The matcher searches (unanchored), so leading/trailing wildcards only demand extra text.
    while pattern.startswith(".+?"):
        pattern = pattern[3:]
    while pattern.endswith(".+?"):
        pattern = pattern[:-3]
    return pattern


def learned_key(title: str, service: str, category: str, template: str) -> str:
    """A stable, valid key for the entry learned from one kind of incident."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60].strip("-") or "incident"
    digest = hashlib.sha256(f"{service}\0{category}\0{template}".encode()).hexdigest()[:8]
    return f"learned-{slug}-{digest}"
