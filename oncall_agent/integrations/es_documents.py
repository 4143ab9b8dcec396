"""Elasticsearch documents as log events: which fields hold what, and the mapping itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from oncall_agent.integrations.es_client import SearchHit
from oncall_agent.models import LogEvent
from oncall_agent.sources.scope import NO_SCOPE, TargetScope

_SCALARS = (str, int, float, bool)


class EsFields(BaseModel):
    """Where a log document keeps its parts (dotted paths, nested objects or flat keys)."""

    model_config = ConfigDict(extra="forbid")

    timestamp: str = Field(default="@timestamp", min_length=1)
    # Must be unique per document and sortable (a keyword or numeric field, not `_id`).
    tiebreaker: str = Field(default="event.id", min_length=1)
    message: str = Field(default="message", min_length=1)
    service: str | None = "service.name"
    level: str | None = "log.level"
    # Incident attributes an action may need, e.g. {"app_id": "spark.app_id"}.
    attributes: dict[str, str] = Field(default_factory=dict)
    default_service: str = "unknown"
    max_message_bytes: int = Field(default=64 * 1024, ge=256)

    def source_fields(self) -> list[str]:
        """The document fields a search needs to return, each once."""
        wanted = [self.timestamp, self.tiebreaker, self.message, self.service, self.level]
        wanted += list(self.attributes.values())
        return list(dict.fromkeys(f for f in wanted if f))


def field_value(source: dict[str, Any], path: str) -> Any:
    """The value at PATH: a flat key "a.b" if present, else nested objects a -> b."""
    if path in source:
        return source[path]
    head, dot, rest = path.partition(".")
    if dot and isinstance(source.get(head), dict):
        return field_value(source[head], rest)
    return None


def _text(value: Any) -> str | None:
    """A scalar as text (the first element of a list); None for objects and nulls."""
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, _SCALARS) else None


def _capped(message: str, limit: int) -> tuple[str, int]:
    """MESSAGE cut to LIMIT bytes of UTF-8, and how many bytes were cut."""
    data = message.encode("utf-8")
    if len(data) <= limit:
        return message, 0
    return data[:limit].decode("utf-8", errors="ignore"), len(data) - limit


def hit_to_event(
    hit: SearchHit, fields: EsFields, index_pattern: str, scope: TargetScope = NO_SCOPE
) -> LogEvent:
    """The log event of one hit; the timestamp comes from its sort value (epoch ms, UTC).

    A document's fields are log data: SCOPE says which of its values actions may use.
    """
    message = _text(field_value(hit.source, fields.message))
    if message is None:  # no message field: the document itself is the best text there is
        message = json.dumps(hit.source, sort_keys=True, default=str)
    message, cut = _capped(message, fields.max_message_bytes)
    service = _text(field_value(hit.source, fields.service)) if fields.service else None
    level = _text(field_value(hit.source, fields.level)) if fields.level else None
    attributes = {"es_index": hit.index, "es_id": hit.doc_id}
    for name, path in fields.attributes.items():
        value = _text(field_value(hit.source, path))
        if value:
            attributes[name] = value
    return LogEvent(
        source=f"elasticsearch:{index_pattern}",
        message=message,
        service=service or fields.default_service,
        timestamp=datetime.fromtimestamp(hit.sort[0] / 1000, UTC),
        level=level.upper() if level else None,
        truncated_bytes=cut,
        attributes=attributes,
        targets=scope.targets(None, service, attributes),
    )
