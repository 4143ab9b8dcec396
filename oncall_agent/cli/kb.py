"""`oncall kb`: list, search, add, import, export knowledge entries, and A/B stats."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column, Table

from oncall_agent.cli.common import (
    console,
    describe_error,
    fail,
    print_json,
    say_empty,
    store_session,
)
from oncall_agent.errors import ConfigError, OncallError
from oncall_agent.models import AutonomyMode, RiskClass

if TYPE_CHECKING:
    from oncall_agent.knowledge.matcher import KnowledgeMatch
    from oncall_agent.knowledge.spec import KnowledgeEntrySpec
    from oncall_agent.store.tables import KnowledgeEntry

app = typer.Typer(help="The knowledge base: known problems and their fixes.", no_args_is_help=True)

Many = Annotated[list[str] | None, typer.Option()]


def _guarded(action: Callable[[], None]) -> None:
    """Run ACTION, turning the project's and the store's errors into clear exits."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        action()
    except (OncallError, SQLAlchemyError) as exc:
        fail(*describe_error(exc))


def _key_column(items: Sequence[KnowledgeEntry | KnowledgeMatch]) -> Column:
    """A key column wide enough that keys, which users type back, are never cut."""
    keys = [str(getattr(i, "key", None) or getattr(i, "entry_key", "")) for i in items]
    return Column("key", min_width=max(map(len, keys), default=3), overflow="fold")


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show every knowledge entry with its action, risk, autonomy and record."""

    def run() -> None:
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            rows = kb_store.list_entries(session)
            specs = (
                [kb_store.to_spec(row).model_dump(mode="json") for row in rows] if as_json else []
            )
        if as_json:
            records = {r.key: {"successes": r.successes, "failures": r.failures} for r in rows}
            print_json([{**spec, **records[spec["key"]]} for spec in specs])
            return
        if not rows:
            say_empty("the knowledge base is empty; `oncall kb seed` adds the built-in entries")
            return
        table = Table(
            _key_column(rows), "title", "action", "risk", "autonomy", "ok/failed", "origin"
        )
        for row in rows:
            action = (row.action or {}).get("name", "-")
            if row.alternatives:
                action += f" (+{len(row.alternatives)} alt.)"
            record = f"{row.successes}/{row.failures}"
            cells = (row.key, row.title, action, row.risk, row.autonomy, record, row.origin)
            table.add_row(*(str(c) for c in cells))
        console.print(table)

    _guarded(run)


@app.command("search")
def search_command(
    query: str,
    limit: Annotated[int, typer.Option(min=1)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Find the entries that best fit QUERY (words or a pasted log line)."""

    def run() -> None:
        from oncall_agent.knowledge.matcher import search_entries
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            specs = [kb_store.to_spec(row) for row in kb_store.list_entries(session)]
        matches = search_entries(query, specs)[:limit]
        if as_json:
            print_json([m.model_dump(mode="json") for m in matches])
            return
        if not matches:
            say_empty("no entry matches")
            return
        table = Table("score", _key_column(matches), "title", "why")
        for m in matches:
            table.add_row(f"{m.score:.2f}", m.entry_key, m.title, "; ".join(m.reasons))
        console.print(table)

    _guarded(run)


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    """key=value pairs; values that parse as JSON (numbers, booleans) keep that type."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise ConfigError(f"--param {pair!r} is not key=value; write e.g. --param service=api")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


def _parse_alternative(text: str) -> dict[str, Any]:
    """An --alternative: a bare executor name, or a JSON action {"name": ..., "params": {...}}."""
    if not text.lstrip().startswith("{"):
        return {"name": text.strip()}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"--alternative {text!r} is not valid JSON ({exc.msg}); write a name such as "
            'clear_cache or {"name": "clear_cache", "params": {"service": "api"}}'
        ) from exc
    if not isinstance(value, dict):
        raise ConfigError(f"--alternative {text!r} must be a JSON object with a 'name'")
    return value


def _spec_from_options(
    fields: dict[str, Any], action: str | None, params: list[str], alternatives: list[str]
) -> KnowledgeEntrySpec:
    """Validate the options of `kb add` as one entry."""
    from pydantic import ValidationError

    from oncall_agent.knowledge.spec import KnowledgeEntrySpec, describe_validation_error

    if action:
        fields["action"] = {"name": action, "params": _parse_params(params)}
    elif params:
        raise ConfigError("--param needs --action NAME")
    if alternatives:
        fields["alternatives"] = [_parse_alternative(a) for a in alternatives]
    try:
        return KnowledgeEntrySpec.model_validate(fields)
    except ValidationError as exc:
        raise ConfigError("\n".join(describe_validation_error("kb add", exc))) from exc


@app.command("add")
def add_command(
    file: Annotated[Path | None, typer.Option(help="JSON or YAML file of entries")] = None,
    key: Annotated[str | None, typer.Option()] = None,
    title: Annotated[str | None, typer.Option()] = None,
    description: str = "",
    pattern: Many = None,
    service: Many = None,
    category: Many = None,
    tag: Many = None,
    solution: Annotated[str | None, typer.Option()] = None,
    action: Annotated[str | None, typer.Option(help="executor name, e.g. restart_service")] = None,
    param: Annotated[list[str] | None, typer.Option(help="action parameter key=value")] = None,
    alternative: Annotated[
        list[str] | None,
        typer.Option(help='another action to A/B-test: NAME or JSON {"name": .., "params": ..}'),
    ] = None,
    risk: RiskClass = RiskClass.MEDIUM,
    autonomy: AutonomyMode = AutonomyMode.APPROVE,
) -> None:
    """Add new entries from --file, or one entry from the options; existing keys are refused."""

    def run() -> None:
        from oncall_agent.knowledge.admission import check_admissible
        from oncall_agent.knowledge.spec import load_entries_file
        from oncall_agent.store import knowledge as kb_store

        if file is not None:
            if key or title or solution or pattern or action or alternative:
                raise ConfigError(
                    "--file cannot be combined with --key, --title, --solution, "
                    "--pattern, --action or --alternative; put the entry in the file instead"
                )
            specs = load_entries_file(file)
        else:
            fields = {
                "key": key, "title": title, "description": description,
                "patterns": pattern or [], "services": service or [],
                "categories": category or [], "tags": tag or [], "solution": solution,
                "risk": risk, "autonomy": autonomy,
            }  # fmt: skip
            specs = [
                _spec_from_options(
                    {k: v for k, v in fields.items() if v is not None},
                    action,
                    param or [],
                    alternative or [],
                )
            ]
        with store_session() as session:
            check_admissible(session, specs, str(file) if file is not None else "kb add")
            for spec in specs:
                kb_store.add_entry(session, spec, origin="human")
        console.print(f"added {len(specs)} entries: {', '.join(s.key for s in specs)}")

    _guarded(run)


@app.command("export")
def export_command(path: Path) -> None:
    """Write every entry to PATH (.json, .yaml or .yml)."""

    def run() -> None:
        from oncall_agent.knowledge.spec import dump_entries
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            specs = [kb_store.to_spec(row) for row in kb_store.list_entries(session)]
        dump_entries(specs, path)
        console.print(f"exported {len(specs)} entries to {path}")

    _guarded(run)


@app.command("import")
def import_command(path: Path) -> None:
    """Validate PATH, then create missing entries and update changed ones."""

    def run() -> None:
        from oncall_agent.knowledge.admission import check_admissible
        from oncall_agent.knowledge.spec import load_entries_file
        from oncall_agent.store import knowledge as kb_store

        specs = load_entries_file(path)
        with store_session() as session:
            check_admissible(session, specs, str(path))
            created, updated = kb_store.upsert_entries(session, specs, origin="import")
        unchanged = len(specs) - created - updated
        console.print(f"created {created}, updated {updated}, unchanged {unchanged}")

    _guarded(run)


@app.command("seed")
def seed_command() -> None:
    """Add the built-in default entries that are missing (edited ones are left alone)."""

    def run() -> None:
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            added = kb_store.seed_defaults(session)
        console.print(f"seeded {added} default entries")

    _guarded(run)


@app.command("promotions")
def promotions_command() -> None:
    """Entries whose verified record would justify more autonomy (a suggestion, never applied)."""

    def run() -> None:
        from oncall_agent.knowledge.promotion import suggest_promotion
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            rows = kb_store.list_entries(session)
            suggestions = [
                s
                for r in rows
                if (
                    s := suggest_promotion(
                        r.key, AutonomyMode(r.autonomy), RiskClass(r.risk), r.successes, r.failures
                    )
                )
            ]
        if not suggestions:
            say_empty("no entry's record justifies a promotion yet")
        for s in suggestions:
            console.print(
                f"{s.key}: {s.current.value} -> {s.suggested.value} ({s.reason})\n"
                f"  to apply: {s.command}"
            )

    _guarded(run)


@app.command("set-autonomy")
def set_autonomy_command(
    key: str,
    mode: AutonomyMode,
    by: Annotated[str, typer.Option("--by", help="Who decides (goes to the audit trail)")],
    reason: Annotated[str, typer.Option("--reason")] = "",
) -> None:
    """Change an entry's autonomy (shadow, approve, auto): only a person does this."""

    def run() -> None:
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            row = kb_store.set_autonomy(session, key, mode, actor=by, reason=reason)
        console.print(f"{row.key}: autonomy is now {row.autonomy} (set by {by})")

    _guarded(run)


