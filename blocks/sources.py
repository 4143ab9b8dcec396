"""Blocks that say where the agent reads logs from."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, field_validator

from oncall_agent.detection.alert import AlertPattern
from oncall_agent.detection.source_rules import DetectionRules, ServiceRules
from oncall_agent.errors import ConfigError
from oncall_agent.models import Severity
from oncall_agent.sources.files import FileSource
from oncall_agent.sources.parsing import check_parser
from oncall_agent.sources.scope import TargetScope


class LogFileSource(Block):
    """Local log files or globs to tail, with the service they belong to and what alerts.

    `parser` names the line format (default: guessed per line). The detection fields make a
    `DetectionRules` (`detection_rules()`), applied by `RuledDetector`: `min_severity` drops
    milder alerts, `warning_lines` lets WARN lines open incidents, `extra_patterns` are tried
    before the built-in and user patterns, `disabled_patterns` names patterns never tried here,
    `extra_suppressions` are regexes of benign spans (match a whole line to silence it), and
    `service_rules` overrides min_severity, warning_lines and disabled_patterns per service,
    e.g. {"sshd": {"min_severity": "error"}}.
    """

    _block_type_name = "Oncall Log File Source"
    _block_type_slug = "oncall-log-file-source"
    _description = "Files or glob patterns the on-call agent tails for errors."

    paths: list[str] = Field(..., description="Files or glob patterns, e.g. /var/log/app/*.log")
    service: str | None = Field(
        default=None, description="Service these logs belong to (default: parsed or file name)"
    )
    services: list[str] = Field(
        default_factory=list,
        description="Without a fixed service: the parsed service names actions may act on "
        "(a line naming another service still opens an incident, but never picks a target)",
    )
    target_attributes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Values parsed from lines that actions may use, as globs per name, e.g. "
        "{'dag_id': ['etl_*'], 'run_id': ['*']} (default: none)",
    )
    max_line_bytes: int = Field(default=65536, ge=256, description="Longer lines are capped")
    parser: str = Field(
        default="auto",
        description="Line format: auto, json, plain, access, nginx-error, apache-error, airflow, "
        "postgresql, zookeeper, python, log4j, openstack, hdfs, spark, syslog or generic",
    )
    min_severity: Severity = Field(
        default=Severity.WARNING, description="Lowest severity that opens an incident"
    )
    warning_lines: bool = Field(
        default=False, description="Lines logged at WARN level open incidents too"
    )
    extra_patterns: list[AlertPattern] = Field(
        default_factory=list, description="Alert patterns for this source, tried first"
    )
    disabled_patterns: list[str] = Field(
        default_factory=list, description="Names of patterns never tried for this source"
    )
    extra_suppressions: list[str] = Field(
        default_factory=list, description="Regexes of benign lines that must not alert"
    )
    service_rules: dict[str, ServiceRules] = Field(
        default_factory=dict,
        description="Per service: min_severity, warning_lines, disabled_patterns overrides",
    )

    @field_validator("parser")
    @classmethod
    def _known_parser(cls, value: str) -> str:
        """Refuse a parser name the agent does not know, listing the known ones."""
        try:
            return check_parser(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc

    def build(self) -> FileSource:
        """The file source this block describes."""
        return FileSource(
            list(self.paths),
            service=self.service,
            max_line_bytes=self.max_line_bytes,
            parser=self.parser,
            scope=self.scope(),
        )

    def scope(self) -> TargetScope:
        """What this source's lines may select among (see oncall_agent.sources.scope)."""
        return TargetScope(services=list(self.services), attributes=dict(self.target_attributes))

    def detection_rules(self) -> DetectionRules:
        """What opens an incident for this source (give it to `RuledDetector`)."""
        return DetectionRules(
            min_severity=self.min_severity,
            warning_lines=self.warning_lines,
            extra_patterns=list(self.extra_patterns),
            disabled_patterns=list(self.disabled_patterns),
            extra_suppressions=list(self.extra_suppressions),
            services=dict(self.service_rules),
        )
