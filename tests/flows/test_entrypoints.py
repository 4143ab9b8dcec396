"""Every deployment in prefect.yaml points at a loadable Flow."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from prefect import Flow

ROOT = Path(__file__).resolve().parents[2]


def test_every_prefect_yaml_entrypoint_is_a_flow() -> None:
    """Each entrypoint imports and names a Prefect Flow; parameters match its signature."""
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert config["deployments"], "prefect.yaml declares no deployments"
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert isinstance(flow, Flow), deployment["name"]
        accepted = set(flow.parameters.properties)
        assert set(deployment.get("parameters", {})) <= accepted, deployment["name"]


def test_core_package_never_imports_prefect() -> None:
    """Importing every oncall_agent module leaves prefect unimported (in a fresh process)."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys, oncall_agent\n"
        "for m in pkgutil.walk_packages(oncall_agent.__path__, 'oncall_agent.'):\n"
        "    if '.migrations' in m.name: continue\n"
        "    importlib.import_module(m.name)\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_pull_step_changes_to_the_workers_checkout(tmp_path: Path, monkeypatch) -> None:
    """The pull step is read on the worker: $ONCALL_PROJECT_DIR if set, else this checkout."""
    from deployments.worker_steps import chdir_to_checkout

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert list(config["pull"][0]) == ["deployments.worker_steps.chdir_to_checkout"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ONCALL_PROJECT_DIR", raising=False)
    assert chdir_to_checkout() == {"directory": str(ROOT)}
    assert Path.cwd() == ROOT
    other = tmp_path / "checkout"
    other.mkdir()
    (other / "prefect.yaml").write_text("name: oncall-agent\n")
    monkeypatch.setenv("ONCALL_PROJECT_DIR", str(other))
    assert chdir_to_checkout() == {"directory": str(other)}
    monkeypatch.setenv("ONCALL_PROJECT_DIR", str(tmp_path / "nowhere"))
    try:
        chdir_to_checkout()
    except ValueError as exc:
        assert "ONCALL_PROJECT_DIR" in str(exc)
    else:
        raise AssertionError("a folder without prefect.yaml was accepted")
