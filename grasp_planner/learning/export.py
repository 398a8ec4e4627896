"""ONNX export of the mix-in CNN: the full network, the encoder and the head, plus the model card.

``torch.onnx.export(..., dynamo=False)`` at opset 17 with a dynamic batch dimension on every input
and output. The three files share their weights' values, so ``head(encoder(d), p) == full(d, p)``.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import torch

from grasp_planner.contract.features import DepthNormalization, PoseEncoding
from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ARCHITECTURES, ModelCard
from grasp_planner.learning.run_dir import load_run
from grasp_planner.version import code_version

OPSET = 17


def onnx_paths(out) -> dict[str, Path]:
    """``{"full": x.onnx, "encoder": x_encoder.onnx, "head": x_head.onnx, "card": x.json}`` for ``out = x.onnx``."""
    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"--out must end in .onnx, got {out}")
    stem = out.with_suffix("")
    return {"full": out, "encoder": Path(f"{stem}_encoder.onnx"), "head": Path(f"{stem}_head.onnx"),
            "card": out.with_suffix(".json")}


def _export(module, args, path, input_names, output_names):
    dynamic = {name: {0: "N"} for name in input_names + output_names}
    with warnings.catch_warnings():  # dynamo=False is deliberate (the dynamo exporter needs onnxscript)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


def export_model(model: GraspCNN, out, depth_normalization: DepthNormalization | None = None,
                 seed: int = 0, training: dict | None = None, metrics: dict | None = None,
                 quarter_turns: int = 1, view_background: str = "none") -> ModelCard:
    """Write the three ONNX files and the model card for ``model``.

    Parameters
    ----------
    model : a (trained or not) :class:`GraspCNN`; exported on CPU in eval mode, left unchanged.
    out : path of the full model, ``*.onnx``; the encoder, head and card are written beside it.
    depth_normalization : the normalisation the model was trained with (default parameters if None).
    seed, training, metrics : recorded in the card.
    quarter_turns : 1, or 4 to have consumers average the logits over the view's quarter turns.
    view_background : what the training views showed off the target ("none" or "table"); the planner
        renders real camera images' virtual views the same way.

    Returns
    -------
    The saved :class:`ModelCard` (its ``path`` set).
    """
    paths = onnx_paths(out)
    paths["full"].parent.mkdir(parents=True, exist_ok=True)
    cpu_model = GraspCNN(model.architecture, model.input_size)
    cpu_model.load_state_dict({k: v.detach().cpu() for k, v in model.state_dict().items()})
    cpu_model.eval()
    h, w = model.input_size
    depth = torch.zeros(2, 1, h, w)
    pose = torch.zeros(2, model.pose_dim)
    features = torch.zeros(2, model.feature_size)
    with torch.no_grad():
        _export(cpu_model, (depth, pose), paths["full"], ["depth", "pose"], ["logits"])
        _export(cpu_model.encoder, (depth,), paths["encoder"], ["depth"], ["features"])
        _export(cpu_model.head, (features, pose), paths["head"], ["features", "pose"], ["logits"])
    card = ModelCard(
        architecture=model.architecture, input_size=(h, w), feature_size=model.feature_size,
        depth_normalization=depth_normalization or DepthNormalization(),
        pose_encoding=PoseEncoding(ARCHITECTURES[model.architecture]),
        files={k: paths[k].name for k in ("full", "encoder", "head")}, opset=OPSET, seed=int(seed),
        code_version=code_version(), training=training or {}, metrics=metrics or {}, quarter_turns=quarter_turns,
        view_background=view_background)
    card.path = paths["card"]
    card.record_hashes()
    card.save(paths["card"])
    return card


def export_run(run_dir, out, quarter_turns: int = 1) -> ModelCard:
    """Export a finished training run (``train``'s ``--out`` folder) to ``out`` (*.onnx)."""
    model, config, metrics = load_run(run_dir)
    card = export_model(model, out, DepthNormalization(**config.get("depth_normalization", {})),
                        seed=config.get("seed", 0),
                        training={**config.get("data", {}), "settings": config.get("config", {}),
                                  **({"initialised_from": config["initialised_from"]}
                                     if "initialised_from" in config else {}),
                                  **({"data_source": config["data_source"]} if "data_source" in config else {})},
                        metrics=metrics.get("results", metrics),
                        quarter_turns=quarter_turns, view_background=config.get("view_background", "none"))
    pose = config.get("pose_encoding")
    if pose is not None and PoseEncoding(**pose) != card.pose_encoding:
        raise ValueError(f"{run_dir}: run was trained with pose encoding {pose}, "
                         f"export would declare {card.pose_encoding.to_dict()}")
    return card
