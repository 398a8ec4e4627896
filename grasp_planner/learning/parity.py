"""Compare the exported ONNX files (onnxruntime) with the torch model they came from."""
from __future__ import annotations

import numpy as np
import torch

from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ModelCard
from grasp_planner.contract.onnx_models import open_card_sessions
from grasp_planner.learning.run_dir import load_run


def parity_errors(model: GraspCNN, card: ModelCard, depth: np.ndarray, pose: np.ndarray) -> dict[str, float]:
    """Max |logit difference| of the full ONNX model and of encoder+head against torch.

    Parameters
    ----------
    depth : (N, 1, H, W) float32 normalised depth.
    pose : (N, D) float32 pose features.
    """
    depth = np.ascontiguousarray(depth, dtype=np.float32)
    pose = np.ascontiguousarray(pose, dtype=np.float32)
    model = model.cpu().eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(depth), torch.from_numpy(pose)).numpy()
    sessions = open_card_sessions(card)
    full = sessions["full"].run(["logits"], {"depth": depth, "pose": pose})[0]
    features = sessions["encoder"].run(["features"], {"depth": depth})[0]
    split = sessions["head"].run(["logits"], {"features": features, "pose": pose})[0]
    return {"full": float(np.abs(full - expected).max()), "split": float(np.abs(split - expected).max())}


def max_parity_error(run_dir, card_path, n: int = 8, seed: int = 0) -> dict[str, float]:
    """:func:`parity_errors` of a run and its export on ``n`` random inputs."""
    model, _, _ = load_run(run_dir)
    card = ModelCard.load(card_path)
    rng = np.random.default_rng(seed)
    depth = rng.normal(0, 1, (n, 1) + tuple(card.input_size)).astype(np.float32)
    pose = rng.normal(0, 1, (n, card.pose_dim)).astype(np.float32)
    return parity_errors(model, card, depth, pose)
