"""Scene files that are not scenes: one line on stderr naming the file, exit 2, no traceback."""
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
from grasp_planner.planning.scene_io import load_depth_scene


def _bad_files(tmp_path):
    good = bundled_scene_paths()[0].read_bytes()
    cases = {}
    (tmp_path / "empty.npz").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.npz", "empty")
    (tmp_path / "truncated.npz").write_bytes(good[: len(good) // 2])
    cases["truncated"] = (tmp_path / "truncated.npz", "truncated")
    (tmp_path / "text.npz").write_text("depth,camera\n1,2\n")
    cases["not a zip"] = (tmp_path / "text.npz", "not a .npz archive")
    np.save(tmp_path / "array.npy", np.zeros((4, 4), np.float32))
    (tmp_path / "array.npy").rename(tmp_path / "array.npz")
    cases["npy renamed"] = (tmp_path / "array.npz", "single array")
    np.savez(tmp_path / "uint8.npz", depth_mm=np.zeros((8, 8), np.uint8), camera=np.array([5.0, 5, 3.5, 3.5, 8, 8]))
    cases["uint8 depth_mm"] = (tmp_path / "uint8.npz", "uint16")
    return cases


@pytest.mark.parametrize("case", ["empty", "truncated", "not a zip", "npy renamed", "uint8 depth_mm"])
def test_bad_scene_files_raise_an_error_naming_the_file(tmp_path, case):
    path, message = _bad_files(tmp_path)[case]
    with pytest.raises(ValueError, match=message) as err:
        load_depth_scene(path)
    assert str(path) in str(err.value)
    if case != "uint8 depth_mm":
        with pytest.raises(ValueError, match=str(path.name)):
            load_scene(path)


def test_the_plan_cli_reports_a_bad_scene_on_stderr_in_one_line(tmp_path):
    path, _ = _bad_files(tmp_path)["npy renamed"]
    out = subprocess.run([sys.executable, "-m", "grasp_planner.cli", "plan", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert str(path) in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_bundled_scenes_still_load():
    for path in bundled_scene_paths():
        assert zipfile.is_zipfile(path)
        assert load_scene(path).depth.dtype == np.float32
