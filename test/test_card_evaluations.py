"""benchmarks/card_evaluations.py: a card carries its evaluations and still loads (its ONNX hashes untouched)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from grasp_planner.contract.model_card import ModelCard

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "card_evaluations.py"


def _copy_card(tmp_path):
    for name in ("grasp_cnn.json", "grasp_cnn.onnx", "grasp_cnn_encoder.onnx", "grasp_cnn_head.onnx"):
        shutil.copy(ROOT / "models" / name, tmp_path / name)
    return tmp_path / "grasp_cnn.json"


def test_protocol_and_scene_figures_land_in_the_card_which_still_loads(tmp_path):
    card = _copy_card(tmp_path)
    protocol = tmp_path / "evaluation.json"
    outcome = {"method": "planner", "plan_status": "OK", "robust_10_shakes": True}
    protocol.write_text(json.dumps({
        "world": "table", "problem_set": "p.npz", "seed": 0,
        "summary": {"planner": {"n": 2, "robust_10_shakes": 0.5, "robust_10_shakes_ci95": [0.09, 0.91]}},
        "outcomes": [outcome, dict(outcome, plan_status="LOW_SCORE", robust_10_shakes=False)]}))
    scenes = tmp_path / "rc" / "summary.json"
    scenes.parent.mkdir()
    scenes.write_text(json.dumps({"scenes": {"n": 1, "robust_10_shakes": 1.0}, "no_pose": {"n": 1},
                                  "run": {"seed": 0}}))
    (scenes.parent / "outcomes.json").write_text(json.dumps([
        {"case": "scene", "plan_status": "OK", "robust_10_shakes": True},
        {"case": "heuristic", "plan_status": "OK", "robust_10_shakes": False}]))
    done = subprocess.run([sys.executable, str(SCRIPT), str(card), "--protocol", str(protocol), "--scenes",
                           str(scenes)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    written = json.loads(card.read_text())["evaluations"]
    assert written["table_protocol"]["methods"]["planner"]["robust_10_shakes_ci95"] == [0.09, 0.91]
    assert written["table_protocol"]["planner_by_status"] == {"OK": {"plans": 1, "held": 1},
                                                              "LOW_SCORE": {"plans": 1, "held": 0}}
    assert written["scenes"]["scenes_by_status"] == {"OK": {"plans": 1, "held": 1}}   # scene cases only
    assert ModelCard.load(card).architecture                                          # hashes still match


def test_a_broken_evaluation_file_is_named_and_the_card_is_left_as_it_was(tmp_path):
    card = _copy_card(tmp_path)
    before = card.read_text()
    bad = tmp_path / "evaluation.json"
    bad.write_text("{not json")
    done = subprocess.run([sys.executable, str(SCRIPT), str(card), "--protocol", str(bad)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "evaluation.json" in done.stdout and "Traceback" not in done.stderr
    assert card.read_text() == before
