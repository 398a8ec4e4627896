"""Shared pieces of the planning tests: a top-down scene and the peaked CNN (test/peaked_model.py).

Not a test module (no ``test_`` prefix); the planning tests import it.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import synthesize_views
from peaked_model import export_peaked_model

SCENE_SEED = 1234


def top_down_scene(index: int = 0, seed: int = SCENE_SEED):
    """A procedural object's 128x128 top-down view: (depth, camera, T_cam_obj, mesh)."""
    mesh = procedural_object(index, seed)
    views = synthesize_views(mesh, 1, np.random.default_rng(seed))
    return views.depth[0], PinholeCamera.from_array(views.cameras[0]), views.T_cam_obj[0], mesh


def peaked_model(out_path, target_depth_m: float, seed: int = 0):
    """The paper's CNN exported with a head whose single peak is on the optical axis at ``target_depth_m``."""
    return export_peaked_model(out_path, target_depth_m, seed)
