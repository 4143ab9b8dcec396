"""The block that holds the decision policy, editable in the Prefect UI."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field

from oncall_agent.policy import PolicyConfig


class ResolutionPolicy(Block):
    """Thresholds, risk classes, freeze windows, rate limits and the circuit breaker."""

    _block_type_name = "Oncall Resolution Policy"
    _block_type_slug = "oncall-resolution-policy"
    _description = "When the on-call agent may act alone, ask for approval, or escalate."

    policy: PolicyConfig = Field(default_factory=PolicyConfig)
