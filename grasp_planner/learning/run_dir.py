"""A training run's folder: what ``train`` writes and ``export`` reads (torch).

``<run>/run.json``   architecture, input size, depth normalisation, pose encoding, seed, data
                      counts, code version (everything the model card needs but the metrics);
``<run>/model.pt``    final weights, a ``state_dict`` only (loaded with ``weights_only=True``);
``<run>/checkpoints/epoch_<k>.pt``  ``{"model": state_dict, "optimizer": state_dict, "epoch": k}``;
``<run>/metrics.json`` accuracies per split, the results table, per-epoch history.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from grasp_planner.learning.model import GraspCNN

RUN_CONFIG = "run.json"
WEIGHTS = "model.pt"
METRICS = "metrics.json"


def load_state_dict(path, device="cpu") -> dict:
    """A state_dict from ``path``: a torch state_dict or checkpoint, or an exported full ``*.onnx`` model
    (its weights: ``learning.onnx_weights``). Never unpickles arbitrary objects."""
    path = Path(path)
    if path.suffix == ".onnx":
        from grasp_planner.learning.onnx_weights import state_dict_from_onnx
        return {k: v.to(device) for k, v in state_dict_from_onnx(path).items()}
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or non-weights files
        raise ValueError(f"weights file {path}: not a readable state_dict ({err})") from err
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # a checkpoint
    if not isinstance(state, dict):
        raise ValueError(f"weights file {path}: expected a state_dict, got {type(state).__name__}")
    return state


def load_run(run_dir, device="cpu") -> tuple[GraspCNN, dict, dict]:
    """``(model, run_config, metrics)`` of a finished training run, model in eval mode."""
    run_dir = Path(run_dir)
    config_path = run_dir / RUN_CONFIG
    if not config_path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a training run: {config_path} is missing")
    config = json.loads(config_path.read_text())
    for key in ("architecture", "input_size"):
        if key not in config:
            raise ValueError(f"{config_path}: missing field {key!r}")
    model = GraspCNN(config["architecture"], tuple(config["input_size"]))
    state = load_state_dict(run_dir / WEIGHTS, device)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{run_dir / WEIGHTS}: weights do not fit architecture "
                         f"{config['architecture']!r}: {err}") from err
    metrics_path = run_dir / METRICS
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return model.to(device).eval(), config, metrics
