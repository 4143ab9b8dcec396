"""Detection rules per source and per service: minimum severity, extra and disabled patterns.

A source (a LogFileSource block, or `oncall scan`) holds one `DetectionRules`; its `services`
map overrides the minimum severity and disables patterns for single services. `RuledDetector`
applies them: it is a Detector, so anything that takes one (the detection pipeline) takes it.

    rules = DetectionRules(
        min_severity="error",                       # warnings (auth failures...) do not alert
        extra_patterns=[AlertPattern(name="billing-mismatch", regex="ledger mismatch",
                                     category="billing", severity="critical")],
        disabled_patterns=["timeout"],              # this source's timeouts are routine
        services={"sshd": ServiceRules(min_severity="warning")},
    )
    detector = RuledDetector(DEFAULT_PATTERNS, rules)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby

from pydantic import BaseModel, ConfigDict, Field

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.defaults import DEFAULT_SUPPRESSIONS, WARNING_LEVEL_PATTERN
from oncall_agent.detection.detector import Detector
from oncall_agent.detection.patterns import compile_patterns
from oncall_agent.errors import ConfigError
from oncall_agent.models import Detection, LogEvent, Severity


class ServiceRules(BaseModel):
    """Overrides for one service of a source; a field left unset keeps the source's value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_severity: Severity | None = None
    warning_lines: bool | None = None
    disabled_patterns: list[str] = Field(default_factory=list)


