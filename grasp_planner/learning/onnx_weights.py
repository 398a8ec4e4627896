"""Weights of an exported network read back from its ONNX file, to fine-tune the shipped model.

The export keeps torch's parameter names as the ONNX initialisers' names (``encoder.layers.0.weight``
... ``head.out.bias``), so the full model file holds a complete state_dict. Reading it back lets a
training run start from ``models/grasp_cnn.onnx`` on a machine where the original ``model.pt`` is gone
(training runs are not committed). Only tensors are read: no code, no pickle.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def state_dict_from_onnx(path) -> dict[str, torch.Tensor]:
    """Every float initialiser of the ONNX file at ``path`` as a torch tensor, by name.

    Raises FileNotFoundError for a missing file and ValueError, naming the file, for one that is not
    a readable ONNX model or holds no weights.
    """
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX weights file {path} not found")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and others for a corrupt file
        raise ValueError(f"ONNX weights file {path}: not a readable ONNX model ({err})") from err
    state = {init.name: torch.from_numpy(np.array(numpy_helper.to_array(init), dtype=np.float32))
             for init in model.graph.initializer if init.data_type == onnx.TensorProto.FLOAT}
    if not state:
        raise ValueError(f"ONNX weights file {path}: holds no float weights (is it an exported grasp_cnn.onnx?)")
    return state
