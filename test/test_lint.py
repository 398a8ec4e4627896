"""flake8 over the package, benchmarks, scripts, tests and launch files (the pytest equivalent of ament_flake8).

The settings (max-line-length, excludes) come from setup.cfg's [flake8] section, read because flake8 runs from
the repository root.
"""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("grasp_planner", "benchmarks", "scripts", "test", "launch")


def test_flake8_reports_nothing():
    result = subprocess.run([sys.executable, "-m", "flake8", *FOLDERS], cwd=ROOT, capture_output=True, text=True)
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not report, f"flake8 (exit {result.returncode}) reported:\n{report}"
