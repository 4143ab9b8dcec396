"""The in-memory state of the test Elasticsearch: indices, mappings, query and sort evaluation.

It follows Elasticsearch's documented semantics for the calls the source makes: date fields
sort as epoch milliseconds, missing sort values go last, a point in time sees the documents that
existed when it was opened, searches in a point in time get the implicit `_shard_doc`
tiebreaker appended to their sort, and `search_after` takes one value per sort field.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LONG_MAX, LONG_MIN = 2**63 - 1, -(2**63)


class EsError(Exception):
    """An error answered the way Elasticsearch answers it: status, type and reason."""

    def __init__(self, status: int, kind: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.kind, self.reason, self.extra = status, kind, reason, extra

    def body(self) -> dict[str, Any]:
        """The JSON error body (root_cause, type, reason, status)."""
        cause = {"type": self.kind, "reason": self.reason}
        return {"error": {"root_cause": [cause], **cause, **self.extra}, "status": self.status}


@dataclass(frozen=True)
class Doc:
    """One indexed document; `seq` plays the part of the Lucene doc id (_shard_doc)."""

    index: str
    doc_id: str
    source: dict[str, Any]
    seq: int


@dataclass
class Index:
    """An index: field types by dotted path, and its documents by id."""

    name: str
    types: dict[str, str] = field(default_factory=dict)
    docs: dict[str, Doc] = field(default_factory=dict)


def parse_date(value: Any, fmt: str | None = None) -> int:
    """VALUE as epoch milliseconds (ISO 8601 strings, or numbers / epoch_millis strings)."""
    if isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    if isinstance(value, int | float):
        return int(value)
    text = str(value)
    if fmt == "epoch_millis" or re.fullmatch(r"-?\d+", text):
        return int(text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def flatten_properties(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Mapping properties as {dotted path: type}."""
    types = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            types.update(flatten_properties(spec["properties"], path + "."))
        else:
            types[path] = spec.get("type", "object")
    return types


def value_at(source: dict[str, Any], path: str) -> Any:
    """The value at a dotted PATH (flat key or nested objects), None if absent."""
    if path in source:
        return source[path]
    head, dot, rest = path.partition(".")
    if dot and isinstance(source.get(head), dict):
        return value_at(source[head], rest)
    return None


def leaf_paths(source: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every leaf of SOURCE by dotted path."""
    leaves = {}
    for key, value in source.items():
        if isinstance(value, dict):
            leaves.update(leaf_paths(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def dynamic_type(value: Any) -> str:
    """The type Elasticsearch's dynamic mapping gives a new field with VALUE."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    try:
        parse_date(value)
        return "date" if re.match(r"\d{4}-\d{2}-\d{2}", str(value)) else "text"
    except ValueError:
        return "text"


def check_document(index: Index, doc_id: str, source: dict[str, Any]) -> None:
    """Map new fields dynamically; raise EsError(400) for a value its mapping cannot take."""
    for path, value in leaf_paths(source).items():
        kind = index.types.setdefault(path, dynamic_type(value))
        if value is None:
            continue
        try:
            if kind in ("date", "date_nanos"):
                parse_date(value)
            elif kind in ("long", "integer"):
                int(value)
        except (TypeError, ValueError):
            raise EsError(
                400,
                "document_parsing_exception",
                f"[1:1] failed to parse field [{path}] of type [{kind}] in document with id "
                f"'{doc_id}'. Preview of field's value: '{value}'",
            ) from None


class Engine:
    """Indices and the sequence that numbers documents."""

    def __init__(self) -> None:
        self.indices: dict[str, Index] = {}
        self._seq = itertools.count(1)

    def resolve(self, target: str, *, must_exist: bool = True) -> list[Index]:
        """The indices a name, wildcard pattern or comma list names."""
        found: dict[str, Index] = {}
        for part in target.split(","):
            names = fnmatch.filter(self.indices, part) if "*" in part else [part]
            for name in names:
                if name in self.indices:
                    found[name] = self.indices[name]
                elif must_exist and "*" not in part:
                    raise EsError(
                        404, "index_not_found_exception", f"no such index [{name}]", index=name
                    )
        return list(found.values())

    def index_doc(self, name: str, doc_id: str, source: dict[str, Any], create: bool) -> str:
        """Store SOURCE as NAME/DOC_ID; 'created' or 'updated'."""
        index = self.indices.setdefault(name, Index(name))
        if create and doc_id in index.docs:
            raise EsError(
                409,
                "version_conflict_engine_exception",
                f"[{doc_id}]: version conflict, document already exists",
            )
        check_document(index, doc_id, source)
        result = "updated" if doc_id in index.docs else "created"
        index.docs[doc_id] = Doc(name, doc_id, source, next(self._seq))
        return result

    def docs_of(self, indices: list[Index]) -> list[Doc]:
        """Every document of INDICES."""
        return [doc for index in indices for doc in index.docs.values()]

    def field_type(self, indices: list[Index], path: str) -> str | None:
        """The mapped type of PATH in the first of INDICES that maps it."""
        return next((i.types[path] for i in indices if path in i.types), None)
