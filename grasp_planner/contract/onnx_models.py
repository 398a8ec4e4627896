"""Open the exported ONNX files with onnxruntime and check they are the network the card describes.

No torch. A corrupt file, a file from another export, or one whose inputs have the wrong names or
sizes raises :class:`ModelFileError` naming the file and what was expected, instead of a shape
error at the first inference.
"""
from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from grasp_planner.contract.model_card import FILE_KINDS, ModelCard


class ModelFileError(ValueError):
    """An ONNX file that cannot be loaded or does not have the expected inputs and outputs."""


def expected_signature(card: ModelCard, kind: str) -> tuple[dict, dict]:
    """``(inputs, outputs)``: name -> shape, with ``"N"`` for the dynamic batch dimension."""
    h, w = card.input_size
    depth = {"depth": ["N", 1, h, w]}
    pose = {"pose": ["N", card.pose_dim]}
    features = {"features": ["N", card.feature_size]}
    logits = {"logits": ["N", 2]}
    if kind == "full":
        return {**depth, **pose}, logits
    if kind == "encoder":
        return depth, features
    if kind == "head":
        return {**features, **pose}, logits
    raise ValueError(f"ONNX file kind must be one of {FILE_KINDS}, got {kind!r}")


def _shape_matches(actual, expected) -> bool:
    if len(actual) != len(expected):
        return False
    for got, want in zip(actual, expected):
        if want == "N":
            if isinstance(got, int):  # a fixed batch size would break batched scoring
                return False
        elif got != want:
            return False
    return True


def _describe(args) -> str:
    return ", ".join(f"{a.name} {list(a.shape)}" for a in args)


def open_session(path, kind: str, card: ModelCard, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime session for one exported file, checked against the card.

    Parameters
    ----------
    path : the ONNX file.
    kind : ``"full"`` (depth, pose -> logits), ``"encoder"`` (depth -> features) or
        ``"head"`` (features, pose -> logits).
    card : the model card whose sizes the file must have.
    threads : onnxruntime intra- and inter-op threads (1 is the fastest per call on a busy CPU).

    Raises
    ------
    ModelFileError naming the file: missing, not loadable, or with other inputs/outputs.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX {kind} model {path}: file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises several private exception types
        raise ModelFileError(f"ONNX {kind} model {path}: cannot be loaded by onnxruntime "
                             f"(corrupt or not an ONNX file): {err}") from err
    want_in, want_out = expected_signature(card, kind)
    got_in, got_out = session.get_inputs(), session.get_outputs()
    ok = ([a.name for a in got_in] == list(want_in) and [a.name for a in got_out] == list(want_out)
          and all(_shape_matches(a.shape, want_in[a.name]) for a in got_in)
          and all(_shape_matches(a.shape, want_out[a.name]) for a in got_out)
          and all(a.type == "tensor(float)" for a in list(got_in) + list(got_out)))
    if not ok:
        expect = ", ".join(f"{k} {v}" for k, v in want_in.items())
        expect_out = ", ".join(f"{k} {v}" for k, v in want_out.items())
        raise ModelFileError(
            f"ONNX {kind} model {path}: expected float inputs ({expect}) -> ({expect_out}) for "
            f"architecture {card.architecture!r}, got ({_describe(got_in)}) -> ({_describe(got_out)})")
    return session


def open_card_sessions(card: ModelCard, threads: int = 1) -> dict[str, ort.InferenceSession]:
    """Checked sessions for all three files a card names: ``{"full", "encoder", "head"}``."""
    return {kind: open_session(card.file_path(kind), kind, card, threads) for kind in FILE_KINDS}