class DetectionRules(BaseModel):
    """What opens an incident for one source. The defaults are the built-in behaviour."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Detections below this severity are dropped (auth failures are warnings).
    min_severity: Severity = Severity.WARNING
    # Lines whose own level is WARN open incidents too (category "warning").
    warning_lines: bool = False
    # Tried before the built-in patterns, in this order.
    extra_patterns: list[AlertPattern] = Field(default_factory=list)
    # Names of patterns (built-in or user) never tried for this source.
    disabled_patterns: list[str] = Field(default_factory=list)
    # Regexes of benign look-alikes blanked out before matching, besides the built-in ones.
    extra_suppressions: list[str] = Field(default_factory=list)
    services: dict[str, ServiceRules] = Field(default_factory=dict)
    # Steady chatter (a template there all along at a steady rate) opens no incident; see
    # detection.baseline.
    baseline: bool = True


# What differs between the services of one source: the pattern set a detector needs.
_Key = tuple[frozenset[str], bool]


class RuledDetector(Detector):
    """A Detector applying DetectionRules: one compiled pattern set per distinct service rule."""

    def __init__(
        self, patterns: Sequence[AlertPattern], rules: DetectionRules | None = None
    ) -> None:
        """Detect with RULES' extra patterns, then PATTERNS (user and built-in ones)."""
        self.rules = rules or DetectionRules()
        self._base = [*self.rules.extra_patterns, *patterns]
        self._suppressions = [*DEFAULT_SUPPRESSIONS, *self.rules.extra_suppressions]
        self._check_names()
        self._detectors: dict[_Key, Detector] = {}
        self._keys: dict[str, _Key] = {}
        # The union of every pattern any service may use: a line it rejects matches nothing,
        # so callers may use `pattern_set.may_match` as a line filter. Patterns disabled for the
        # whole source, and WARN lines nobody opted into, stay out: the engine then selects
        # only lines that may alert, and the usual rules (no service override) reuse it as is
        # instead of compiling a second database.
        super().__init__(compile_patterns(self._chosen(self._widest()), self._suppressions))

    def _widest(self) -> _Key:
        """The key whose patterns hold every other key's: source-wide disables, any warnings."""
        warnings = self.rules.warning_lines or any(
            s.warning_lines for s in self.rules.services.values()
        )
        return frozenset(self.rules.disabled_patterns), warnings

    def _chosen(self, key: _Key) -> list[AlertPattern]:
        """The patterns KEY uses, in priority order."""
        disabled, warnings = key
        chosen = [p for p in self._base if p.name not in disabled]
        if warnings and WARNING_LEVEL_PATTERN.name not in disabled:
            chosen.append(WARNING_LEVEL_PATTERN)
        return chosen

    def _check_names(self) -> None:
        """Refuse a disabled pattern name that names no pattern (a typo would disable nothing)."""
        known = {p.name for p in self._base} | {WARNING_LEVEL_PATTERN.name}
        named = [*self.rules.disabled_patterns]
        for service in self.rules.services.values():
            named += service.disabled_patterns
        unknown = sorted(set(named) - known)
        if unknown:
            raise ConfigError(
                f"disabled_patterns names unknown pattern(s) {', '.join(unknown)}; "
                "see `oncall patterns list` for the names"
            )

    def _key(self, service: str) -> _Key:
        """The pattern set SERVICE needs: the names it disables and whether WARN lines alert."""
        key = self._keys.get(service)
        if key is None:
            key = self._keys[service] = self._service_key(service)
        return key

    def _service_key(self, service: str) -> _Key:
        """Compute `_key` for SERVICE from the source's rules and the service's overrides."""
        override = self.rules.services.get(service)
        disabled = set(self.rules.disabled_patterns)
        warnings = self.rules.warning_lines
        if override is not None:
            disabled.update(override.disabled_patterns)
            warnings = warnings if override.warning_lines is None else override.warning_lines
        return frozenset(disabled), warnings

    def _detector(self, key: _Key) -> Detector:
        """The detector for KEY, compiled the first time it is needed."""
        detector = self._detectors.get(key)
        if detector is None:
            chosen = self._chosen(key)
            # One templater for every service rule: templates are learned once per source.
            if [p.name for p in chosen] == [p.name for p in self.pattern_set.patterns]:
                # the union's set and engine, compiled once
                detector = Detector(self.pattern_set, templater=self._templates)
            else:
                detector = Detector(
                    compile_patterns(chosen, self._suppressions), templater=self._templates
                )
            self._detectors[key] = detector
        return detector

    def min_severity(self, service: str) -> Severity:
        """The lowest severity that opens an incident for SERVICE."""
        override = self.rules.services.get(service)
        if override is not None and override.min_severity is not None:
            return override.min_severity
        return self.rules.min_severity

    def _kept(self, detection: Detection) -> bool:
        """Whether DETECTION is severe enough for its service."""
        return detection.severity.rank >= self.min_severity(detection.event.service).rank

    def _severe_enough(self, pattern: AlertPattern | None, event: LogEvent) -> bool:
        """Whether PATTERN alerting on EVENT reaches its service's minimum severity."""
        return (
            pattern is not None and pattern.severity.rank >= self.min_severity(event.service).rank
        )

    def match_many(self, events: Sequence[LogEvent]) -> list[AlertPattern | None]:
        """The pattern each of EVENTS alerts with under these rules (None: no incident)."""
        found: list[AlertPattern | None] = []
        for key, run in groupby(events, key=lambda event: self._key(event.service)):
            batch = list(run)
            patterns = self._detector(key).match_many(batch)
            found += [
                p if self._severe_enough(p, e) else None
                for p, e in zip(patterns, batch, strict=True)
            ]
        return found

    def match(self, event: LogEvent) -> AlertPattern | None:
        """The pattern EVENT alerts with under these rules, or None."""
        return self.match_many([event])[0]

    def detect(self, event: LogEvent) -> Detection | None:
        """A Detection for EVENT if a pattern for its service matches and it is severe enough."""
        found = self._detector(self._key(event.service)).detect(event)
        return found if found is not None and self._kept(found) else None

    def detect_many(self, events: Iterable[LogEvent]) -> list[Detection]:
        """The detections of EVENTS in order; runs of events with one rule go through at once."""
        found: list[Detection] = []
        for key, run in groupby(events, key=lambda event: self._key(event.service)):
            found += self._detector(key).detect_many(run)
        return [d for d in found if self._kept(d)]
