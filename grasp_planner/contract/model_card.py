"""The model card: the JSON file beside the exported ONNX files that says how to feed them.

numpy-only. ``export`` writes it; the planner reads it with :meth:`ModelCard.load`, which checks
every field and that the three ONNX files it names exist, so a wrong or stale card fails at load
time with the file and field named, not later as a shape error deep inside onnxruntime.

Layout (``format_version`` 1)::

    {"format": "grasp_planner.model_card", "format_version": 1,
     "architecture": "paper" | "rot6d" | "quat",
     "input_size": [H, W], "feature_size": 1800, "pose_dim": D, "classes": ["failed", "robust"],
     "depth_normalization": {...DepthNormalization...}, "pose_encoding": {...PoseEncoding...},
     "files": {"full": "grasp_cnn.onnx", "encoder": "grasp_cnn_encoder.onnx", "head": "grasp_cnn_head.onnx"},
     "opset": 17, "seed": 0, "code_version": "...", "training": {...counts...}, "metrics": {...},
     "quarter_turns": 1 | 4 | 8, "view_background": "none" | "table"}

``quarter_turns`` (optional, default 1): score every pose on this many views of the image (4: the
quarter turns; 8: those and their mirror images) and average the logits
(:mod:`grasp_planner.contract.quarter_turns`); the ONNX files are the plain
network either way. ``view_background`` (optional, default "none"): what the virtual view of a real
camera image shows off the target, as the network was trained (perception.view): "none" (no return)
or "table" (the table plane at its depth). File names in ``files`` are relative to the card's folder.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grasp_planner.contract.features import DepthNormalization, PoseEncoding
from grasp_planner.contract.quarter_turns import ALLOWED as QUARTER_TURNS
from grasp_planner.resources import file_sha256

CARD_FORMAT = "grasp_planner.model_card"
CARD_VERSION = 1
#: architecture name -> pose representation it is trained with
ARCHITECTURES = {"paper": "rpy", "rot6d": "rot6d", "quat": "quat"}
FILE_KINDS = ("full", "encoder", "head")
CLASSES = ["failed", "robust"]
#: what a normalised view shows off the target: nothing, or the table plane at its depth
VIEW_BACKGROUNDS = ("none", "table")


class ModelCardError(ValueError):
    """A model card that is missing, unreadable or inconsistent; the message names the file."""


@dataclass
class ModelCard:
    """Everything needed to turn a depth image and poses into the exported network's inputs."""

    architecture: str
    input_size: tuple[int, int]
    feature_size: int
    depth_normalization: DepthNormalization
    pose_encoding: PoseEncoding
    files: dict = field(default_factory=dict)
    opset: int = 17
    seed: int = 0
    code_version: str = ""
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    classes: list = field(default_factory=lambda: list(CLASSES))
    #: average the logits over this many quarter turns of the view (1: score the view as it is)
    quarter_turns: int = 1
    #: sha256 of each ONNX file by kind; load() refuses files that differ (flipped bytes, a swapped head)
    sha256: dict = field(default_factory=dict)
    #: what the network saw off the target in its training views (VIEW_BACKGROUNDS)
    view_background: str = "none"
    #: the card's own path once saved or loaded (file names in ``files`` are relative to its folder)
    path: Path | None = None

    @property
    def pose_dim(self) -> int:
        return self.pose_encoding.dim

    def file_path(self, kind: str) -> Path:
        """Absolute path of the ``full``, ``encoder`` or ``head`` ONNX file."""
        if kind not in FILE_KINDS:
            raise ValueError(f"ONNX file kind must be one of {FILE_KINDS}, got {kind!r}")
        base = self.path.parent if self.path is not None else Path(".")
        return base / self.files[kind]

    def to_dict(self) -> dict:
        return {
            "format": CARD_FORMAT, "format_version": CARD_VERSION,
            "architecture": self.architecture, "input_size": list(self.input_size),
            "feature_size": self.feature_size, "pose_dim": self.pose_dim, "classes": list(self.classes),
            "depth_normalization": self.depth_normalization.to_dict(),
            "pose_encoding": self.pose_encoding.to_dict(),
            "files": dict(self.files), "opset": self.opset, "seed": self.seed,
            "code_version": self.code_version, "training": self.training, "metrics": self.metrics,
            "quarter_turns": self.quarter_turns, "sha256": dict(self.sha256),
            "view_background": self.view_background,
        }

    def save(self, path) -> Path:
        """Write the card as JSON to ``path`` and remember it as the card's location."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        self.path = path
        return path

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "ModelCard":
        """Validate a card's fields; ``source`` names the file in error messages."""
        def fail(message):
            raise ModelCardError(f"model card {source}: {message}")

        if not isinstance(data, dict):
            fail(f"top level must be a JSON object, got {type(data).__name__}")
        if data.get("format") != CARD_FORMAT:
            fail(f"'format' must be {CARD_FORMAT!r}, got {data.get('format')!r}")
        if data.get("format_version") != CARD_VERSION:
            fail(f"'format_version' must be {CARD_VERSION}, got {data.get('format_version')!r}")
        required = ("architecture", "input_size", "feature_size", "pose_dim", "depth_normalization",
                    "pose_encoding", "files", "opset", "seed", "code_version", "training", "metrics")
        missing = [key for key in required if key not in data]
        if missing:
            fail(f"missing field(s) {missing}")
        arch = data["architecture"]
        if arch not in ARCHITECTURES:
            fail(f"'architecture' must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
        size = data["input_size"]
        if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
            fail(f"'input_size' must be [H, W] positive integers, got {size!r}")
        if not (isinstance(data["feature_size"], int) and data["feature_size"] > 0):
            fail(f"'feature_size' must be a positive integer, got {data['feature_size']!r}")
        try:
            depth = DepthNormalization(**data["depth_normalization"])
        except (TypeError, ValueError) as err:
            fail(f"'depth_normalization' is invalid: {err}")
        try:
            pose = PoseEncoding(**data["pose_encoding"])
        except (TypeError, ValueError) as err:
            fail(f"'pose_encoding' is invalid: {err}")
        if pose.representation != ARCHITECTURES[arch]:
            fail(f"architecture {arch!r} uses pose representation {ARCHITECTURES[arch]!r}, "
                 f"but pose_encoding says {pose.representation!r}")
        if data["pose_dim"] != pose.dim:
            fail(f"'pose_dim' is {data['pose_dim']!r} but representation {pose.representation!r} has {pose.dim}")
        files = data["files"]
        if not (isinstance(files, dict) and all(isinstance(files.get(k), str) and files.get(k) for k in FILE_KINDS)):
            fail(f"'files' must name {list(FILE_KINDS)} ONNX files, got {files!r}")
        if data.get("classes", CLASSES) != CLASSES:
            fail(f"'classes' must be {CLASSES}, got {data.get('classes')!r}")
        if not isinstance(data["opset"], int) or data["opset"] < 17:
            fail(f"'opset' must be an integer >= 17, got {data['opset']!r}")
        if not isinstance(data["training"], dict) or not isinstance(data["metrics"], dict):
            fail("'training' and 'metrics' must be JSON objects")
        turns = data.get("quarter_turns", 1)
        if turns not in QUARTER_TURNS:
            fail(f"'quarter_turns' must be one of {list(QUARTER_TURNS)}, got {turns!r}")
        background = data.get("view_background", "none")
        if background not in VIEW_BACKGROUNDS:
            fail(f"'view_background' must be one of {list(VIEW_BACKGROUNDS)}, got {background!r}")
        hashes = data.get("sha256", {})
        if not (isinstance(hashes, dict) and all(k in FILE_KINDS and isinstance(v, str) and len(v) == 64
                                                 for k, v in hashes.items())):
            fail(f"'sha256' must map {list(FILE_KINDS)} to 64-digit hex digests, got {hashes!r}")
        return cls(architecture=arch, input_size=(size[0], size[1]), feature_size=data["feature_size"],
                   depth_normalization=depth, pose_encoding=pose, files=dict(files), opset=data["opset"],
                   seed=data["seed"], code_version=str(data["code_version"]), training=data["training"],
                   metrics=data["metrics"], quarter_turns=turns, sha256=dict(hashes), view_background=background)

    @classmethod
    def load(cls, path, check_files: bool = True) -> "ModelCard":
        """Read and validate a card; with ``check_files``, also its ONNX files (present, matching ``sha256``).

        A card without ``sha256`` (written before cards held hashes) is refused when files are checked.

        Raises
        ------
        ModelCardError naming ``path`` and the field or file at fault.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelCardError(f"model card {path}: file not found")
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ModelCardError(f"model card {path}: not readable JSON ({err})") from err
        card = cls.from_dict(data, source=str(path))
        card.path = path
        if check_files:
            for kind in FILE_KINDS:
                if not card.file_path(kind).is_file():
                    raise ModelCardError(f"model card {path}: its {kind} ONNX file "
                                         f"{card.file_path(kind)} does not exist")
                expected = card.sha256.get(kind)
                if expected is None:  # a card from before the hashes: nothing vouches for the files
                    raise ModelCardError(f"model card {path}: no 'sha256.{kind}' for {card.file_path(kind)} "
                                         f"(written before cards held hashes; re-export the model)")
                if file_sha256(card.file_path(kind)) != expected:
                    raise ModelCardError(f"model card {path}: field 'sha256.{kind}' does not match "
                                         f"{card.file_path(kind)} (corrupt or replaced file; re-export the model)")
        return card

    def record_hashes(self) -> None:
        """Store the sha256 of the three files the card names (export does this)."""
        self.sha256 = {kind: file_sha256(self.file_path(kind)) for kind in FILE_KINDS}
