"""Grasp scores from the exported mix-in CNN with onnxruntime: encoder once per image, head per pose batch.

The model card (``models/grasp_cnn.json``) names the encoder (depth -> features) and the head
(features, pose -> logits) ONNX files, as docs/architecture.md fixes. Scores are the
paper's f = x1, the logit of the robust class; the probability is the softmax of both logits.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from grasp_planner.camera import PinholeCamera
from grasp_planner.contract.features import normalize_depth, pose_features
from grasp_planner.contract.model_card import ModelCard
from grasp_planner.contract.onnx_models import ModelFileError, open_session
from grasp_planner.contract.quarter_turns import check_turnable, turned_images, turned_poses
from grasp_planner.planning.split_head import SplitHead, split_head

#: largest |split - plain| logit difference accepted before the split head is trusted
SPLIT_HEAD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class ImageFeatures:
    """What the head needs from one depth image: the encoder output (and its first-layer term)."""

    camera: PinholeCamera
    features: np.ndarray          # (K, F) float32, one row per quarter turn of the view (K = card.quarter_turns)
    image_term: np.ndarray | None  # (K, hidden) float32 when the split head is in use


class GraspScorer:
    """Scores hand poses on a depth image with the shipped CNN (onnxruntime, CPU, one thread).

    Parameters
    ----------
    card_path : the model card ``.json``; the encoder and head ONNX files must sit beside it.
    use_split_head : rewrite the head so the image half of its first layer runs once per image
        (checked against the plain head at load time; falls back to it if they differ).
    """

    def __init__(self, card_path: str | Path, use_split_head: bool = True):
        self.card_path = Path(card_path)
        # ModelCardError / ModelFileError are ValueErrors naming the file and what is wrong.
        self.card = ModelCard.load(self.card_path)
        self._encoder = open_session(self.card.file_path("encoder"), "encoder", self.card, threads=1)
        self._head = open_session(self.card.file_path("head"), "head", self.card, threads=1)
        self.input_shape = tuple(self.card.input_size)   # (H, W) the network was trained at
        self._split: SplitHead | None = None
        self._split_session = None
        self._smoke_test()
        if use_split_head:
            self._try_split_head()

    def _smoke_test(self) -> None:
        """Score a fixed input once: a network that gives non-finite or absurd logits is refused at load.

        Flipped bytes in an encoder gave scores of -1.3 million, and a NaN head failed only at plan
        time; a trained network's logits on a flat view stay within a few tens.
        """
        h, w = self.input_shape
        depth = np.full((1, 1, h, w), 0.5, dtype=np.float32)
        features = self._encoder.run(None, {"depth": depth})[0].astype(np.float32)
        pose = np.zeros((1, self.card.pose_dim), dtype=np.float32)
        logits = self._head.run(None, {"features": features, "pose": pose})[0]
        if not np.all(np.isfinite(logits)) or np.abs(logits).max() > 1e4:
            raise ModelFileError(f"model {self.card_path}: smoke test on a fixed input gave logits "
                                 f"{np.round(logits.ravel(), 1).tolist()}; the ONNX files are corrupt")

    @property
    def uses_split_head(self) -> bool:
        return self._split is not None

    # --- per image ---------------------------------------------------------------------------
    def image_features(self, depth: np.ndarray, camera: PinholeCamera) -> ImageFeatures:
        """Run the encoder once on a network-view depth image (metres, 0 = no return)."""
        depth = camera.check_image(depth, "depth")
        if tuple(depth.shape) != self.input_shape:
            raise ValueError(f"depth is {depth.shape} but the network takes {self.input_shape}; "
                             f"normalise the view first (GraspPlanner does)")
        turns = self.card.quarter_turns
        if turns > 1:
            check_turnable(camera)
        image = np.asarray(normalize_depth(depth, self.card), dtype=np.float32)
        images = np.ascontiguousarray(turned_images(image, turns)[:, None], dtype=np.float32)
        features = self._encoder.run(None, {"depth": images})[0].astype(np.float32)
        term = self._split.image_term(features) if self._split is not None else None
        return ImageFeatures(camera, features, term)

    # --- per pose batch ----------------------------------------------------------------------
    def logits(self, image: ImageFeatures, T_cam_hand: np.ndarray) -> np.ndarray:
        """Both logits ``(N, 2)`` for hand poses ``(N, 4, 4)`` in the image's camera frame.

        With ``card.quarter_turns`` K > 1, the mean over the K turned views (one head call of K*N poses).
        """
        T_cam_hand = np.asarray(T_cam_hand, dtype=float).reshape(-1, 4, 4)
        n, turns = len(T_cam_hand), len(image.features)
        if turns > 1:  # this runs per objective evaluation: a single view skips the turning and the mean
            T_cam_hand = turned_poses(T_cam_hand, turns).reshape(-1, 4, 4)  # turn-major: k * n + i
        pose = np.asarray(pose_features(T_cam_hand, image.camera, self.card), dtype=np.float32)
        logits = self._run_head(image, pose, per_turn=n)
        return logits if turns == 1 else logits.reshape(turns, n, 2).mean(axis=0)

    def score(self, image: ImageFeatures, T_cam_hand: np.ndarray) -> np.ndarray:
        """The paper's score x1 (robust-class logit) ``(N,)`` for poses ``(N, 4, 4)``."""
        return self.logits(image, T_cam_hand)[:, 1]

    def _run_head(self, image: ImageFeatures, pose: np.ndarray, per_turn: int) -> np.ndarray:
        """Head on turn-major poses: rows ``k * per_turn .. (k+1) * per_turn`` use turn k's features."""
        if self._split is not None:
            term = np.repeat(image.image_term, per_turn, axis=0)
            return self._split_session.run(None, {"image_term": term, "pose": pose})[0]
        feats = np.repeat(image.features, per_turn, axis=0)
        return self._head.run(None, {"features": feats, "pose": pose})[0]

    def _try_split_head(self) -> None:
        split = split_head(self.card.file_path("head").read_bytes())
        if split is None:
            return
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = ort.InferenceSession(split.model_bytes, options, providers=["CPUExecutionProvider"])
        # Hold the rewrite to the original on random inputs before trusting it.
        rng = np.random.default_rng(0)
        n_feat = split.image_weight.shape[1]
        n_pose = self.card.pose_dim
        feats = rng.standard_normal((5, n_feat)).astype(np.float32)
        pose = rng.standard_normal((5, n_pose)).astype(np.float32)
        plain = self._head.run(None, {"features": feats, "pose": pose})[0]
        fast = session.run(None, {"image_term": split.image_term(feats), "pose": pose})[0]
        if np.max(np.abs(plain - fast)) <= SPLIT_HEAD_TOLERANCE * max(1.0, np.max(np.abs(plain))):
            self._split, self._split_session = split, session


def central_stencil(x: np.ndarray, step: float) -> np.ndarray:
    """``(2n+1, n)`` points: x, then x + step e_i and x - step e_i for each coordinate i."""
    n = len(x)
    offsets = np.concatenate([np.zeros((1, n)), step * np.eye(n), -step * np.eye(n)])
    return x[None, :] + offsets


def central_difference(values: np.ndarray, step: float) -> tuple[float, np.ndarray]:
    """Value and gradient from function values on ``central_stencil`` points."""
    n = (len(values) - 1) // 2
    values = np.asarray(values, dtype=float)
    return float(values[0]), (values[1:n + 1] - values[n + 1:]) / (2.0 * step)


def softmax_robust(logits: np.ndarray) -> np.ndarray:
    """Probability of the robust class from logits ``(..., 2)``: sigmoid(x1 - x0)."""
    logits = np.asarray(logits, dtype=float)
    return 1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1]))
