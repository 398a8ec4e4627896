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
