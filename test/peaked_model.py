"""A CNN of the paper's shape whose score has one known peak: for tests and benchmarks (needs torch).

The encoder keeps its random (seeded) weights; the head is set by hand so that the robust logit is
``3 - 5 (|u| + |v| + |w - w*|)`` of the pose features (u, v: the palm's image position in
half-image units, w: its depth in units of 0.1 m, see contract/features.py). The peak is on the
optical axis at depth ``target_depth_m``. Exported by learning/export.py like a trained model, so
onnxruntime, the split head and the optimizer run exactly as in use; the layers keep their full
sizes, so timings are those of the paper's network. Test scaffolding, not part of the package: the
planning tests and benchmarks/bench_plan.py import it.
"""
from __future__ import annotations

from pathlib import Path

#: the peak's logit and the slopes of the score around it
PEAK_LOGIT = 3.0
SLOPE_UV = 5.0
SLOPE_W = 5.0


def export_peaked_model(out_path, target_depth_m: float, seed: int = 0) -> Path:
    """Export the peaked CNN to ``out_path`` (``*.onnx``, plus encoder, head and card); returns the card path."""
    import torch

    from grasp_planner.learning.export import export_model
    from grasp_planner.contract.features import PoseEncoding
    from grasp_planner.learning.model import GraspCNN

    torch.manual_seed(seed)
    model = GraspCNN("paper")
    encoding = PoseEncoding("rpy")
    w_target = (target_depth_m - encoding.reference_m) / encoding.scale_m
    head, n_feat = model.head, model.feature_size
    with torch.no_grad():
        for layer in (head.fc1, head.fc2, head.out):
            layer.weight.zero_()
            layer.bias.zero_()
        # fc1 units 0..5: relu(+-u), relu(+-v), relu(+-(w - w*)); their weighted sum is the L1 distance
        for k, (column, offset) in enumerate(((0, 0.0), (1, 0.0), (2, w_target))):
            head.fc1.weight[2 * k, n_feat + column] = 1.0
            head.fc1.bias[2 * k] = -offset
            head.fc1.weight[2 * k + 1, n_feat + column] = -1.0
            head.fc1.bias[2 * k + 1] = offset
        head.fc2.weight[0, :4] = SLOPE_UV
        head.fc2.weight[0, 4:6] = SLOPE_W
        head.out.weight[1, 0] = -1.0
        head.out.bias[1] = PEAK_LOGIT
    return export_model(model, out_path, seed=seed).path
