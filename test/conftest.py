"""Fixtures several test modules share: a top-down scene, an untrained model, a short planner config, a DDS domain.

Test-only helpers that are called with arguments rather than requested as fixtures are modules of
their own beside this file (peaked_model.py, synthetic_db.py, toy_network.py); pytest puts this
folder on sys.path, so tests import them by name.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# property tests draw the same examples on every run, as everything else here is seeded; a draw that once
# found a bug is kept as its own test (test_hand_closing.py)
settings.register_profile("seeded", derandomize=True)
settings.load_profile("seeded")

#: the scene seed of the planning tests' top-down view
SCENE_SEED = 1234


@pytest.fixture(scope="session")
def top_down_scene():
    """A procedural object's 128x128 top-down view: (depth, camera, T_cam_obj, mesh)."""
    from grasp_planner.camera import PinholeCamera
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.data.render import synthesize_views

    mesh = procedural_object(0, SCENE_SEED)
    views = synthesize_views(mesh, 1, np.random.default_rng(SCENE_SEED))
    return views.depth[0], PinholeCamera.from_array(views.cameras[0]), views.T_cam_obj[0], mesh


@pytest.fixture(scope="session")
def untrained_model_card(tmp_path_factory) -> Path:
    """The paper's CNN with fixed random weights, exported once per session (plumbing, not grasp quality)."""
    torch = pytest.importorskip("torch")
    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.model import GraspCNN

    torch.manual_seed(0)
    return export_model(GraspCNN(), tmp_path_factory.mktemp("untrained") / "grasp_cnn.onnx").path


@pytest.fixture(scope="session")
def short_planner_yaml(tmp_path_factory) -> Path:
    """A planner config that plans quickly (8 BFGS iterations, 2 starts) and accepts any score."""
    path = tmp_path_factory.mktemp("cfg") / "planner.yaml"
    path.write_text("optimizer:\n  max_iter: 8\nmultistart:\n  n_starts: 2\nplanner:\n  min_probability: 0.0\n")
    return path


@pytest.fixture(scope="module")
def ros_env(request):
    """A DDS domain of the test module's own (fixed per module and process), localhost only; restored after."""
    keys = ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")
    saved = {key: os.environ.get(key) for key in keys}
    domain = 1 + (os.getpid() + zlib.crc32(request.module.__name__.encode())) % 99
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    yield dict(os.environ)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def context(ros_env):
    """A fresh rclpy Context per test (as rclpy's own tests do), on the module's DDS domain; shut down after."""
    import rclpy

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)
