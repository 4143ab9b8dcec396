"""Detection rules per source and per service: severity floors, extra and disabled patterns."""

from __future__ import annotations

import pytest

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_PATTERNS
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.source_rules import DetectionRules, RuledDetector, ServiceRules
from oncall_agent.errors import ConfigError
from oncall_agent.models import LogEvent, Severity

AUTH = "Jun 14 15:16:01 host sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2"
DISK = "2024-05-01 10:00:00 ERROR writer: No space left on device"
TIMEOUT = "2024-05-01 10:00:00 ERROR client: request timed out after 30s"


def _event(message: str, service: str = "api", level: str | None = None) -> LogEvent:
    """An event of SERVICE."""
    return LogEvent(source="file:/var/log/x.log", message=message, service=service, level=level)


def _detector(**rules: object) -> RuledDetector:
    """A detector over the built-in patterns with RULES."""
    return RuledDetector(DEFAULT_PATTERNS, DetectionRules.model_validate(rules))


def test_defaults_detect_like_the_plain_detector() -> None:
    """Without rules, a ruled detector finds what the built-in detector finds."""
    events = [_event(AUTH, "sshd"), _event(DISK), _event("INFO all good")]
    plain = Detector(_detector().pattern_set).detect_many(events)
    ruled = _detector().detect_many(events)
    assert [d.pattern for d in ruled] == ["auth-failure", "disk-full"]
    assert [d.fingerprint for d in ruled] == [d.fingerprint for d in plain]


def test_min_severity_drops_milder_alerts() -> None:
    """A source at min_severity=error no longer opens incidents for auth failures (warnings)."""
    detector = _detector(min_severity="error")
    found = detector.detect_many([_event(AUTH, "sshd"), _event(DISK)])
    assert [d.pattern for d in found] == ["disk-full"]


def test_a_service_overrides_the_source_severity() -> None:
    """One service may be stricter than its source: only that service's milder alerts go."""
    detector = _detector(services={"sshd": {"min_severity": "critical"}})
    events = [
        _event(AUTH, "sshd"),
        _event(AUTH, "vpn"),
        _event(TIMEOUT, "sshd"),
        _event(DISK, "sshd"),
    ]
    found = detector.detect_many(events)
    assert [(d.event.service, d.pattern) for d in found] == [
        ("vpn", "auth-failure"), ("sshd", "disk-full")
    ]  # fmt: skip


def test_disabled_pattern_lets_the_next_one_match() -> None:
    """Disabling the timeout pattern leaves the line to the catch-all error pattern."""
    assert _detector().detect(_event(TIMEOUT)).category == "timeout"  # type: ignore[union-attr]
    found = _detector(disabled_patterns=["timeout"]).detect(_event(TIMEOUT))
    assert found is not None and found.category == "error"


def test_patterns_disabled_for_one_service_only() -> None:
    """A pattern disabled for one service still fires for the others of the source."""
    detector = _detector(services={"batch": ServiceRules(disabled_patterns=["timeout", "error"])})
    assert detector.detect(_event(TIMEOUT, "batch")) is None
    assert detector.detect(_event(TIMEOUT, "web")) is not None


def test_extra_patterns_come_first() -> None:
    """A source's own pattern wins over the built-in ones and names its category."""
    extra = AlertPattern(
        name="ledger", regex=r"ledger mismatch", category="billing", severity=Severity.CRITICAL
    )
    detector = RuledDetector(DEFAULT_PATTERNS, DetectionRules(extra_patterns=[extra]))
    found = detector.detect(_event("ERROR ledger mismatch on invoice 42"))
    assert found is not None and (found.category, found.severity) == ("billing", Severity.CRITICAL)
    assert detector.pattern_set.may_match("ledger mismatch")  # usable as a line filter


def test_extra_suppressions_silence_benign_lines() -> None:
    """A suppression matching a whole benign line keeps it from opening an incident."""
    line = "2024-05-01 10:00:00 ERROR probe: synthetic canary error, ignore"
    assert _detector().detect(_event(line)) is not None
    assert _detector(extra_suppressions=[r"^.*synthetic canary.*$"]).detect(_event(line)) is None


def test_warning_lines_open_incidents_only_when_asked() -> None:
    """WARN lines alert (category warning) only with warning_lines; deprecations never do."""
    warn = "2024-05-01 10:00:00 WARN cache: miss storm on key users:42"
    deprecated = "2024-05-01 10:00:00 WARNING app: option 'x' is deprecated, use 'y'"
    assert _detector().detect(_event(warn)) is None
    found = _detector(warning_lines=True).detect(_event(warn))
    assert found is not None and (found.category, found.severity) == ("warning", Severity.WARNING)
    assert _detector(warning_lines=True).detect(_event(deprecated)) is None


def test_unknown_disabled_pattern_is_refused() -> None:
    """A misspelt pattern name would disable nothing, so it is refused and named."""
    with pytest.raises(ConfigError, match="tiemout"):
        _detector(disabled_patterns=["tiemout"])
    with pytest.raises(ConfigError, match="nope"):
        _detector(services={"web": {"disabled_patterns": ["nope"]}})


def test_detect_many_keeps_the_order_of_mixed_services() -> None:
    """Events of services with different rules come back in the order they were read."""
    detector = _detector(services={"b": {"disabled_patterns": ["disk-full"]}})
    events = [_event(DISK, "a"), _event(DISK, "b"), _event(TIMEOUT, "b"), _event(DISK, "a")]
    found = detector.detect_many(events)
    assert [(d.event.service, d.category) for d in found] == [
        ("a", "disk"), ("b", "error"), ("b", "timeout"), ("a", "disk")
    ]  # fmt: skip
