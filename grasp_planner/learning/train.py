"""Training loop of the mix-in CNN on the grasp database (torch, any device).

Adam on cross-entropy; each step takes ``images_per_batch`` images with ``grasps_per_image``
balanced poses each, so the encoder runs once per image (``GraspCNN.forward_grouped``). After
every epoch the fixed evaluation samples of every split part are scored and a checkpoint written.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
import torch
from tqdm import tqdm

from grasp_planner import config_schema
from grasp_planner.learning import dataset as ds
from grasp_planner.contract.features import DepthNormalization, PoseEncoding
from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ARCHITECTURES
from grasp_planner.contract.quarter_turns import ALLOWED as VIEW_COUNTS
from grasp_planner.learning.run_dir import METRICS, RUN_CONFIG, WEIGHTS, load_state_dict
from grasp_planner.version import code_version

#: the evaluated parts, in table order; "train" is the training images x training poses
PARTS = ("train", "new_images", "new_poses", "unseen")


@dataclass
class TrainConfig:
    """Hyper-parameters; ``config/train_*.yaml`` files hold the same keys."""

    architecture: str = "paper"
    epochs: int = 10
    images_per_batch: int = 8
    grasps_per_image: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    min_robust: int = 10
    balance: str = "per_object"
    #: draw each image's failed poses afresh from all unused failed grasps of the object (dataset.spare_failed)
    resample_failed: bool = False
    #: "constant" or "cosine" (decays to 0 over the epochs, per step)
    lr_schedule: str = "constant"
    #: state dict (model.pt of an earlier run of the same architecture, or an exported full *.onnx model
    #: such as models/grasp_cnn.onnx) to start from; None: random init
    init_weights: str | None = None
    #: random views per training image: 1 (as rendered), 4 (+ quarter turns) or 8 (+ mirror images);
    #: contract.quarter_turns says why every view is an equally valid sample
    augment_views: int = 1
    #: train on the share of K trials that held (label store) instead of the hard label; shards have none
    soft_labels: bool = False
    #: training images drawn per epoch (0: every training image), to bound an epoch's time
    epoch_images: int = 0
    #: label-store training views (data.training_views.ViewParams keys); used with ``train --store``
    views: dict = field(default_factory=dict)
    #: keep what ``init_weights`` knew (learning without forgetting): weight of a cross-entropy between the
    #: initial network's and the trained one's outputs on the batch's poses turned about the object's origin
    #: (any approach direction, as in the floating world); 0: off
    distill_weight: float = 0.0
    unseen_fraction: float = 0.1
    new_image_fraction: float = 0.1
    new_pose_fraction: float = 0.1
    eval_images_per_object: int = 20
    eval_grasps_per_image: int = 32
    device: str = "auto"
    depth_normalization: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {self.architecture!r}")
        for name in ("epochs", "images_per_batch", "grasps_per_image", "eval_images_per_object",
                     "eval_grasps_per_image"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.augment_views not in VIEW_COUNTS:
            raise ValueError(f"augment_views must be 1, 4 or 8, got {self.augment_views!r}")
        if not isinstance(self.epoch_images, int) or self.epoch_images < 0:
            raise ValueError(f"epoch_images must be an integer >= 0, got {self.epoch_images!r}")
        if not self.distill_weight >= 0:
            raise ValueError(f"distill_weight must be >= 0, got {self.distill_weight!r}")
        if self.balance not in ("per_object", "global"):
            raise ValueError(f"balance must be 'per_object' or 'global', got {self.balance!r}")
        DepthNormalization(**self.depth_normalization)  # validates

    @classmethod
    def from_yaml(cls, path, **overrides) -> "TrainConfig":
        """Read a YAML file of TrainConfig keys (None: every default); ``overrides`` that are not None win.

        The file goes through the strict config reader: a malformed or empty file, an unknown key or a
        value of the wrong type (``depth_normalization``'s keys included) raises ConfigError, a
        ValueError whose text is one line naming the file and the key.
        """
        config = cls()
        if path:
            data = config_schema.read_yaml(path, "training", " (or {} for every default)")
            if isinstance(data.get("depth_normalization"), dict):  # its keys, before __post_init__ unpacks them
                config_schema.build(DepthNormalization, data["depth_normalization"], str(path), "depth_normalization")
            config = config_schema.build(cls, data, str(path))
        changes = {key: value for key, value in overrides.items() if value is not None}
        return replace(config, **changes) if changes else config


def json_safe(value):
    """``value`` with NaN floats (a part without samples) replaced by None, for strict JSON."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda if available, else cpu; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: torch sees no CUDA device")
    if name != "cpu" and not name.startswith("cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda[:k], got {name!r}")
    return torch.device(name)


