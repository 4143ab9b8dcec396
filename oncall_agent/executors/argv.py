"""Turning a command template and untrusted parameters into one exact argv, or refusing to."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from typing import Any

from oncall_agent.errors import ActionRejected
from oncall_agent.executors.config import PLACEHOLDER, CommandTemplate, ParamRule


def resolve_executable(name: str, *, what: str) -> str:
    """The absolute path of NAME (absolute already, or found on PATH); ActionRejected if absent."""
    if os.path.isabs(name):
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise ActionRejected(f"{what}: executable {name!r} does not exist or is not executable")
    if os.sep in name:
        raise ActionRejected(f"{what}: executable {name!r} must be an absolute path or a bare name")
    found = shutil.which(name)
    if found is None:
        raise ActionRejected(f"{what}: executable {name!r} was not found on PATH")
    return os.path.abspath(found)


def check_param_value(name: str, value: Any, rule: ParamRule, *, what: str) -> str:
    """VALUE as the single argv element it becomes, if the built-in guard and RULE allow it."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ActionRejected(f"{what}: parameter {name!r} must be a string or an integer")
    text = str(value)
    problem = _guard_problem(text, rule.max_length)
    if problem is None and not _allowed_by_rule(text, rule):
        problem = "is not in its allow-list" if rule.choices else "does not match its pattern"
    if problem is not None:
        raise ActionRejected(f"{what}: parameter {name!r} {problem}: {_preview(text)}")
    return text


def _guard_problem(text: str, max_length: int) -> str | None:
    """Why the built-in guard refuses TEXT, whatever the rule says; None if it does not."""
    if not text:
        return "is empty"
    if len(text) > max_length:
        return f"is longer than {max_length} characters"
    if text.startswith("-"):
        return "starts with '-' (it would be read as an option)"
    # Cc covers NUL, newlines, tabs and escapes; none belongs in an argument.
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return "contains a control character (NUL, newline, tab, ...)"
    return None


def _allowed_by_rule(text: str, rule: ParamRule) -> bool:
    """Whether TEXT is one of the rule's choices or fully matches its pattern."""
    if rule.choices is not None:
        return text in rule.choices
    assert rule.pattern is not None
    return re.fullmatch(rule.pattern, text, re.ASCII) is not None


def _preview(text: str, limit: int = 80) -> str:
    """A short, printable rendering of a rejected value for error messages."""
    shown = repr(text[:limit])
    return shown + (f" (+{len(text) - limit} more characters)" if len(text) > limit else "")


def render_argv(template: CommandTemplate, params: dict[str, Any], *, what: str) -> list[str]:
    """The exact argv: executable resolved, each placeholder replaced by one validated value."""
    missing = sorted(set(template.params) - set(params))
    extra = sorted(set(params) - set(template.params))
    if missing or extra:
        raise ActionRejected(
            f"{what}: parameters must be exactly {sorted(template.params)} "
            f"(missing {missing}, unexpected {extra})"
        )
    values = {
        name: check_param_value(name, params[name], rule, what=what)
        for name, rule in template.params.items()
    }
    argv = [resolve_executable(template.argv[0], what=what)]
    for element in template.argv[1:]:
        match = PLACEHOLDER.fullmatch(element)
        argv.append(values[match.group(1)] if match else element)
    return argv
