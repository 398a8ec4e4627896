"""Shared set-up of the ROS tests: a small untrained model and a short planner config (not a test file)."""
from pathlib import Path


def untrained_model_card(folder: Path) -> Path:
    """Export the paper's CNN with fixed random weights; the plumbing, not grasp quality, is under test."""
    import torch

    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.model import GraspCNN

    torch.manual_seed(0)
    return export_model(GraspCNN(), folder / "grasp_cnn.onnx").path


def short_planner_yaml(folder: Path, max_iter: int, n_starts: int) -> Path:
    """A planner config that plans quickly and accepts any score (min_probability 0)."""
    path = folder / "planner.yaml"
    path.write_text(f"optimizer:\n  max_iter: {max_iter}\nmultistart:\n  n_starts: {n_starts}\n"
                    "planner:\n  min_probability: 0.0\n")
    return path
