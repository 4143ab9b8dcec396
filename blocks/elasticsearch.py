"""The Elasticsearch source block: where the logs are, how to log in, and how to poll them.

Secrets (API key, password) are SecretStr fields. The fields and windows are explained in
`oncall_agent.sources.elasticsearch`: the tiebreaker must be unique per document and sortable
(a keyword or numeric field such as event.id), and the look-back window is how late a document
may be indexed and still be read.
"""

from __future__ import annotations

import re
from typing import Any

from prefect.blocks.core import Block
from pydantic import ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

from oncall_agent.integrations.es_documents import EsFields
from oncall_agent.sources.elasticsearch import ElasticsearchLogSource, EsSourceConfig
from oncall_agent.sources.scope import TargetScope

_HOST = re.compile(r"https?://[^/@\s?#]+(/[^\s?#]*)?")
_DOCS = HttpUrl(
    "https://www.elastic.co/docs/reference/elasticsearch/rest-apis/paginate-search-results"
)


class ElasticsearchSource(Block):
    """Log documents in Elasticsearch that the agent polls for errors."""

    model_config = ConfigDict(hide_input_in_errors=True)  # never echo a secret back

    _block_type_name = "Oncall Elasticsearch Source"
    _block_type_slug = "oncall-elasticsearch-source"
    _description = "Elasticsearch indices the on-call agent polls for error logs."
    _documentation_url = _DOCS
    _code_example = (
        "```python\nfrom blocks.elasticsearch import ElasticsearchSource\n\n"
        'source = ElasticsearchSource.load("BLOCK_NAME").build()\n```'
    )

    hosts: list[str] = Field(
        ..., min_length=1, description="Cluster URLs, e.g. https://es.example.org:9200."
    )
    api_key: SecretStr | None = Field(default=None, description="An API key (encoded form).")
    username: str | None = Field(default=None, description="Basic auth user (instead of a key).")
    password: SecretStr | None = Field(default=None, description="That user's password.")
    verify_certs: bool = Field(default=True, description="Check the cluster's TLS certificate.")
    ca_certs: str | None = Field(default=None, description="A CA bundle file for TLS.")
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="Seconds before one request gives up."
    )
    index_pattern: str = Field(
        ..., min_length=1, description="Indices to read: a name, pattern or list, e.g. logs-*,app."
    )
    query: dict[str, Any] = Field(
        default_factory=lambda: {"match_all": {}},
        description='Query DSL the documents must match, e.g. {"term": {"log.level": "error"}}.',
    )
    timestamp_field: str = Field(default="@timestamp", description="The date field to poll by.")
    tiebreaker_field: str = Field(
        default="event.id", description="Unique per document and sortable (keyword or number)."
    )
    message_field: str = Field(default="message", description="The field holding the text.")
    service_field: str | None = Field(
        default="service.name", description="The field naming the service, if any."
    )
    level_field: str | None = Field(
        default="log.level", description="The field holding the log level, if any."
    )
    attribute_fields: dict[str, str] = Field(
        default_factory=dict,
        description='Incident attributes from document fields: {"app_id": "spark.app_id"}.',
    )
    default_service: str = Field(
        default="unknown", description="The service of documents that name none."
    )
    services: list[str] = Field(
        default_factory=list,
        description="Document services actions may act on (others open incidents only).",
    )
    target_attributes: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Document values actions may use, as globs per attribute name (default: none).",
    )
    look_back_s: float = Field(default=300.0, ge=0, description="How late a document may come.")
    start_window_s: float = Field(default=3600.0, ge=0, description="First poll looks back this.")
    page_size: int = Field(default=500, ge=1, le=10_000, description="Documents per request.")
    pit_keep_alive: str = Field(
        default="2m", pattern=r"^\d+[smhd]$", description="How long a point in time lives."
    )

    @field_validator("hosts")
    @classmethod
    def _plain_hosts(cls, hosts: list[str]) -> list[str]:
        """http(s) URLs with a host and no credentials in them."""
        for host in hosts:
            if not _HOST.fullmatch(host):
                raise ValueError("hosts must look like http(s)://host[:port], without user:pass@")
        return hosts

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> ElasticsearchSource:
        """An API key, or a username with a password, or neither; not both."""
        if self.api_key is not None and self.username:
            raise ValueError("give an api_key or a username and password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both username and password")
        return self

    def config(self) -> EsSourceConfig:
        """The source settings this block describes."""
        fields = EsFields(
            timestamp=self.timestamp_field, tiebreaker=self.tiebreaker_field,
            message=self.message_field, service=self.service_field, level=self.level_field,
            attributes=dict(self.attribute_fields), default_service=self.default_service,
        )  # fmt: skip
        return EsSourceConfig(
            index=self.index_pattern, query=dict(self.query), fields=fields,
            look_back_s=self.look_back_s, start_window_s=self.start_window_s,
            page_size=self.page_size, pit_keep_alive=self.pit_keep_alive,
            scope=TargetScope(services=list(self.services),
                              attributes=dict(self.target_attributes)),
        )  # fmt: skip

    def build(self) -> ElasticsearchLogSource:
        """The source this block describes, over the official client."""
        from oncall_agent.integrations.es_rest import ElasticsearchBackend, connect

        client = connect(
            self.hosts,
            api_key=self.api_key.get_secret_value() if self.api_key else None,
            basic_auth=(self.username, self.password.get_secret_value())
            if self.username and self.password
            else None,
            request_timeout_s=self.request_timeout_s,
            verify_certs=self.verify_certs,
            ca_certs=self.ca_certs,
        )
        return ElasticsearchLogSource(ElasticsearchBackend(client), self.config())

    def secret_values(self) -> list[str]:
        """The plaintext secrets of this block, for redaction only (never logged)."""
        return [s.get_secret_value() for s in (self.api_key, self.password) if s is not None]
