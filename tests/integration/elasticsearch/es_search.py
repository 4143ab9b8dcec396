"""Query, sort and search_after evaluation of the test Elasticsearch (the documented subset)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.integration.elasticsearch.es_engine import (
    LONG_MAX,
    LONG_MIN,
    Doc,
    Engine,
    EsError,
    Index,
    parse_date,
    value_at,
)

Matcher = Callable[[Doc], bool]


def compile_query(query: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """A predicate for QUERY; EsError(400, parsing_exception) for a query it does not know."""
    if not isinstance(query, dict) or len(query) != 1:
        raise EsError(
            400, "parsing_exception", "[_na] query malformed, must start with start_object"
        )
    ((kind, spec),) = query.items()
    builders = {
        "match_all": _match_all,
        "bool": _bool,
        "range": _range,
        "term": _term,
        "terms": _terms,
        "match": _match,
        "exists": _exists,
    }
    if kind not in builders:
        raise EsError(400, "parsing_exception", f"unknown query [{kind}]")
    return builders[kind](spec, engine, indices)


def _match_all(spec: Any, engine: Engine, indices: list[Index]) -> Matcher:
    """Every document."""
    return lambda doc: True


def _clauses(spec: dict[str, Any], key: str, engine: Engine, indices: list[Index]) -> list[Matcher]:
    """The compiled clauses under KEY (a query or a list of queries)."""
    raw = spec.get(key, [])
    return [compile_query(q, engine, indices) for q in (raw if isinstance(raw, list) else [raw])]


def _bool(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """must / filter all match, must_not none, and should as minimum_should_match says."""
    must = _clauses(spec, "must", engine, indices) + _clauses(spec, "filter", engine, indices)
    must_not = _clauses(spec, "must_not", engine, indices)
    should = _clauses(spec, "should", engine, indices)
    minimum = int(spec.get("minimum_should_match", 0 if must else 1 if should else 0))

    def matches(doc: Doc) -> bool:
        if not all(m(doc) for m in must) or any(m(doc) for m in must_not):
            return False
        return sum(1 for m in should if m(doc)) >= minimum

    return matches


def _comparable(value: Any, kind: str | None, fmt: str | None = None) -> Any:
    """VALUE in the form its field type compares in."""
    if kind in ("date", "date_nanos"):
        return parse_date(value, fmt)
    if kind in ("long", "integer", "float", "double"):
        return float(value)
    return str(value)


def _range(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """gte / gt / lte / lt on one field, with an optional date format."""
    ((path, bounds),) = spec.items()
    kind = engine.field_type(indices, path)
    fmt = bounds.get("format")
    ops = {
        "gte": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
        "lte": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
    }
    tests = [(ops[op], _comparable(v, kind, fmt)) for op, v in bounds.items() if op in ops]

    def matches(doc: Doc) -> bool:
        value = value_at(doc.source, path)
        if value is None:
            return False
        mine = _comparable(value, kind)
        return all(test(mine, bound) for test, bound in tests)

    return matches


def _term(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """An exact value."""
    ((path, wanted),) = spec.items()
    wanted = wanted["value"] if isinstance(wanted, dict) else wanted
    return lambda doc: value_at(doc.source, path) == wanted


def _terms(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """Any of several exact values."""
    ((path, values),) = spec.items()
    return lambda doc: value_at(doc.source, path) in values


def _tokens(text: Any) -> set[str]:
    """Lower-cased words, as the standard analyzer roughly makes them."""
    return set(re.findall(r"\w+", str(text).lower()))


def _match(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """Full text: any word of the query in the field (the default OR operator)."""
    ((path, query),) = spec.items()
    words = _tokens(query["query"] if isinstance(query, dict) else query)
    return lambda doc: bool(words & _tokens(value_at(doc.source, path) or ""))


def _exists(spec: dict[str, Any], engine: Engine, indices: list[Index]) -> Matcher:
    """The field has a value."""
    return lambda doc: value_at(doc.source, spec["field"]) is not None


def parse_sort(sort: Any, with_pit: bool) -> list[tuple[str, str]]:
    """[(field, order)]; with a point in time, _shard_doc is appended unless already there."""
    fields: list[tuple[str, str]] = []
    for item in sort if isinstance(sort, list) else [sort]:
        if isinstance(item, str):
            fields.append((item, "asc"))
            continue
        ((path, spec),) = item.items()
        order = spec if isinstance(spec, str) else spec.get("order", "asc")
        fields.append((path, order))
    if with_pit and all(path != "_shard_doc" for path, _ in fields):
        fields.append(("_shard_doc", "asc"))
    return fields


def sort_values(doc: Doc, fields: list[tuple[str, str]], kinds: dict[str, str | None]) -> list[Any]:
    """The sort values Elasticsearch reports for DOC (dates as epoch ms, missing last)."""
    values: list[Any] = []
    for path, order in fields:
        if path == "_shard_doc":
            values.append(doc.seq)
            continue
        raw, kind = value_at(doc.source, path), kinds[path]
        if raw is None:
            numeric = kind in ("date", "date_nanos", "long", "integer")
            values.append((LONG_MAX if order == "asc" else LONG_MIN) if numeric else None)
        elif kind in ("date", "date_nanos"):
            values.append(parse_date(raw))
        else:
            values.append(raw)
    return values


def check_sortable(
    engine: Engine, indices: list[Index], fields: list[tuple[str, str]]
) -> dict[str, str | None]:
    """The type of each sort field; EsError(400) for unmapped or text fields, as ES refuses them."""
    kinds: dict[str, str | None] = {}
    for path, _ in fields:
        if path == "_shard_doc":
            continue
        kind = engine.field_type(indices, path)
        if kind is None:
            raise EsError(
                400, "query_shard_exception", f"No mapping found for [{path}] in order to sort on"
            )
        if kind == "text":
            raise EsError(
                400,
                "illegal_argument_exception",
                f"Text fields are not optimised for operations that require per-document "
                f"field data like aggregations and sorting, so these operations are "
                f"disabled by default. Please use a keyword field instead. [{path}]",
            )
        kinds[path] = kind
    return kinds


def compare_sort(a: list[Any], b: list[Any], fields: list[tuple[str, str]]) -> int:
    """-1, 0 or 1: how sort values A order against B (missing values last in either order)."""
    for x, y, (_, order) in zip(a, b, fields, strict=True):
        if x == y:
            continue
        if x is None or y is None:
            return 1 if x is None else -1
        less = x < y
        return (-1 if less else 1) * (1 if order == "asc" else -1)
    return 0
