"""`oncall config apply | export` on the Prefect test harness: a setup as code, round-tripped."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from blocks.actions import ActionTargets
from blocks.notifications import EmailChannel, NotificationRouting
from blocks.policy import ResolutionPolicy
from blocks.sources import LogFileSource
from flows.cli import app

runner = CliRunner()


def _setup(suffix: str) -> dict[str, object]:
    """A whole setup: a file source, policy, a systemd service and a cleanup root, email, routes."""
    return {
        "sources": {f"file/app-{suffix}": {"paths": ["/var/log/app/*.log"], "service": "app"}},
        "policy": {f"pol-{suffix}": {"policy": {"auto_threshold": 0.8}}},
        "targets": {
            f"tgt-{suffix}": {
                "executors": {
                    "services": {"app": {"backend": "systemctl", "unit": "app.service"}},
                    "cleanup_roots": ["/var/tmp/app-archive"],
                }
            }
        },
        "channels": {
            f"email/team-{suffix}": {
                "host": "mail.internal",
                "from_address": "oncall@example.com",
                "to": ["team@example.com"],
                "username": "oncall",
                "password": "${SMTP_PASSWORD_TEST}",
            }
        },
        "routing": {
            f"route-{suffix}": {
                "routes": [{"services": ["app"], "channels": [f"email/team-{suffix}"]}],
                "default_channels": ["console"],
            }
        },
    }


def _write(tmp_path: Path, document: object) -> Path:
    """DOCUMENT as a YAML file."""
    path = tmp_path / "oncall.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.fixture
def suffix(monkeypatch: pytest.MonkeyPatch) -> str:
    """Unique block names per test, and the SMTP password in the environment."""
    monkeypatch.setenv("SMTP_PASSWORD_TEST", "canary-smtp-9431")
    return uuid.uuid4().hex[:8]


def test_apply_saves_every_block_then_reports_no_change(tmp_path: Path, suffix: str) -> None:
    """apply creates each block with the file's values; applying again changes nothing."""
    path = _write(tmp_path, _setup(suffix))
    first = runner.invoke(app, ["config", "apply", str(path)])
    assert first.exit_code == 0, first.output
    assert first.output.count("created:") == 5
    assert LogFileSource.load(f"app-{suffix}").paths == ["/var/log/app/*.log"]
    assert ResolutionPolicy.load(f"pol-{suffix}").policy.auto_threshold == 0.8
    targets = ActionTargets.load(f"tgt-{suffix}")
    assert targets.executors.services["app"].unit == "app.service"
    email = EmailChannel.load(f"team-{suffix}")
    assert email.password is not None
    assert email.password.get_secret_value() == "canary-smtp-9431"
    routing = NotificationRouting.load(f"route-{suffix}")
    assert routing.routes[0].channels == [f"email/team-{suffix}"]
    again = runner.invoke(app, ["config", "apply", str(path)])
    assert again.exit_code == 0 and again.output.count("unchanged:") == 5, again.output


def test_a_bad_field_is_named_and_nothing_is_saved(tmp_path: Path, suffix: str) -> None:
    """One invalid field anywhere: the error names its path, and no block is saved."""
    setup = _setup(suffix)
    setup["targets"][f"tgt-{suffix}"]["executors"]["services"]["app"]["backend"] = "upstart"  # type: ignore[index]
    result = runner.invoke(app, ["config", "apply", str(_write(tmp_path, setup))])
    assert result.exit_code == 2
    assert f"targets.tgt-{suffix}.executors.services.app.backend" in result.output
    with pytest.raises(ValueError):
        LogFileSource.load(f"app-{suffix}")  # valid, but not saved either


def test_missing_secret_and_unknown_channel_are_named(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unset ${VAR} names the field that needs it; a route to an undefined channel is refused."""
    monkeypatch.delenv("SMTP_PASSWORD_TEST")
    result = runner.invoke(app, ["config", "apply", str(_write(tmp_path, _setup(suffix)))])
    assert result.exit_code == 2
    assert "password needs the environment variable SMTP_PASSWORD_TEST" in result.output
    monkeypatch.setenv("SMTP_PASSWORD_TEST", "x")
    setup = _setup(suffix)
    setup["routing"][f"route-{suffix}"]["default_channels"] = ["slack/nowhere"]  # type: ignore[index]
    result = runner.invoke(app, ["config", "apply", str(_write(tmp_path, setup))])
    assert result.exit_code == 2
    assert "channel 'slack/nowhere' is not defined under channels" in result.output


def test_dry_run_saves_nothing(tmp_path: Path, suffix: str) -> None:
    """--dry-run says what would be created and leaves the API untouched."""
    result = runner.invoke(
        app, ["config", "apply", "--dry-run", str(_write(tmp_path, _setup(suffix)))]
    )
    assert result.exit_code == 0 and "would be created:" in result.output
    with pytest.raises(ValueError):
        ResolutionPolicy.load(f"pol-{suffix}")


def test_export_round_trips_without_secrets(tmp_path: Path, suffix: str) -> None:
    """export writes YAML with ${VAR} for secrets; applying it back changes nothing."""
    assert (
        runner.invoke(app, ["config", "apply", str(_write(tmp_path, _setup(suffix)))]).exit_code
        == 0
    )
    out = tmp_path / "exported.yaml"
    result = runner.invoke(app, ["config", "export", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "canary-smtp-9431" not in text
    exported = yaml.safe_load(text)
    email = exported["channels"][f"email/team-{suffix}"]
    var = email["password"].strip("${}")
    assert var.startswith("ONCALL_CHANNELS_EMAIL_TEAM_")
    # Other tests' blocks share this API: apply back only this test's own blocks.
    ours = {
        section: {name: fields for name, fields in blocks.items() if suffix in name}
        for section, blocks in exported.items()
    }
    out.write_text(yaml.safe_dump({k: v for k, v in ours.items() if v}))
    with pytest.MonkeyPatch.context() as mp:
        for name in {v.strip("${}") for v in _placeholders(ours)}:
            mp.setenv(name, "canary-smtp-9431")
        back = runner.invoke(app, ["config", "apply", str(out)])
    assert back.exit_code == 0, back.output
    # Other tests' blocks share this API; ours must come back exactly as they were saved.
    ours = [line for line in back.output.splitlines() if suffix in line]
    assert len(ours) == 5 and all(line.startswith("unchanged:") for line in ours), back.output


def _placeholders(value: object) -> list[str]:
    """Every ${VAR} string in an exported document."""
    if isinstance(value, dict):
        return [p for v in value.values() for p in _placeholders(v)]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return [value] if isinstance(value, str) and value.startswith("${") else []


def test_the_readme_example_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's configuration example applies (dry run) without a single error."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Configuration as code")[1]
    example = section.split("```yaml\n")[1].split("```")[0]
    path = tmp_path / "readme.yaml"
    path.write_text(example)
    monkeypatch.setenv("SMTP_PASSWORD", "x")
    result = runner.invoke(app, ["config", "apply", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.count("would be") == 5
