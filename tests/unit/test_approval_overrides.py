"""Overrides at approval: typed like the proposal, and accepted only when they narrow it."""

from __future__ import annotations

import fnmatch
import itertools

import pytest

from oncall_agent.approval_overrides import apply_overrides, typed_like

PROPOSED = {"root": "/var/spool", "pattern": "*.log", "older_than_s": 3600, "recursive": True}


@pytest.mark.parametrize(
    ("raw", "typed"), [("7200", 7200), (7200.0, 7200), ("false", False), ("a*.log", "a*.log")]
)
def test_text_from_the_cli_is_typed_like_the_proposed_value(raw: object, typed: object) -> None:
    """`older_than_s=7200` arrives as text and becomes the int the entry proposes."""
    proposed = {7200: 3600, False: True, "a*.log": "*.log"}[typed]  # type: ignore[index]
    value = typed_like("p", proposed, raw)
    assert value == typed and type(value) is type(typed)


def test_values_of_another_type_are_refused() -> None:
    """A value that is not of the proposed type is refused with the parameter named."""
    with pytest.raises(ValueError, match="older_than_s='soon' is not a int"):
        typed_like("older_than_s", 3600, "soon")
    with pytest.raises(ValueError, match="must be a int"):
        typed_like("older_than_s", 3600, True)


def test_narrowing_overrides_are_applied_and_widening_ones_refused() -> None:
    """A later cut-off, a sub-pattern and recursive off apply; `*` and an earlier cut-off don't."""
    narrow = {"older_than_s": "86400", "pattern": "app-*.log", "recursive": "false"}
    params, reasons = apply_overrides("cleanup_files", PROPOSED, narrow)
    assert reasons == []
    assert params == {**PROPOSED, "older_than_s": 86400, "pattern": "app-*.log", "recursive": False}
    _, reasons = apply_overrides("cleanup_files", PROPOSED, {"pattern": "*", "older_than_s": 0})
    assert len(reasons) == 2 and "may select files" in reasons[0] and "below" in reasons[1]


def test_actions_without_narrowing_rules_take_no_overrides() -> None:
    """Deny by default: restart_service's service cannot be changed at approval."""
    _, reasons = apply_overrides("restart_service", {"service": "web"}, {"service": "db"})
    assert reasons and "may not be changed at approval" in reasons[0]


def test_accepted_patterns_select_only_names_the_proposal_selects() -> None:
    """Exhaustively over short names: every accepted sub-pattern matches a subset of names."""
    alphabet = "ab.*?["
    names = ["".join(p) for n in range(5) for p in itertools.product("ab.", repeat=n)]
    for proposed in ("*", "a*", "*.a", "a*b", "?a", "[ab]*"):
        for n in range(1, 4):
            for given in ("".join(p) for p in itertools.product(alphabet, repeat=n)):
                _, reasons = apply_overrides(
                    "cleanup_files", {"pattern": proposed}, {"pattern": given}
                )
                if reasons:
                    continue
                wider = [m for m in names if fnmatch.fnmatchcase(m, given)
                         and not fnmatch.fnmatchcase(m, proposed)]  # fmt: skip
                assert not wider, (proposed, given, wider)
