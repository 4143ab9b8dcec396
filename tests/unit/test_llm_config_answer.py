"""LLM settings from the environment, answer parsing, and the bounds on what a model may choose."""

from __future__ import annotations

import pytest

from oncall_agent.errors import ActionRejected, ConfigError, LLMAnswerInvalid
from oncall_agent.llm.answer import parse_answer
from oncall_agent.llm.bounds import bound_answer
from oncall_agent.llm.config import settings_from_env
from oncall_agent.llm.prompt import Candidate

RESTART = Candidate(
    key="pool", title="Pool", solution="Restart", action="restart_service",
    parameters={"service": "api", "grace_s": 10}, locked=["service"],
)  # fmt: skip
NOTE = Candidate(key="note", title="Note", solution="Read the runbook")


def test_the_model_is_off_unless_configured() -> None:
    """No ONCALL_LLM_* variables: no settings, the feature is off."""
    assert settings_from_env({}) is None


def test_env_settings_have_a_20_second_default_timeout() -> None:
    """Base URL and model are enough; the timeout defaults to 20 s and the key stays secret."""
    settings = settings_from_env(
        {"ONCALL_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "ONCALL_LLM_MODEL": "llama3.1",
         "ONCALL_LLM_API_KEY": "sk-abc"}
    )  # fmt: skip
    assert settings is not None and settings.timeout_s == 20
    assert settings.model == "llama3.1" and "sk-abc" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ONCALL_LLM_BASE_URL": "http://x/v1"}, "ONCALL_LLM_MODEL"),
        ({"ONCALL_LLM_MODEL": "m"}, "ONCALL_LLM_BASE_URL"),
        ({"ONCALL_LLM_BASE_URL": "u", "ONCALL_LLM_MODEL": "m", "ONCALL_LLM_TIMEOUT_S": "soon"},
         "ONCALL_LLM_TIMEOUT_S"),
    ],
)  # fmt: skip
def test_incomplete_or_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    """A half-configured model or a bad number is an error naming the variable to fix."""
    with pytest.raises(ConfigError, match=named):
        settings_from_env(env)


def test_a_fenced_answer_is_parsed_and_control_characters_removed() -> None:
    """A JSON object in a ``` fence is accepted; control characters in its text are blanked."""
    found = parse_answer(
        '```json\n{"summary": "a\\u001b[31mb", "root_cause": "c", "entry_key": null, '
        '"parameters": {}}\n```'
    )
    assert found.summary == "a [31mb" and found.entry_key is None


@pytest.mark.parametrize("text", ["[]", "null", '{"summary": "s"}', "{not json"])
def test_answers_that_are_not_the_asked_object_are_invalid(text: str) -> None:
    """Anything but an object with the four fields raises LLMAnswerInvalid."""
    with pytest.raises(LLMAnswerInvalid):
        parse_answer(text)


def test_parameters_for_an_entry_without_action_are_refused() -> None:
    """An entry with no action takes no parameters."""
    answer = parse_answer(
        '{"summary": "s", "root_cause": "r", "entry_key": "note", "parameters": {"x": 1}}'
    )
    bounded = bound_answer(answer, [RESTART, NOTE], "pool")
    assert bounded.entry_key == "note" and bounded.parameters == {} and bounded.chosen_by_model
    assert bounded.refused == ["entry note has no action: the model's parameters are ignored"]


def test_an_accepted_change_is_checked_by_the_plan_and_marked() -> None:
    """A changed unlocked parameter passes the action's check and marks the model's choice."""
    seen: list[tuple[str, dict[str, object]]] = []

    def check(action: str, params: dict[str, object]) -> None:
        seen.append((action, params))
        if params["grace_s"] == 0:
            raise ActionRejected("grace_s must be > 0")

    ok = parse_answer(
        '{"summary": "s", "root_cause": "r", "entry_key": "pool", "parameters": {"grace_s": 30}}'
    )
    bounded = bound_answer(ok, [RESTART], "pool", check)
    assert bounded.parameters == {"service": "api", "grace_s": 30} and bounded.chosen_by_model
    zero = ok.model_copy(update={"parameters": {"grace_s": 0}})
    refused = bound_answer(zero, [RESTART], "pool", check)
    assert refused.parameters == RESTART.parameters and not refused.chosen_by_model
    assert seen == [("restart_service", {"service": "api", "grace_s": 30}),
                    ("restart_service", {"service": "api", "grace_s": 0})]  # fmt: skip
