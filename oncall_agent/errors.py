"""The project's error tree. Adapters translate library errors into these at the boundary.

OncallError
 ├── ConfigError            bad configuration or user input (names the field and what to do)
 │    ├── PatternError      an alert pattern that does not compile
 │    └── KnowledgeImportError  a knowledge file that does not validate
 ├── StoreError             the SQL store failed or is not migrated
 │    └── StoreNotMigrated  the store's schema is older than the code: run `oncall db upgrade`
 │    └── LeaseLost         a resolution's lease expired or was taken over: it must stop
 ├── SourceError            a log or work source could not be read
 │    └── SourceUnavailable the system behind it is down or timing out: retry with back-off
 ├── ActionError            an action could not run
 │    ├── ActionRejected    parameters failed validation (allow-list, path guard): nothing ran
 │    ├── ActionTimeout     the action ran past its timeout
 │    └── DuplicateAction   the idempotency key was already used: the action does not run again
 ├── VerificationError      a verification step could not be performed
 ├── LLMError               the model gave no usable answer: the analysis without it stands
 │    ├── LLMUnavailable    timeout, connection refused, HTTP error, daily token budget spent
 │    └── LLMAnswerInvalid  the answer is not the JSON object asked for
 └── NotificationError      a notification channel refused or failed (transient)
      ├── ChannelUnavailable    down, timing out, 429 or 5xx: retry later (may carry retry_after)
      └── ChannelMisconfigured  the channel refused the request (4xx, login): fix its block
"""

from __future__ import annotations


class OncallError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(OncallError):
    """Configuration or user input is invalid; the message says what to change."""


class PatternError(ConfigError):
    """An alert pattern does not compile."""


class KnowledgeImportError(ConfigError):
    """A knowledge-base file does not validate."""


class StoreError(OncallError):
    """The SQL store failed or its schema is out of date."""


class StoreNotMigrated(StoreError):
    """The store's schema is older than the code (or absent): run `oncall db upgrade`."""


class LeaseLost(StoreError):
    """This run no longer holds the incident's resolution lease: nothing more may run."""


class SourceError(OncallError):
    """A log or work source could not be read."""


class SourceUnavailable(SourceError):
    """The system behind a source (Elasticsearch, a REST API) is down or timing out: retry later."""


class ActionError(OncallError):
    """An action could not run."""


class ActionRejected(ActionError):
    """Parameters failed validation; nothing was executed."""


class ActionTimeout(ActionError):
    """The action ran past its timeout."""


class DuplicateAction(ActionError):
    """The idempotency key was used before; the action is not run twice."""


class VerificationError(OncallError):
    """A verification step could not be performed."""


class NotificationError(OncallError):
    """A notification channel failed; callers retry with back-off."""


class ChannelUnavailable(NotificationError):
    """The channel is down or busy (refused, timeout, 429, 5xx); the message may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChannelMisconfigured(NotificationError):
    """The channel refused the request itself (bad URL, token, login, recipient): fix its block."""


class LLMError(OncallError):
    """The model gave no usable answer; the agent falls back to its analysis without it."""


class LLMUnavailable(LLMError):
    """The model endpoint timed out, refused, answered an HTTP error, or the budget is spent."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class LLMAnswerInvalid(LLMError):
    """The model answered something other than the JSON object the prompt asks for."""
