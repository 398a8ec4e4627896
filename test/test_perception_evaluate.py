"""The real-camera evaluation (issue 8): one scene planned, mapped into the object frame, labelled."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("klampt")
pytest.importorskip("onnxruntime")

MODEL = Path(__file__).resolve().parents[1] / "models" / "grasp_cnn.json"


@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
def test_one_scene_gives_a_labelled_grasp_in_the_object_frame():
    from grasp_planner.perception.evaluate import NOISE_LEVELS, evaluate_scene, scene_for
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.sim.labels import GraspLabel

    planner = GraspPlanner.from_config(MODEL)
    scene = scene_for(0, seed=0, tilt_deg=30.0, noise=NOISE_LEVELS["sensor"])
    assert scene.depth.shape == (480, 640) and scene.tilt_deg == 30.0
    outcome = evaluate_scene(planner, scene, np.random.default_rng(0), index=0, noise_name="sensor")

    assert outcome.planned, outcome.plan_message
    assert outcome.label in GraspLabel.__members__
    assert outcome.robust_10_shakes <= outcome.robust_1_shake  # robust after 10 implies after 1
    T_obj_hand = np.array(outcome.T_obj_hand)
    assert np.allclose(T_obj_hand[:3, :3] @ T_obj_hand[:3, :3].T, np.eye(3), atol=1e-6)
    # the grasp is mapped into the target's frame (origin at its volume centroid): it is near the origin
    assert np.linalg.norm(T_obj_hand[:3, 3]) < 0.15
    assert np.allclose(outcome.grasp_in_object, T_obj_hand[:3, 3])


def test_a_grasp_is_credited_to_the_object_between_its_fingers():
    from grasp_planner.perception.evaluate import _with_target, grasped_object, scene_for
    from grasp_planner.pose import Pose
    from grasp_planner.sim.config import SimConfig

    centre_z = SimConfig.load().qualify.grasp_centre_z_m

    scene = scene_for(0, seed=0, tilt_deg=0.0, noise=None)
    assert len(scene.objects) >= 2
    for k in range(len(scene.objects)):
        centre = scene.T_camera_object(k).translation
        palm = Pose(np.eye(3), centre - np.array([0.0, 0.0, centre_z]))   # camera +z: looking down
        assert grasped_object(scene, palm) == k
    swapped = _with_target(scene, 1)
    assert swapped.objects[0].name == scene.objects[1].name and swapped.objects[1].name == scene.objects[0].name
    np.testing.assert_allclose(swapped.T_camera_object(0).matrix(), scene.T_camera_object(1).matrix())
    assert swapped.object_ids[0] == scene.object_ids[1]


@pytest.mark.skipif(not MODEL.exists(), reason="no shipped model")
def test_with_no_initial_pose_the_grasped_object_is_labelled():
    from grasp_planner.perception.evaluate import evaluate_scene, scene_for
    from grasp_planner.planning.planner import GraspPlanner

    planner = GraspPlanner.from_config(MODEL)
    scene = scene_for(1, seed=0, tilt_deg=15.0, noise=None)
    outcome = evaluate_scene(planner, scene, np.random.default_rng(0), index=1, noise_name="none", with_pose=False)
    assert outcome.case == "no_pose" and outcome.planned, outcome.plan_message
    T_obj_hand = np.array(outcome.T_obj_hand)
    assert np.linalg.norm(T_obj_hand[:3, 3]) < 0.15      # in the frame of the object it closes on
    names = [m.name for m in scene.objects]
    assert outcome.object_name in names


def _outcome(case, tilt, noise, robust, status="OK"):
    from grasp_planner.perception.evaluate import CaseOutcome
    return CaseOutcome(case=case, index=0, tilt_deg=tilt, noise=noise, object_name="box_00001", object_id=1,
                       plan_status=status, plan_message="", planned=True, label="ROBUST" if robust else "FAILED",
                       robust_1_shake=robust, robust_10_shakes=robust, probability=0.7, distance_m=0.01,
                       grasp_in_object=(0.0, 0.0, 0.0), n_clusters=2, plan_s=0.1, view_s=0.05, label_s=1.0)


def test_the_summary_and_picture_report_the_no_pose_planner_beside_the_scenes(tmp_path):
    from grasp_planner.perception.evaluate import format_table, summarize
    from grasp_planner.perception.evaluation_plots import plot_success

    outcomes = [_outcome("scene", 0.0, "none", True), _outcome("scene", 15.0, "none", False),
                _outcome("no_pose", 0.0, "none", False), _outcome("no_pose", 15.0, "none", False, "LOW_SCORE"),
                _outcome("heuristic", 0.0, "none", True)]
    summary = summarize(outcomes)
    assert summary["scenes"]["n"] == 2 and summary["scenes"]["robust_10_shakes"] == 0.5
    assert summary["no_pose"]["n"] == 2 and summary["no_pose"]["robust_10_shakes"] == 0.0
    assert summary["no_pose"]["plan_ok"] == 0.5
    assert summary["per_tilt"]["0"]["n"] == 1            # no-pose and heuristic cases stay out of the scene rows
    assert "planner with no initial pose" in format_table(summary)
    png = plot_success(summary, tmp_path / "success.png")
    assert png.exists() and png.stat().st_size > 10_000