@app.command("stats")
def stats_command(key: str) -> None:
    """Each action of entry KEY (main and alternatives): outcomes and P(it is the best)."""

    def run() -> None:
        from oncall_agent.knowledge.ab_stats import arm_stats
        from oncall_agent.store import knowledge as kb_store

        with store_session() as session:
            row = kb_store.get_entry(session, key)
            if row is None or row.id is None:
                raise ConfigError(f"no knowledge entry {key!r}: see `oncall kb list`")
            arms = arm_stats(kb_store.to_spec(row), kb_store.action_records(session, row.id))
        console.print(
            f"{key}: {row.successes} successes, {row.failures} failures over all its actions"
        )
        if not arms:
            console.print("this entry has no automated action: nothing to compare")
            return
        # Action names are typed back by users: never cut them.
        name = Column("action", min_width=max(len(a.action) for a in arms), overflow="fold")
        table = Table(name, "role", "ok", "failed", "success rate", "P(best)")
        for arm in arms:
            table.add_row(
                arm.action, arm.role, str(arm.successes), str(arm.failures),
                f"{arm.posterior_mean:.2f}", f"{arm.probability_best:.2f}",
            )  # fmt: skip
        console.print(table)
        console.print(
            "success rate: posterior mean with the prior Beta(4, 1); P(best): Monte Carlo "
            "probability that the action's success rate is the highest",
            soft_wrap=True,
        )

    _guarded(run)
