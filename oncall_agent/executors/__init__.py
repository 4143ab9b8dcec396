"""Executors: validated, allow-listed actions (command templates, HTTP calls, cleanup, restarts).

Every executor plans first (validation, nothing runs), then runs without a shell under a timeout,
then verifies. `build_executor` is the only way in from an action name.
"""

from oncall_agent.executors.base import ActionPlan, Executor, params_hash, truncate
from oncall_agent.executors.config import (
    CommandTemplate,
    ExecutorConfig,
    ParamRule,
    ServiceTarget,
    load_executor_config,
)
from oncall_agent.executors.health import check_health
from oncall_agent.executors.registry import ACTION_NAMES, build_executor, configured_actions

__all__ = [
    "ACTION_NAMES",
    "ActionPlan",
    "CommandTemplate",
    "Executor",
    "ExecutorConfig",
    "ParamRule",
    "ServiceTarget",
    "build_executor",
    "check_health",
    "configured_actions",
    "load_executor_config",
    "params_hash",
    "truncate",
]
