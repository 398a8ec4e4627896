"""One ``code_version()`` for every record the project writes (shards, the label store, runs, model cards)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import grasp_planner


def code_version() -> str:
    """The package version plus ``git describe --always --dirty`` when running from a checkout.

    ``0.1.0+a1b2c3d`` in a clean checkout, ``0.1.0+a1b2c3d-dirty`` with local changes, ``0.1.0`` when
    installed without git.
    """
    version = grasp_planner.__version__
    root = Path(grasp_planner.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=False)
        commit = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version}+{commit}" if commit else version
