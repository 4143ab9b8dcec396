"""Small helpers the flows share: block loading by name, the notifier, and UI links."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prefect import get_client
from prefect.context import get_run_context
from prefect.settings import PREFECT_UI_URL
from pydantic import ValidationError

from blocks.actions import ActionTargets
from blocks.connections import CONNECTION_BLOCKS
from blocks.notifications import NotificationRouting, aload_notifiers
from blocks.policy import ResolutionPolicy
from oncall_agent.errors import ConfigError
from oncall_agent.executors.registry import configured_actions
from oncall_agent.notify.base import Notifier
from oncall_agent.notify.console import ConsoleOutboxNotifier
from oncall_agent.notify.outbox import RoutedOutbox
from oncall_agent.notify.routing import RoutingConfig
from oncall_agent.policy import PolicyConfig
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import get_engine, session_scope

if TYPE_CHECKING:
    from oncall_agent.llm.advisor import Advisor


async def load_policy(name: str) -> ResolutionPolicy:
    """The policy block NAME; ConfigError naming the bad field if it does not validate."""
    try:
        return await ResolutionPolicy.aload(name)
    except RuntimeError as exc:  # Prefect's wording for "saved data fails validation"
        async with get_client() as client:
            doc = await client.read_block_document_by_name(
                name, ResolutionPolicy.get_block_type_slug(), include_secrets=False
            )
        try:
            PolicyConfig.model_validate(doc.data.get("policy", {}))
        except ValidationError as invalid:
            raise ConfigError(f"policy block {name!r} does not validate: {invalid}") from exc
        raise


async def load_targets(name: str) -> ActionTargets:
    """The action-targets block NAME."""
    return await ActionTargets.aload(name)


async def load_clients(targets: ActionTargets) -> dict[str, Any]:
    """The clients of the external systems TARGETS names (Airflow, Spark, databases)."""
    clients: dict[str, Any] = {}
    for client_name, block_name in targets.connections.items():
        block_cls = CONNECTION_BLOCKS.get(client_name)
        if block_cls is None:
            raise ValueError(
                f"ActionTargets.connections names {client_name!r}, which is not one of "
                f"{sorted(CONNECTION_BLOCKS)}"
            )
        block = await block_cls.aload(block_name)
        clients[client_name] = block.build_client()
    return clients


@dataclass
class Channels:
    """Where notifications go: the outbox the flow writes to, and the channels that deliver it."""

    outbox: Notifier
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)


async def load_channels(routing_block: str | None) -> Channels:
    """The routing block's channels (console and the outbox file when none is named)."""
    if routing_block:
        block: NotificationRouting = await NotificationRouting.aload(routing_block)
        routing = block.config()
    else:
        routing = RoutingConfig(group_wait_s=0)  # console only: nothing to group, say it now
    notifiers, secrets = await aload_notifiers(routing.all_channels(), default_notifier())
    outbox = RoutedOutbox(lambda: session_scope(get_engine()), routing, secrets)
    return Channels(outbox=outbox, notifiers=notifiers, secrets=secrets)


@dataclass
class Context:
    """What a resolution run works with, loaded from blocks."""

    policy: PolicyConfig
    targets: ActionTargets
    clients: dict[str, Any]
    channels: Channels
    advisor: Advisor | None = None  # a model, only when an LLMConfig block is named

    @property
    def allowed(self) -> set[str]:
        """Actions this deployment may run at all."""
        return configured_actions(self.targets.executors, self.clients)


# Loading a block costs 35-65 ms of API time (measured in bench/resolve.py); subflows of one
# detection run share what it loaded for a short while. Edits in the UI apply within the TTL.
CONTEXT_TTL_S = 30.0
_contexts: dict[tuple[str, ...], tuple[float, Context]] = {}


async def load_advisor(name: str | None, secrets: tuple[str, ...]) -> Advisor | None:
    """The model of LLMConfig block NAME, masking SECRETS from prompts; None when not named."""
    if not name:
        return None
    from blocks.llm import LLMConfig
    from oncall_agent.llm.advisor import Advisor

    block: LLMConfig = await LLMConfig.aload(name)
    return Advisor.from_settings(block.settings(), secrets)


async def load_context(
    policy: str, targets: str, notifications: str | None, llm: str | None = None
) -> Context:
    """The policy, action targets, their clients, channels, model (cached for CONTEXT_TTL_S)."""
    settings = get_settings()  # a different store or outbox is a different context
    key = (
        policy,
        targets,
        str(notifications),
        str(llm),
        settings.resolved_database_url(),
        str(settings.resolved_outbox()),
    )
    cached = _contexts.get(key)
    if cached and time.monotonic() - cached[0] < CONTEXT_TTL_S:
        return cached[1]
    loaded_targets = await load_targets(targets)
    channels = await load_channels(notifications)
    ctx = Context(
        policy=(await load_policy(policy)).policy,
        targets=loaded_targets,
        clients=await load_clients(loaded_targets),
        channels=channels,
        advisor=await load_advisor(llm, (*loaded_targets.secret_values(), *channels.secrets)),
    )
    _contexts[key] = (time.monotonic(), ctx)
    return ctx


def default_notifier() -> ConsoleOutboxNotifier:
    """The console-and-outbox channel, used when no other channel is configured."""
    return ConsoleOutboxNotifier(get_settings().resolved_outbox())


def flow_run_url() -> str | None:
    """A link to the current flow run in the Prefect UI, if a UI address is known."""
    base = PREFECT_UI_URL.value()
    ctx = get_run_context()
    run = getattr(ctx, "flow_run", None)
    if not base or run is None:
        return None
    return f"{base.rstrip('/')}/runs/flow-run/{run.id}"


async def running_again_after_pause_timeout(reason: str) -> None:
    """Put this run back to Running after its pause timed out, so it can end Completed.

    Prefect leaves a run whose pause expired Paused, and then fails it ("completed and never
    resumed") even when the flow handled the expiry; an expired approval that escalated
    properly is not an error, so the run says what happened instead.
    """
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run
    from prefect.states import Running

    run_id = flow_run.get_id()
    if run_id is None:  # not inside a flow run: nothing to put back
        return
    async with get_client() as client:
        await client.set_flow_run_state(run_id, Running(message=reason), force=True)
