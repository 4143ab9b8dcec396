"""Pull steps run by a worker before each flow run (named in prefect.yaml's `pull:`).

Prefect fills `{{ $VAR }}` templates in at *deploy* time, so a directory written that way is the
deploying machine's. This step reads the worker's own environment when the run starts instead.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR_ENV = "ONCALL_PROJECT_DIR"


def chdir_to_checkout() -> dict[str, str]:
    """Change to the worker's checkout: $ONCALL_PROJECT_DIR, else the one this package runs from."""
    configured = os.environ.get(PROJECT_DIR_ENV)
    directory = Path(configured) if configured else Path(__file__).resolve().parents[1]
    if not (directory / "prefect.yaml").is_file():
        raise ValueError(
            f"{directory} is not an oncall-agent checkout (no prefect.yaml); set "
            f"{PROJECT_DIR_ENV} on the worker to the folder you cloned"
        )
    os.chdir(directory)
    return {"directory": str(directory)}
