"""Shared pieces of the planning tests: a hand-set CNN exported to ONNX and a top-down scene.

Not a test module (no ``test_`` prefix); the planning tests import it. The network is the paper's
architecture exported by learning/export.py, with its head set by hand so that the robust logit
is ``3 - 20 (|u| + |v|) - 10 |w - w*|`` of the pose features (u, v: image position of the palm in
half-image units, w: its depth in 0.1 m): one peak, known in advance, at the image centre and a
chosen depth. Real export, real onnxruntime; only the weights are chosen instead of trained.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import synthesize_views

SCENE_SEED = 1234


def top_down_scene(index: int = 0, seed: int = SCENE_SEED):
    """A procedural object's 128x128 top-down view: (depth, camera, T_cam_obj, mesh)."""
    mesh = procedural_object(index, seed)
    views = synthesize_views(mesh, 1, np.random.default_rng(seed))
    return views.depth[0], PinholeCamera.from_array(views.cameras[0]), views.T_cam_obj[0], mesh


def peaked_model(out_path, target_depth_m: float, seed: int = 0):
    """Export the paper's CNN with the peaked head described above; returns the card path."""
    import torch

    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.features import PoseEncoding
    from grasp_planner.learning.model import GraspCNN

    torch.manual_seed(seed)
    model = GraspCNN("paper")
    enc = PoseEncoding("rpy")
    w_target = (target_depth_m - enc.reference_m) / enc.scale_m
    head, n_feat = model.head, model.feature_size
    with torch.no_grad():
        for layer in (head.fc1, head.fc2, head.out):
            layer.weight.zero_()
            layer.bias.zero_()
        # fc1 units 0..5: relu(+-u), relu(+-v), relu(+-(w - w*)) -> their sum is |u| + |v| + |w - w*|
        for k, (col, offset) in enumerate(((0, 0.0), (1, 0.0), (2, w_target))):
            head.fc1.weight[2 * k, n_feat + col] = 1.0
            head.fc1.bias[2 * k] = -offset
            head.fc1.weight[2 * k + 1, n_feat + col] = -1.0
            head.fc1.bias[2 * k + 1] = offset
        head.fc2.weight[0, :4] = 20.0
        head.fc2.weight[0, 4:6] = 10.0
        head.out.weight[1, 0] = -1.0
        head.out.bias[1] = 3.0
    card = export_model(model, out_path, seed=seed)
    return card.path
