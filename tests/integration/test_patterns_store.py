"""User alert patterns in the store, and the `oncall patterns` commands."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from oncall_agent.cli.patterns import app
from oncall_agent.detection.fingerprint import fingerprint
from oncall_agent.detection.patterns import AlertPattern
from oncall_agent.errors import ConfigError, PatternError
from oncall_agent.models import Severity
from oncall_agent.settings import get_settings
from oncall_agent.store.engine import make_engine, session_scope
from oncall_agent.store.patterns import add_user_pattern, list_user_patterns, load_pattern_set
from oncall_agent.store.schema import create_schema
from oncall_agent.store.tables import AlertPatternRow

pytestmark = pytest.mark.integration

DECLINED = AlertPattern(
    name="payment-declined",
    regex=r"payment declined",
    category="payments",
    severity=Severity.CRITICAL,
    services=["checkout"],
)


def test_added_pattern_is_listed_and_used(engine: Engine) -> None:
    """A stored pattern comes back as added and takes part in detection, before built-ins."""
    with session_scope(engine) as session:
        add_user_pattern(session, DECLINED)
    with session_scope(engine) as session:
        assert list_user_patterns(session) == [DECLINED]
        patterns = load_pattern_set(session)
    found = patterns.match("ERROR payment declined by bank", service="checkout")
    assert found is not None and found.name == "payment-declined"
    other = patterns.match("ERROR payment declined by bank", service="blog")
    assert other is not None and other.name == "error"


def test_duplicate_and_builtin_names_are_refused(engine: Engine) -> None:
    """A name already stored, or a built-in one, is a configuration error."""
    with session_scope(engine) as session:
        add_user_pattern(session, DECLINED)
    with pytest.raises(ConfigError, match="already exists"), session_scope(engine) as session:
        add_user_pattern(session, DECLINED)
    builtin = DECLINED.model_copy(update={"name": "disk-full"})
    with pytest.raises(ConfigError, match="built-in"), session_scope(engine) as session:
        add_user_pattern(session, builtin)


def test_invalid_regex_is_refused_and_not_stored(engine: Engine) -> None:
    """A regex that does not compile is rejected before anything is written."""
    broken = DECLINED.model_copy(update={"regex": "declined[", "name": "broken"})
    with pytest.raises(PatternError, match="broken"), session_scope(engine) as session:
        add_user_pattern(session, broken)
    with session_scope(engine) as session:
        assert list_user_patterns(session) == []


def test_disabled_and_uncompilable_rows_are_skipped(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Disabled patterns do not run; a stored row that no longer compiles is skipped loudly."""
    with session_scope(engine) as session:
        session.add(AlertPatternRow(name="off", regex="quiet", category="x", enabled=False))
        session.add(AlertPatternRow(name="rotten", regex="(unclosed", category="x"))
    with caplog.at_level(logging.WARNING), session_scope(engine) as session:
        patterns = load_pattern_set(session)
    assert patterns.match("quiet please") is None
    assert "rotten" in caplog.text
    assert patterns.match("No space left on device") is not None


@pytest.fixture
def cli_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL pointing at a migrated, empty SQLite store for the CLI."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_add_then_list(cli_store: str) -> None:
    """`add` stores a pattern and `list` shows it before the built-in ones."""
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["add", "payment-declined", "payment declined", "--category", "payments",
         "--severity", "critical", "--service", "checkout"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0
    assert listed.output.index("payment-declined") < listed.output.index("disk-full")


def test_cli_add_invalid_regex_exits_2_naming_it(cli_store: str) -> None:
    """An invalid regex is reported with the pattern's name and the reason, exit code 2."""
    result = CliRunner().invoke(app, ["add", "broken", "declined(", "--category", "payments"])
    assert result.exit_code == 2
    assert "broken" in result.output and "missing )" in result.output


def test_cli_test_shows_pattern_template_and_fingerprint(cli_store: str) -> None:
    """`test TEXT` names the matching pattern and prints the template and fingerprint."""
    line = "ERROR QueuePool limit of size 5 overflow 10 reached"
    result = CliRunner().invoke(app, ["test", line, "--service", "orders"])
    assert result.exit_code == 0, result.output
    template = "QueuePool limit of size <NUM> overflow <NUM> reached"  # the level is header
    assert "db-pool-exhausted" in result.output
    assert template in result.output
    assert fingerprint(template, "orders", "database") in result.output


def test_cli_test_file_reports_matching_lines(cli_store: str, tmp_path: Path) -> None:
    """`test --file` goes through every line and says how many matched."""
    log = tmp_path / "sample.log"
    log.write_text("INFO fine\nNo space left on device\nINFO fine again\n")
    result = CliRunner().invoke(app, ["test", "--file", str(log)])
    assert result.exit_code == 0, result.output
    assert "line 2: disk-full" in result.output
    assert "1 of 3 line(s) matched" in result.output


def test_cli_test_needs_text_or_file(cli_store: str) -> None:
    """Giving neither a text nor a file is a usage error."""
    result = CliRunner().invoke(app, ["test"])
    assert result.exit_code == 2
    assert "either a TEXT" in result.output


def test_cli_add_catastrophic_regex_exits_2_saying_how_to_rewrite(cli_store: str) -> None:
    """`oncall patterns add` refuses a regex that can backtrack for minutes, storing nothing."""
    result = CliRunner().invoke(app, ["add", "storm", "(a+)+$", "--category", "payments"])
    assert result.exit_code == 2
    assert "storm" in result.output and "can take minutes" in result.output
    assert "storm" not in CliRunner().invoke(app, ["list"]).output
