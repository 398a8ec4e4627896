"""The demo and plan commands end to end with an exported model (the README's main command)."""
import json

import numpy as np
import pytest

pytest.importorskip("torch")

from grasp_planner.cli import main  # noqa: E402
from grasp_planner.planning.scene_io import generated_scene  # noqa: E402

from peaked_model import export_peaked_model  # noqa: E402


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    scene = generated_scene(0)
    top = float(scene.depth[scene.depth > 0].min())
    return export_peaked_model(tmp_path_factory.mktemp("model") / "grasp_cnn.onnx", top - 0.03)


def test_demo_writes_a_png_per_scene_and_a_summary(card, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--model", str(card)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenes"] and all((out / f"{s['scene']}.png").stat().st_size > 10_000 for s in summary["scenes"])
    assert all(s["reason"] != "INVALID_INPUT" and s["grasps"] for s in summary["scenes"])
    assert "score" in capsys.readouterr().out


def test_demo_without_a_model_says_what_is_missing(tmp_path, capsys):
    missing = tmp_path / "grasp_cnn.json"
    assert main(["demo", "--out", str(tmp_path / "d"), "--model", str(missing)]) == 2
    assert "grasp_cnn.json" in capsys.readouterr().err  # errors go to stderr


def test_plan_command_plans_one_scene_file(card, tmp_path):
    scene = generated_scene(0)
    path = tmp_path / "scene.npz"
    np.savez(path, depth=scene.depth, camera=scene.camera.as_array(), initial_pose=scene.initial_pose.matrix())
    assert main(["plan", str(path), "--model", str(card), "--view", "direct", "--out", str(tmp_path / "p.png")]) == 0
    assert (tmp_path / "p.png").is_file()


def test_evaluate_in_the_floating_world_writes_rates_per_object_and_a_sequence_figure(card, tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--world", "floating", "--model", str(card), "--problems", "2", "--uniform-samples", "2",
                 "--out", str(out)]) == 0
    report = json.loads((out / "evaluation.json").read_text())
    summary = report["summary"]
    assert summary["problems"] == 2 and sum(r["problems"] for r in summary["per_object"].values()) == 2
    for key in ("robust_1_shake", "robust_10_shakes"):
        assert 0.0 <= summary[key] <= 1.0
    assert summary["robust_10_shakes"] <= summary["robust_1_shake"]   # 10 shakes is the stricter test
    assert (out / "evaluation_sequences.png").stat().st_size > 10_000


def test_evaluation_counts_a_hand_that_never_touches_the_object_as_failed():
    # zero gravity + there-and-back shakes: the simulator leaves an untouched object in the hand box
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.planning.evaluate import judged
    from grasp_planner.sim.simulate import GraspSimulator

    mesh = procedural_object(4, 9001)
    far = np.eye(4)
    far[2, 3] = -1.0                      # palm 1 m from the object, fingers close on air
    outcome = GraspSimulator(mesh.vertices, mesh.faces).label(far, np.random.default_rng(0))
    assert outcome.fingers_touching == 0
    assert judged(outcome)[:2] == (False, False)