def _to_device(batch: ds.Batch, device: torch.device):
    # channels_last: the layout oneDNN and cuDNN convolutions want (1.34x per CPU step, benchmarks/bench_train.py)
    depth = torch.from_numpy(batch.depth).to(device).contiguous(memory_format=torch.channels_last)
    return (depth, torch.from_numpy(batch.image_index).to(device),
            torch.from_numpy(batch.pose).to(device), torch.from_numpy(batch.target).to(device))


def training_loss(logits: torch.Tensor, batch: ds.Batch, soft: bool, device: torch.device) -> torch.Tensor:
    """Cross-entropy on the hard label, or on the soft one: target distribution (1 - f, f), f = share of trials held."""
    if not soft or batch.soft_target is None:
        return torch.nn.functional.cross_entropy(logits, torch.from_numpy(batch.target).to(device))
    f = torch.from_numpy(batch.soft_target).to(device)
    return torch.nn.functional.cross_entropy(logits, torch.stack([1.0 - f, f], dim=1))


def balanced_accuracy(confusion) -> float:
    """Mean of the per-class recalls (rows: true failed / robust); a class without samples is left out."""
    confusion = np.asarray(confusion, dtype=float)
    totals = confusion.sum(axis=1)
    recalls = [confusion[k, k] / totals[k] for k in range(len(totals)) if totals[k] > 0]
    return float(np.mean(recalls)) if recalls else float("nan")


def evaluate(model: GraspCNN, objects: list[ds.ObjectData], groups: list, pose_encoding: PoseEncoding,
             device: torch.device, images_per_batch: int = 16) -> dict:
    """Accuracy, mean loss, confusion matrix (rows true failed/robust, cols predicted) and per-object accuracy."""
    model.eval()
    confusion = np.zeros((2, 2), dtype=np.int64)
    loss_sum, n = 0.0, 0
    per_object: dict[int, list[int]] = {}
    with torch.no_grad():
        for chunk in ds.batched(groups, images_per_batch):
            batch = ds.make_batch(objects, chunk, pose_encoding)
            depth, index, pose, target = _to_device(batch, device)
            logits = model.forward_grouped(depth, index, pose)
            loss_sum += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            pred = logits.argmax(1).cpu().numpy()
            np.add.at(confusion, (batch.target, pred), 1)
            n += len(pred)
            ds.tally_per_object(per_object, batch.object_position, pred == batch.target)
    return {
        "accuracy": float(np.trace(confusion) / n) if n else float("nan"),
        "balanced_accuracy": balanced_accuracy(confusion),
        "loss": loss_sum / n if n else float("nan"), "samples": n, "confusion": confusion.tolist(),
        "per_object": {objects[i].name: c / t for i, (c, t) in sorted(per_object.items())},
    }


