"""User errors through the real command line: exit 2, one stderr line naming the file (and key), no traceback.

Each case runs ``grasp_planner.cli.main`` as ``grasp-planner`` does (an exception escaping it would be
the traceback a user sees); Ctrl-C runs the installed command in a process of its own.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grasp_planner.cli import main
from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
from synthetic_db import write_synthetic_database

MODELS = Path(__file__).resolve().parent.parent / "models"


def _one_line_error(capsys, code, *words):
    """The command failed with exit 2 and one stderr line holding every word."""
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert str(word) in lines[0], err
    return lines[0]


def _yaml(tmp_path, text, name="bad.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- planner, dataset and training configs ----------------------------------------------------------
@pytest.mark.parametrize("text, key", [
    ("optimizer: [1, 2\n", "line 2"),
    ("optimizer:\n  max_iter: forty\n", "optimizer.max_iter"),
    ("multistart:\n  n_starts: 2.5\n", "multistart.n_starts"),
    ("barrier:\n  enabled: \"no\"\n", "barrier.enabled"),
    ("- optimizer\n", "mapping"),
    ("", "empty"),
])
def test_plan_refuses_a_bad_planner_config(tmp_path, capsys, text, key):
    path = _yaml(tmp_path, text)
    code = main(["plan", str(bundled_scene_paths()[0]), "--config", str(path), "--out", str(tmp_path / "p.png")])
    _one_line_error(capsys, code, path, key)
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("text, key", [
    ("grasps_per_object: [1\n", "malformed YAML"),
    ("grasps_per_object: 2\nimages_per_object: ten\n", "images_per_object"),
    ("grasps_per_object: 2\nimages_per_object: 2\nsim_config: 5\n", "sim_config"),
    ("", "empty"),
])
def test_generate_refuses_a_bad_dataset_config(tmp_path, capsys, text, key):
    path = _yaml(tmp_path, text)
    out = tmp_path / "db"
    code = main(["generate", "--objects", "procedural:1", "--out", str(out), "--config", str(path), "--no-progress"])
    _one_line_error(capsys, code, path, key)
    assert not out.exists()


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """Three objects at 64x64 (rule labels, real rendered images)."""
    root = tmp_path_factory.mktemp("db")
    write_synthetic_database(root, n_objects=3, images_per_object=2, grasps_per_object=20, resolution=64)
    return root


def _train(tmp_path, data, *extra):
    out = tmp_path / "run"
    return out, main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--device", "cpu",
                      "--threads", "1", *map(str, extra)])


@pytest.mark.parametrize("text, key", [
    ("images_per_batch: forty\n", "images_per_batch"),
    ("resample_failed: \"no\"\n", "resample_failed"),
    ("learning_rate: 1e-3\n", "learning_rate"),
    ("depth_normalization:\n  scale: 0.1\n", "depth_normalization"),
    ("- epochs\n", "mapping"),
    ("", "empty"),
])
def test_train_refuses_a_bad_config_and_leaves_no_run_folder(tmp_path, capsys, database, text, key):
    path = _yaml(tmp_path, text)
    out, code = _train(tmp_path, database, "--config", path)
    _one_line_error(capsys, code, path, key)
    assert not out.exists()


def test_train_names_a_corrupt_shard_and_leaves_no_run_folder(tmp_path, capsys, database):
    data = tmp_path / "data"
    shutil.copytree(database, data)
    victim = sorted((data / "shards").glob("*.h5"))[1]
    raw = bytearray(victim.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 4096] = bytes(4096)  # zeroed bytes inside the compressed images
    victim.write_bytes(bytes(raw))
    out, code = _train(tmp_path, data)
    _one_line_error(capsys, code, victim, "cannot read shard")
    assert not out.exists()


def test_train_refuses_mixed_image_sizes_naming_a_shard_of_each(tmp_path, capsys, database):
    data = tmp_path / "data"
    shutil.copytree(database, data)
    small = tmp_path / "small"
    write_synthetic_database(small, n_objects=4, images_per_object=2, grasps_per_object=20, resolution=48)
    other = sorted((small / "shards").glob("*.h5"))[3]
    shutil.copy(other, data / "shards" / other.name)
    out, code = _train(tmp_path, data)
    line = _one_line_error(capsys, code, "mixed image sizes", "64x64 in 3", "48x48 in 1", other.name)
    assert str(data) in line
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "garbage .pt", "garbage .onnx", "another network"])
def test_train_refuses_bad_initial_weights_naming_the_file(tmp_path, capsys, database, case):
    weights = {"missing": tmp_path / "nope.pt", "garbage .pt": tmp_path / "w.pt",
               "garbage .onnx": tmp_path / "w.onnx", "another network": MODELS / "grasp_cnn.onnx"}[case]
    if case.startswith("garbage"):
        weights.write_bytes(b"\x00 not weights " * 64)
    extra = ["--arch", "paper"] if case == "another network" else []  # the shipped file is rot6d at 128x128
    out, code = _train(tmp_path, database, "--init-weights", weights, *extra)
    word = {"missing": "not found", "garbage .pt": "not a readable state_dict",
            "garbage .onnx": "not a readable ONNX model", "another network": "does not fit the paper network"}[case]
    _one_line_error(capsys, code, weights, word)
    assert not out.exists()


# --- scene files ----------------------------------------------------------------------------------------
def _bad_scene(tmp_path, case):
    good = bundled_scene_paths()[0]
    path = tmp_path / f"{case.replace(' ', '_')}.npz"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "not a zip":
        path.write_text("depth,camera\n1,2\n")
    elif case == "npy renamed":
        np.save(tmp_path / "array.npy", np.zeros((4, 4), np.float32))
        (tmp_path / "array.npy").rename(path)
    else:  # uint8 depth_mm: a bundled scene squeezed into bytes
        with np.load(good) as scene:
            fields = {key: scene[key] for key in scene.files}
        fields["depth_mm"] = (fields["depth_mm"] // 8).astype(np.uint8)
        np.savez(path, **fields)
    return path


@pytest.mark.parametrize("case", ["empty", "truncated", "not a zip", "npy renamed", "uint8 depth_mm"])
def test_plan_refuses_a_bad_scene_file_naming_it(tmp_path, capsys, case):
    path = _bad_scene(tmp_path, case)
    code = main(["plan", str(path), "--out", str(tmp_path / "p.png")])
    line = _one_line_error(capsys, code, path)
    assert "pickle" not in line  # np.load's advice for a file it cannot place; never follow it here


@pytest.mark.parametrize("case", ["uint8 depth_mm", "npy renamed"])
def test_load_scene_refuses_a_bad_scene_naming_the_file(tmp_path, case):
    path = _bad_scene(tmp_path, case)
    with pytest.raises(ValueError, match=path.name):
        load_scene(path)


# --- other commands -------------------------------------------------------------------------------------
def test_export_errors_go_to_stderr(tmp_path, capsys):
    _one_line_error(capsys, main(["export"]), "--untrained")
    _one_line_error(capsys, main(["export", str(tmp_path / "no_run"), "--out", str(tmp_path / "m.onnx")]),
                    tmp_path / "no_run", "not a training run")


def test_ctrl_c_ends_in_one_line_without_a_traceback(tmp_path):
    out = tmp_path / "db"
    command = [sys.executable, "-m", "grasp_planner.cli", "generate", "--objects", "procedural:40",
               "--out", str(out), "--workers", "1"]
    # a shell starts background jobs with SIGINT ignored, and Python keeps it ignored: give the child a
    # terminal's default disposition, or a suite run with `&`/nohup never sees the Ctrl-C
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = time.monotonic()
    while not (out / "manifest.json").exists() and process.poll() is None and time.monotonic() - started < 120:
        time.sleep(0.2)
    time.sleep(1.0)  # into the labelling of the first object
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.replace("\r", "\n").strip().splitlines()[-1] == "grasp-planner generate: interrupted"
