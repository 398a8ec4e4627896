"""Where the package's data files are: the source checkout, or the installed share directory.

``config/``, ``models/`` and ``launch/`` sit at the repository root (ament_python installs them into
``share/grasp_planner/``), not inside the Python package, so a module cannot find them relative to
itself once installed. Every stage asks here instead of building its own path.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

PACKAGE = "grasp_planner"
#: the repository root when running from a checkout (editable install, tests, CI)
CHECKOUT_ROOT = Path(__file__).resolve().parents[1]


def share_dirs() -> list[Path]:
    """Candidate roots holding ``config/`` and ``models/``, most specific first."""
    roots = [CHECKOUT_ROOT, Path(sys.prefix) / "share" / PACKAGE]
    try:  # a ROS 2 install (colcon): ament_index knows the share directory
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
        try:
            roots.append(Path(get_package_share_directory(PACKAGE)))
        except (PackageNotFoundError, OSError):  # not installed there, or no AMENT_PREFIX_PATH at all
            pass
    except ImportError:
        pass
    return roots


def resource_candidates(kind: str, name: str) -> list[Path]:
    """Every place ``<kind>/<name>`` (e.g. ``config/planner.yaml``) may be, in search order."""
    return [root / kind / name for root in share_dirs()]


def resource_path(kind: str, name: str) -> Path:
    """The first existing ``<kind>/<name>``; FileNotFoundError listing every place looked otherwise."""
    candidates = resource_candidates(kind, name)
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{kind}/{name} not found; looked in " + ", ".join(str(p) for p in candidates))


def default_path(kind: str, name: str) -> Path:
    """For a CLI default: the existing ``<kind>/<name>`` if any, else where a checkout would hold it."""
    candidates = resource_candidates(kind, name)
    return next((p for p in candidates if p.is_file()), candidates[0])


def resource_dir(kind: str) -> Path:
    """The first existing ``<kind>/`` folder (e.g. ``config``); FileNotFoundError otherwise."""
    candidates = [root / kind for root in share_dirs()]
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(f"folder {kind}/ not found; looked in " + ", ".join(str(p) for p in candidates))


def file_sha256(path) -> str:
    """sha256 hex digest of a file, read in 1 MB chunks (model files, label store batches)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