def earlier_run(weights) -> dict:
    """Provenance of fine-tuning: the weights file and, if it sits in a run folder, that run's settings."""
    record = {"weights": str(weights)}
    if Path(weights).suffix == ".onnx":  # an exported model: its card beside it holds the provenance
        card = Path(weights).with_suffix(".json")
        if card.is_file():
            data = json.loads(card.read_text())
            record.update({"model_card": str(card), "code_version": data.get("code_version"),
                           "config": data.get("training", {}).get("settings"),
                           "initialised_from": data.get("training", {}).get("initialised_from"),
                           "results": {k: v for k, v in data.get("metrics", {}).items() if k != "onnx_accuracy"}})
        return record
    config = Path(weights).parent / RUN_CONFIG
    if config.is_file():
        earlier = json.loads(config.read_text())
        record.update({k: earlier[k] for k in ("config", "device", "code_version", "initialised_from")
                       if k in earlier})
    metrics = Path(weights).parent / METRICS
    if metrics.is_file():
        record["results"] = json.loads(metrics.read_text()).get("results")
    return record


def load_initial_weights(model: GraspCNN, path) -> None:
    """Load an earlier run's weights into ``model`` (fine-tuning).

    ValueError in one line naming the file: unreadable, tensors missing, extra or of another shape
    (another architecture or image size), or values that are not finite.
    """
    state = load_state_dict(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} (network: {tuple(v.shape)})" for k, v in own.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = ([f"{len(missing)} tensor(s) missing (e.g. {missing[0]})"] if missing else []) + \
        ([f"{len(extra)} unknown (e.g. {extra[0]})"] if extra else []) + \
        ([f"{len(shapes)} of another shape (e.g. {shapes[0]})"] if shapes else [])
    if problems:
        raise ValueError(f"--init-weights {path} does not fit the {model.architecture} network for "
                         f"{model.input_size[0]}x{model.input_size[1]} images: {'; '.join(problems)}")
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ValueError(f"--init-weights {path}: non-finite values in {len(bad)} tensor(s) (e.g. {bad[0]})")
    model.load_state_dict(state)


