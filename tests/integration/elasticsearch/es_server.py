"""A small Elasticsearch-protocol HTTP server on 127.0.0.1 for tests (no Elasticsearch here).

It answers what the source and the tests call, in Elasticsearch's documented request and
response formats: `GET /`, index create/delete, `_bulk` (per-item errors), `_refresh`,
`POST /{index}/_pit?keep_alive=`, `DELETE /_pit`, and `_search` with a point in time,
`search_after` and `sort`. Every 2xx answer carries `X-Elastic-Product: Elasticsearch`, which
the official client checks, and the compatible-with content type the client asked for.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.elasticsearch.es_engine import (
    Doc,
    Engine,
    EsError,
    Index,
    flatten_properties,
    parse_date,
    value_at,
)
from tests.integration.elasticsearch.es_search import (
    check_sortable,
    compare_sort,
    compile_query,
    parse_sort,
    sort_values,
)

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_keep_alive(text: str) -> float:
    """A time value such as 30s or 2m in seconds; EsError(400) if it is not one."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", text or "")
    if not match:
        raise EsError(
            400, "illegal_argument_exception", f"failed to parse [{text}] as a time value"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


@dataclass
class Pit:
    """A point in time: the documents that existed when it opened, and when it expires."""

    docs: list[Doc]
    indices: list[str]
    expires_at: float


class FakeElasticsearch:
    """The server's state (engine and points in time) and its lifecycle on a fixed port."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.pits: dict[str, Pit] = {}
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        """Listen (on the same port as before, after a stop) and serve in a thread."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def stop(self) -> None:
        """Stop listening: clients now get 'connection refused', as from a cluster that is down."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def open_pit(self, target: str, keep_alive: str) -> dict[str, Any]:
        """POST /{target}/_pit?keep_alive=..."""
        seconds = parse_keep_alive(keep_alive)
        indices = self.engine.resolve(target)
        pit_id = secrets.token_urlsafe(24)
        self.pits[pit_id] = Pit(
            self.engine.docs_of(indices), [i.name for i in indices], time.monotonic() + seconds
        )
        shards = {"total": len(indices), "successful": len(indices), "skipped": 0, "failed": 0}
        return {"id": pit_id, "_shards": shards}

    def close_pit(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """DELETE /_pit {"id": ...}: 404 with num_freed 0 for an unknown id, as ES does."""
        freed = 1 if self.pits.pop(str(body.get("id")), None) else 0
        return (200 if freed else 404), {"succeeded": True, "num_freed": freed}

    def _live_pit(self, pit: dict[str, Any]) -> tuple[str, Pit]:
        """The PIT a search names, its keep_alive extended; EsError(404) if gone."""
        pit_id = str(pit.get("id"))
        found = self.pits.get(pit_id)
        if found is None or found.expires_at < time.monotonic():
            self.pits.pop(pit_id, None)
            reason = f"No search context found for id [{pit_id[:12]}]"
            raise EsError(404, "search_context_missing_exception", reason)
        if "keep_alive" in pit:
            found.expires_at = time.monotonic() + parse_keep_alive(pit["keep_alive"])
        return pit_id, found

    def search(self, target: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """POST /_search with a pit, or POST /{target}/_search without one."""
        pit_id, pit = None, None
        if "pit" in body:
            if target:
                raise EsError(
                    400,
                    "action_request_validation_exception",
                    "Validation Failed: 1: [indices] cannot be used with point in time;",
                )
            pit_id, pit = self._live_pit(body["pit"])
        if pit is not None:
            indices = self.engine.resolve(",".join(pit.indices), must_exist=False)
            docs = pit.docs
        else:
            indices = self.engine.resolve(target or "*")
            docs = self.engine.docs_of(indices)
        matches = compile_query(body.get("query", {"match_all": {}}), self.engine, indices)
        fields = parse_sort(body.get("sort", [{"_shard_doc": "asc"}]), with_pit=pit is not None)
        kinds = check_sortable(self.engine, indices, fields)
        rows = [(sort_values(d, fields, kinds), d) for d in docs if matches(d)]
        rows = _after(rows, body.get("search_after"), fields, kinds)
        rows.sort(key=_cmp_key(fields))
        hits = [
            _hit(doc, values, body.get("_source")) for values, doc in rows[: body.get("size", 10)]
        ]
        response: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {"max_score": None, "hits": hits},
        }
        if body.get("track_total_hits", True) is not False:
            response["hits"]["total"] = {"value": len(rows), "relation": "eq"}
        if pit_id:
            response["pit_id"] = pit_id
        return response

    def bulk(self, default_index: str | None, lines: list[str]) -> dict[str, Any]:
        """POST /_bulk: each action line (and its source line) applied; errors per item."""
        items, pending = [], iter(lines)
        for line in pending:
            ((action, meta),) = json.loads(line).items()
            source = json.loads(next(pending)) if action != "delete" else {}
            name = meta.get("_index", default_index)
            doc_id = str(meta.get("_id") or secrets.token_hex(10))
            try:
                result = self.engine.index_doc(name, doc_id, source, create=action == "create")
                status = 201 if result == "created" else 200
                items.append(
                    {
                        action: {
                            "_index": name,
                            "_id": doc_id,
                            "_version": 1,
                            "result": result,
                            "_seq_no": 0,
                            "_primary_term": 1,
                            "status": status,
                        }
                    }
                )
            except EsError as exc:
                error = {"type": exc.kind, "reason": exc.reason}
                items.append(
                    {action: {"_index": name, "_id": doc_id, "status": exc.status, "error": error}}
                )
        return {
            "took": 1,
            "errors": any("error" in next(iter(i.values())) for i in items),
            "items": items,
        }


def _after(
    rows: list[tuple[list[Any], Doc]],
    after: Any,
    fields: list[tuple[str, str]],
    kinds: dict[str, str | None],
) -> list[tuple[list[Any], Doc]]:
    """The rows strictly after the search_after values; EsError(400) if their count is wrong."""
    if after is None:
        return rows
    if len(after) != len(fields):
        raise EsError(
            400,
            "illegal_argument_exception",
            f"search_after has {len(after)} value(s) but sort has {len(fields)}.",
        )
    typed = [
        parse_date(v) if kinds.get(p) in ("date", "date_nanos") and v is not None else v
        for v, (p, _) in zip(after, fields, strict=True)
    ]
    return [row for row in rows if compare_sort(row[0], typed, fields) > 0]


def _cmp_key(fields: list[tuple[str, str]]) -> Any:
    """A sort key for rows by their sort values."""
    return functools.cmp_to_key(lambda a, b: compare_sort(a[0], b[0], fields))


def _hit(doc: Doc, values: list[Any], wanted: Any) -> dict[str, Any]:
    """One element of hits.hits, with _source filtered to the wanted paths."""
    source = doc.source
    if isinstance(wanted, list):
        source = {
            path: value_at(doc.source, path)
            for path in wanted
            if value_at(doc.source, path) is not None
        }
    return {
        "_index": doc.index,
        "_id": doc.doc_id,
        "_score": None,
        "_source": source,
        "sort": values,
    }


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the FakeElasticsearch it belongs to."""

    fake: FakeElasticsearch
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """No Nagle delay: headers and body go out in separate writes."""
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read outcomes, not access logs."""

    def do_GET(self) -> None:
        """GET / and GET searches."""
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        """HEAD / (ping)."""
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        """Searches, PIT opening, bulk, refresh."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Index creation and bulk."""
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        """Index deletion and PIT closing."""
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        """Answer one request (errors in Elasticsearch's error format)."""
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        self.fake.requests.append(f"{method} {url.path}")
        try:
            with self.fake.lock:
                status, body = _route(self.fake, method, parts, query, raw)
        except EsError as exc:
            status, body = exc.status, exc.body()
        except (ValueError, KeyError, TypeError) as exc:
            status, body = (
                400,
                EsError(400, "parsing_exception", f"malformed request: {exc}").body(),
            )
        self._answer(status, body, head=method == "HEAD")

    def _answer(self, status: int, body: Any, head: bool) -> None:
        """Send BODY as JSON with the headers the official client expects."""
        data = b"" if head else json.dumps(body).encode("utf-8")
        version = re.search(r"compatible-with=(\d+)", self.headers.get("Accept", ""))
        kind = (
            f"application/vnd.elasticsearch+json;compatible-with={version.group(1)}"
            if version
            else "application/json"
        )
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _route(
    fake: FakeElasticsearch, method: str, parts: list[str], query: dict[str, str], raw: str
) -> tuple[int, Any]:
    """(status, body) of one request."""
    body = json.loads(raw) if raw.strip() and not (parts and parts[-1] == "_bulk") else {}
    engine = fake.engine
    if not parts:
        return 200, {
            "name": "fake",
            "cluster_name": "oncall-test",
            "tagline": "You Know, for Search",
            "version": {"number": "9.1.0", "build_flavor": "default"},
        }
    if parts[-1] == "_bulk":
        lines = [line for line in raw.splitlines() if line.strip()]
        return 200, fake.bulk(parts[0] if len(parts) == 2 else None, lines)
    if parts == ["_pit"] and method == "DELETE":
        return fake.close_pit(body)
    if len(parts) == 2 and parts[1] == "_pit" and method == "POST":
        if "keep_alive" not in query:
            raise EsError(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: [keep_alive] is not specified;",
            )
        return 200, fake.open_pit(parts[0], query["keep_alive"])
    if parts[-1] == "_search":
        return 200, fake.search(parts[0] if len(parts) == 2 else None, body)
    if len(parts) == 2 and parts[1] == "_refresh":
        return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
    if len(parts) == 1 and method == "PUT":
        if parts[0] in engine.indices:
            raise EsError(
                400, "resource_already_exists_exception", f"index [{parts[0]}] already exists"
            )
        properties = body.get("mappings", {}).get("properties", {})
        engine.indices[parts[0]] = Index(parts[0], flatten_properties(properties))
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": parts[0]}
    if len(parts) == 1 and method == "DELETE":
        for index in engine.resolve(parts[0]):
            del engine.indices[index.name]
        return 200, {"acknowledged": True}
    return 400, {
        "error": f"no handler found for uri [/{'/'.join(parts)}] and method [{method}]",
        "status": 400,
    }
