"""Sources of log events and failed work: files here; Elasticsearch, Airflow and Spark beside."""

from oncall_agent.sources.files import FileSource, ReadBatch, ReadStats
from oncall_agent.sources.parsing import ParsedLine, parse_line

__all__ = ["FileSource", "ParsedLine", "ReadBatch", "ReadStats", "parse_line"]
