"""The model's answer: one JSON object with summary, root_cause, entry_key and parameters."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from oncall_agent.errors import LLMAnswerInvalid

TEXT_LIMIT = 1000
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
# Control characters other than newline and tab would garble a terminal or an email.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ModelAnswer(BaseModel):
    """What the model said, as typed values; whether it is accepted is decided in `bounds`."""

    summary: str
    root_cause: str
    entry_key: str | None
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("summary", "root_cause")
    @classmethod
    def _plain_text(cls, value: str) -> str:
        """Printable text of bounded length."""
        return _CONTROL.sub(" ", value).strip()[:TEXT_LIMIT]


def parse_answer(text: str) -> ModelAnswer:
    """The answer in TEXT (a JSON object, optionally in a ``` fence); LLMAnswerInvalid otherwise."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        document = json.loads(body)
    except json.JSONDecodeError as exc:
        raise LLMAnswerInvalid(f"the model's answer is not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise LLMAnswerInvalid("the model's answer is not a JSON object")
    missing = [f for f in ("summary", "root_cause", "entry_key", "parameters") if f not in document]
    if missing:
        raise LLMAnswerInvalid(f"the model's answer lacks {', '.join(missing)}")
    try:
        return ModelAnswer.model_validate(
            {k: document[k] for k in ("summary", "root_cause", "entry_key", "parameters")}
        )
    except ValidationError as exc:
        where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise LLMAnswerInvalid(
            f"the model's answer has fields of the wrong type: {where}"
        ) from None
