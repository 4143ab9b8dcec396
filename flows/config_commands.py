"""`oncall config apply FILE.yaml | export`: a whole setup as code, saved as Prefect blocks.

Everything in the file is validated before anything is saved, so a mistake changes nothing.
Prefect is imported inside the commands (the rest of the CLI starts without it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from oncall_agent.cli.common import console, friendly_errors
from oncall_agent.config_file import (
    SECTIONS,
    BlockSpec,
    describe_validation,
    read_config,
    secret_placeholder,
)
from oncall_agent.errors import ConfigError

if TYPE_CHECKING:
    from prefect.blocks.core import Block

app = typer.Typer(help="Configuration as code: apply or export the agent's blocks.")


def section_classes() -> dict[str, dict[str, type[Block]]]:
    """For each section, the block class of each kind (`""` when a section has one class)."""
    from blocks.actions import ActionTargets
    from blocks.connections import CONNECTION_BLOCKS
    from blocks.event_sources import SOURCE_BLOCKS
    from blocks.notifications import CHANNEL_BLOCKS, NotificationRouting
    from blocks.policy import ResolutionPolicy

    classes: dict[str, dict[str, type[Block]]] = {
        "sources": dict(SOURCE_BLOCKS),
        "policy": {"": ResolutionPolicy},
        "targets": {"": ActionTargets},
        "channels": dict(CHANNEL_BLOCKS),
        "routing": {"": NotificationRouting},
        "connections": dict(CONNECTION_BLOCKS),
    }
    from blocks.llm import LLMConfig

    classes["llm"] = {"": LLMConfig}
    return classes


def resolve(spec: BlockSpec, classes: dict[str, dict[str, type[Block]]]) -> tuple[type[Block], str]:
    """The block class and the saved block name SPEC stands for."""
    kinds = classes.get(spec.section)
    if kinds is None:
        raise ConfigError(f"{spec.where}: this install has no {spec.section!r} blocks")
    if "" in kinds:
        return kinds[""], spec.name
    kind, sep, name = spec.name.partition("/")
    if spec.section == "sources" and not sep:
        kind, name = "file", spec.name  # a bare source name is a log-file source, as in `detect`
    if kind not in kinds or not name:
        raise ConfigError(
            f"{spec.where}: name it KIND/NAME with KIND one of {', '.join(sorted(kinds))}"
        )
    return kinds[kind], name


def validate(specs: list[BlockSpec]) -> list[tuple[BlockSpec, Block, str]]:
    """Every block built and validated (ConfigError listing every problem, nothing saved)."""
    from pydantic import ValidationError

    classes = section_classes()
    built: list[tuple[BlockSpec, Block, str]] = []
    problems: list[str] = []
    for spec in specs:
        try:
            cls, name = resolve(spec, classes)
            built.append((spec, cls.model_validate(spec.fields), name))
        except ValidationError as exc:
            problems.append(describe_validation(spec.where, exc.errors(include_input=False)))  # type: ignore[arg-type]
        except ConfigError as exc:
            problems.append(str(exc))
    problems += _route_problems(specs)
    if problems:
        raise ConfigError(
            "the configuration is not valid; nothing was saved:\n" + "\n".join(problems)
        )
    return built


def _route_problems(specs: list[BlockSpec]) -> list[str]:
    """Routes that name a channel the file does not define (`console` is built in)."""
    defined = {s.name for s in specs if s.section == "channels"} | {"console"}
    problems = []
    for spec in specs:
        if spec.section != "routing":
            continue
        named = list(spec.fields.get("default_channels") or [])
        for i, route in enumerate(spec.fields.get("routes") or []):
            named += [(f"routes[{i}]", c) for c in (route or {}).get("channels") or []]
        for entry in named:
            where, channel = entry if isinstance(entry, tuple) else ("default_channels", entry)
            if channel not in defined:
                problems.append(
                    f"{spec.where}.{where}: channel {channel!r} is not defined under channels"
                )
    return problems


def _comparable(block: Block) -> dict[str, Any]:
    """A block's declared fields with secrets revealed, to tell an update from no change."""
    return block.model_dump(
        mode="json", include=set(type(block).model_fields), context={"include_secrets": True}
    )


async def _apply(built: list[tuple[BlockSpec, Block, str]], dry_run: bool) -> list[str]:
    """Create or update each block; what happened to each, in file order."""
    report = []
    for spec, block, name in built:
        try:
            current = await type(block).aload(name)
            verdict = "unchanged" if _comparable(current) == _comparable(block) else "updated"
        except ValueError:
            verdict = "created"
        if not dry_run and verdict != "unchanged":
            await block.asave(name, overwrite=True)
        report.append(f"{'would be ' if dry_run else ''}{verdict}: {spec.where}")
    return report


@app.command("apply")
@friendly_errors
def apply_command(
    path: Path = typer.Argument(..., help="The YAML file (see the README's example)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; save nothing"),
) -> None:
    """Validate a whole setup (sources, policy, targets, channels, routing), then save it."""
    built = validate(read_config(path))
    from blocks import ALL_BLOCKS

    if not dry_run:
        for cls in ALL_BLOCKS:  # a fresh Prefect API knows none of our block types yet
            cls.register_type_and_schema()
    for line in asyncio.run(_apply(built, dry_run)):
        console.print(line)


def _exported(block: Block, where: str) -> dict[str, Any]:
    """A saved block's fields, each secret replaced by a `${VAR}` placeholder."""
    from prefect.types import SecretDict
    from pydantic import SecretStr

    out: dict[str, Any] = {}
    for field, value in block:
        if isinstance(value, SecretDict):
            keys = value.get_secret_value()
            out[field] = {k: secret_placeholder(f"{where}.{field}.{k}") for k in keys}
        elif isinstance(value, SecretStr):
            out[field] = secret_placeholder(f"{where}.{field}")
        elif isinstance(value, list) and value and isinstance(value[0], SecretStr):
            out[field] = [secret_placeholder(f"{where}.{field}.{i}") for i in range(len(value))]
        else:
            out[field] = block.model_dump(mode="json", include={field})[field]
    return out


async def _export() -> dict[str, dict[str, Any]]:
    """Every saved block of the agent's types, by section and name."""
    from prefect.client.orchestration import get_client

    document: dict[str, dict[str, Any]] = {}
    async with get_client() as client:
        for section, kinds in section_classes().items():
            for kind, cls in kinds.items():
                try:
                    docs = await client.read_block_documents_by_type(cls.get_block_type_slug())
                except Exception:  # noqa: S112  the type was never registered: nothing saved
                    continue
                for doc in docs:
                    if doc.name is None or doc.is_anonymous:
                        continue
                    name = f"{kind}/{doc.name}" if kind else doc.name
                    block = await cls.aload(doc.name)
                    document.setdefault(section, {})[name] = _exported(block, f"{section}.{name}")
    return {s: document[s] for s in SECTIONS if s in document}


@app.command("export")
@friendly_errors
def export_command(
    path: Path | None = typer.Argument(None, help="Write here (default: print)"),
) -> None:
    """Write the saved setup as YAML that `config apply` reads; secrets become ${VAR} names."""
    import yaml

    text = yaml.safe_dump(asyncio.run(_export()), sort_keys=False, allow_unicode=True)
    if path is None:
        typer.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
        console.print(f"wrote {path}; set the ${{...}} secrets in the environment to apply it")
