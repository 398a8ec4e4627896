"""train's user errors: one line on stderr, exit 2, no run folder left behind."""
import subprocess
import sys

import pytest


def _train(*args):
    return subprocess.run([sys.executable, "-m", "grasp_planner.cli", "train", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", ["missing data", "malformed config", "bad init weights"])
def test_user_errors_end_in_one_line_and_leave_no_run_folder(tmp_path, case):
    out = tmp_path / "run"
    data = tmp_path / "data"
    data.mkdir()
    args = ["--data", data, "--out", out]
    if case == "missing data":
        args[1] = tmp_path / "nowhere"
        expected = "nowhere"
    elif case == "malformed config":
        bad = tmp_path / "train.yaml"
        bad.write_text("epochs: [1, 2\n")
        args += ["--config", bad]
        expected = "train.yaml"
    else:
        args += ["--init-weights", tmp_path / "missing.onnx"]
        expected = "missing.onnx"
    result = _train(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