def _teacher(model: GraspCNN, config: TrainConfig):
    """A frozen copy of the initial network for ``distill_weight`` (None when off)."""
    if not config.distill_weight:
        return None
    if not config.init_weights:
        raise ValueError("distill_weight needs init_weights: it keeps what the initial network knew")
    import copy
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def train(objects: list[ds.ObjectData], config: TrainConfig, out_dir, progress: bool = True,
          data_source: dict | None = None) -> dict:
    """Train one architecture on in-memory shards; writes the run folder; returns the metrics.

    Parameters
    ----------
    objects : shards (or label-store objects, ``learning.table_dataset``) read with the depth
        normalisation in ``config``.
    config : hyper-parameters and seed.
    out_dir : the run folder (see :mod:`grasp_planner.learning.run_dir`).
    data_source : where the objects came from (store manifest hash, view parameters), for the card.
    """
    out_dir = Path(out_dir)
    (out_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    split = ds.make_split(objects, config.seed, config.min_robust, config.unseen_fraction,
                          config.new_image_fraction, config.new_pose_fraction, config.balance)
    ds.write_split(split, objects, out_dir / "split.json")
    counts = split.counts(objects)
    sizes = {tuple(o.depth.shape[1:]) for o in objects}
    if len(sizes) != 1:
        raise ValueError(f"all depth images must have one size to train on, the database has {sorted(sizes)}")
    input_size = sizes.pop()
    pose_encoding = PoseEncoding(ARCHITECTURES[config.architecture])
    depth_norm = DepthNormalization(**config.depth_normalization)
    run_config = {"architecture": config.architecture, "input_size": list(input_size),
                  "depth_normalization": depth_norm.to_dict(), "pose_encoding": pose_encoding.to_dict(),
                  "seed": config.seed, "config": asdict(config), "data": counts,
                  "code_version": code_version(), "device": str(device),
                  "view_background": (config.views or {}).get("background", "none")}
    if data_source is not None:
        run_config["data_source"] = data_source
    if config.init_weights:
        run_config["initialised_from"] = earlier_run(config.init_weights)
    (out_dir / RUN_CONFIG).write_text(json.dumps(run_config, indent=2) + "\n")

    model = GraspCNN(config.architecture, input_size)
    if config.init_weights:
        load_initial_weights(model, config.init_weights)
    model.to(device, memory_format=torch.channels_last)
    teacher = _teacher(model, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    n_images = sum(len(v) for v in split.train_images.values())
    if config.epoch_images:
        n_images = min(n_images, config.epoch_images)
    steps_per_epoch = -(-n_images // config.images_per_batch)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
                 if config.lr_schedule == "cosine" else None)
    eval_groups = {part: ds.evaluation_groups(split, objects, part, config.seed + 1, config.eval_images_per_object,
                                              config.eval_grasps_per_image) for part in PARTS}
    history = []
    for epoch in range(1, config.epochs + 1):
        model.train()
        groups = ds.training_groups(split, objects, config.grasps_per_image, rng, config.resample_failed)
        if config.epoch_images:
            groups = groups[:config.epoch_images]  # already shuffled: a fresh random subset each epoch
        chunks = list(ds.batched(groups, config.images_per_batch))
        loss_sum, n, start = 0.0, 0, time.perf_counter()
        bar = tqdm(chunks, desc=f"{config.architecture} epoch {epoch}/{config.epochs}", disable=not progress)
        for chunk in bar:
            views = rng.integers(0, config.augment_views, len(chunk)) if config.augment_views > 1 else None
            batch = ds.make_batch(objects, chunk, pose_encoding, views=views)
            depth, index, pose, target = _to_device(batch, device)
            if teacher is None:
                loss = training_loss(model.forward_grouped(depth, index, pose), batch, config.soft_labels, device)
            else:
                turned = ds.make_batch(objects, chunk, pose_encoding, views=views,
                                       hand_turns=Rotation.random(len(batch.target), rng).as_matrix())
                turned_pose = torch.from_numpy(turned.pose).to(device)
                logits = model.forward_grouped(depth, torch.cat([index, index]), torch.cat([pose, turned_pose]))
                n_labelled = len(batch.target)
                with torch.no_grad():
                    kept = torch.softmax(teacher.forward_grouped(depth, index, turned_pose), dim=1)
                loss = training_loss(logits[:n_labelled], batch, config.soft_labels, device) + \
                    config.distill_weight * torch.nn.functional.cross_entropy(logits[n_labelled:], kept)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += float(loss.detach()) * len(target)
            n += len(target)
            bar.set_postfix(loss=f"{loss_sum / n:.4f}")
        seconds = time.perf_counter() - start
        scores = {part: evaluate(model, objects, g, pose_encoding, device) for part, g in eval_groups.items()}
        history.append({"epoch": epoch, "batch_loss": loss_sum / max(n, 1), "samples": n,
                        "samples_per_s": n / seconds if seconds > 0 else None,
                        **{f"{p}_accuracy": s["accuracy"] for p, s in scores.items()},
                        **{f"{p}_balanced_accuracy": s["balanced_accuracy"] for p, s in scores.items()},
                        **{f"{p}_loss": s["loss"] for p, s in scores.items()}})
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
                   out_dir / "checkpoints" / f"epoch_{epoch:03d}.pt")
        if progress:
            tqdm.write(f"epoch {epoch}: batch loss {history[-1]['batch_loss']:.4f}, " + ", ".join(
                f"{p} acc {s['accuracy']:.3f}" for p, s in scores.items()))
    torch.save(model.state_dict(), out_dir / WEIGHTS)
    results = {"architecture": config.architecture, "seen_new_images": scores["new_images"]["accuracy"],
               "seen_new_poses": scores["new_poses"]["accuracy"], "unseen": scores["unseen"]["accuracy"],
               "train": scores["train"]["accuracy"], "unseen_balanced": scores["unseen"]["balanced_accuracy"],
               "epochs": config.epochs, "seed": config.seed}
    metrics = {"results": results, "final": scores, "history": history, "data": counts}
    (out_dir / METRICS).write_text(json.dumps(json_safe(metrics), indent=2) + "\n")
    from grasp_planner.learning.plots import plot_run
    plot_run(metrics, out_dir)
    return metrics
