"""Text from logs shown where a UI renders markdown or HTML: placeholders like <NUM> stay visible.

Log text is data: `<NUM>` must not become an HTML tag that vanishes, `*` must not start italics,
and `|` must not split a table cell. Angle brackets and ampersands become HTML entities (which
markdown and HTML renderers both show literally); markdown punctuation gets a backslash.
"""

from __future__ import annotations

import re

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+!|~-])")


def escape_html(text: str) -> str:
    """TEXT with &, < and > as entities (for table cells the UI renders as HTML or markdown)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in text)


def escape_markdown(text: str) -> str:
    """TEXT shown literally by a markdown renderer (one line: line breaks become spaces)."""
    flat = " ".join(str(text).split())
    return escape_html(_MARKDOWN_PUNCTUATION.sub(r"\\\1", flat))
