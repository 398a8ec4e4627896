"""Would more training of the upper layers, or more objects, raise the unseen accuracy? A CPU probe.

Full training on this 2-core CPU costs ~15 min an epoch, almost all of it in the first two
convolutions (conv2 alone is ~80% of the encoder's multiply-adds). This probe keeps the first
``--frozen-stages`` conv+pool stages of a trained network fixed, computes their outputs once for every
image it needs (float16, cached on disk under ``--cache``, a file per database), and fine-tunes only the rest (remaining
convolutions and the head). An epoch then takes about a minute, so questions like "is the network
still under-trained?" or "do the objects of another database help?" are answered in minutes.

The std split is rebuilt from the card's training settings, so the evaluation samples are the trainer's
(``new_images``, ``new_poses``, ``unseen``); ``--fresh`` databases are scored like
``eval_model_accuracy.py --all-unseen``; ``--extra`` databases join training (every object with a
robust and a failed grasp; a fresh set must then not be the same database).

    python benchmarks/upper_layer_probe.py --data datasets/std --weights runs/finetune/model.pt \
        --extra datasets/unseen_seed1 --fresh datasets/unseen_seed2 --epochs 3 --cosine \
        --out out/upper_layer_probe
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eval_model_accuracy import parts_from_written_split
from grasp_planner.learning import dataset as ds
from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ModelCard
from grasp_planner.learning.train import load_initial_weights
from grasp_planner.plotting import save_figure

STD_PARTS = ("train", "new_images", "new_poses", "unseen")
LAYERS_PER_STAGE = 3  # conv, ReLU, max-pool (model.DepthEncoder)


class FrozenStages:
    """Outputs of the network's first stages for (object position, image) keys, computed once.

    One float16 array per database, kept apart (joining them would copy the 3.3 GB of the standard
    split once more); ``tail`` is the rest of the encoder, the part that trains.
    """

    def __init__(self, model: GraspCNN, stages: int):
        if not 1 <= stages <= 3:
            raise ValueError(f"--frozen-stages must be 1, 2 or 3 (the fourth stage is the encoder's last), "
                             f"got {stages}")
        self.prefix = model.encoder.layers[:LAYERS_PER_STAGE * stages].eval()
        self.tail = model.encoder.layers[LAYERS_PER_STAGE * stages:]
        self.rows: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (array, row)
        self.arrays: list[np.ndarray] = []

    def add(self, objects: list[ds.ObjectData], offset: int, keys: list[tuple[int, int]], cache_file: Path) -> None:
        """Add one database's ``(object, image)`` keys (positions from ``offset``): read from ``cache_file`` if it
        holds exactly these keys, else computed (and written there)."""
        key_file = cache_file.with_suffix(".keys.npy")
        if cache_file.is_file() and key_file.is_file() and np.array_equal(np.load(key_file), np.asarray(keys)):
            array = np.load(cache_file)
        else:
            with torch.no_grad():
                shape = self.prefix(torch.zeros(1, 1, *objects[offset].depth.shape[1:])).shape[1:]
                array = np.empty((len(keys), *shape), np.float16)
                for start in tqdm(range(0, len(keys), 64), desc=f"frozen stages of {cache_file.stem}"):
                    depth = np.stack([objects[offset + i].depth[m] for i, m in keys[start:start + 64]])[:, None]
                    array[start:start + 64] = self.prefix(torch.from_numpy(depth)).numpy()
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache_file, array)
            np.save(key_file, np.asarray(keys))
        self.rows.update({(offset + i, m): (len(self.arrays), r) for r, (i, m) in enumerate(keys)})
        self.arrays.append(array)

    def features(self, groups) -> torch.Tensor:
        """Encoder features (B, F) of the groups' images: the cached stages, then the trainable tail."""
        cached = np.stack([self.arrays[a][r] for a, r in (self.rows[(i, m)] for i, m, _ in groups)])
        return torch.flatten(self.tail(torch.from_numpy(cached.astype(np.float32))), 1)


def logits_and_targets(model, cache: FrozenStages, objects, groups, encoding):
    """Scores of a batch of ``(object position, image, grasps)`` groups from the cached activations."""
    batch = ds.make_batch(objects, groups, encoding, with_depth=False)
    features = cache.features(groups)
    logits = model.head(features[torch.from_numpy(batch.image_index)], torch.from_numpy(batch.pose))
    return logits, torch.from_numpy(batch.target)


def accuracy(model, cache, objects, groups, encoding) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for chunk in ds.batched(groups, 64):
            logits, target = logits_and_targets(model, cache, objects, chunk, encoding)
            correct += int((logits.argmax(1) == target).sum())
            total += len(target)
    model.train()
    return correct / total


def extra_training_groups(objects, positions, rng, per_label: int = 8):
    """Every image of every extra object with up to ``per_label`` robust grasps and as many failed ones."""
    groups = []
    for i in positions:
        obj = objects[i]
        n = min(len(obj.robust), len(obj.failed), per_label)
        for m in range(len(obj.depth)):
            groups.append((i, m, np.concatenate([rng.choice(obj.robust, n, replace=False),
                                                 rng.choice(obj.failed, n, replace=False)])))
    return groups


def plot(history: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for part in history[0]["accuracy"]:
        ax.plot([h["epoch"] for h in history], [h["accuracy"][part] for h in history], "o-", label=part)
    ax.axhline(0.9, color="grey", lw=0.8, ls=":", label="goal 0.90")
    ax.set(xlabel="epoch (0: the weights as given)", ylabel="accuracy (balanced samples)",
           title="fine-tuning above the frozen stages")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the database the weights were trained on")
    parser.add_argument("--model", type=Path, default=Path("models/grasp_cnn.json"),
                        help="model card: architecture, normalisation and the split's settings")
    parser.add_argument("--weights", type=Path, required=True, help="torch state dict of that model (model.pt)")
    parser.add_argument("--frozen-stages", type=int, default=2, dest="frozen_stages")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="databases that join training")
    parser.add_argument("--fresh", type=Path, nargs="*", default=[], help="test-only databases (all objects unseen)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--cosine", action="store_true", help="cosine decay of the learning rate to 0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("out/cache"))
    parser.add_argument("--out", type=Path, default=Path("out/upper_layer_probe"))
    args = parser.parse_args()
    if set(args.extra) & set(args.fresh):
        parser.error("a database cannot be both --extra (trained on) and --fresh (tested on)")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    card = ModelCard.load(args.model)
    settings = card.training["settings"]
    objects = ds.load_database(args.data, card.depth_normalization)
    split = ds.make_split(objects, settings["seed"], settings["min_robust"], settings["unseen_fraction"],
                          settings["new_image_fraction"], settings["new_pose_fraction"], settings["balance"])
    parts = {part: ds.evaluation_groups(split, objects, part, settings["seed"] + 1) for part in STD_PARTS}
    keys = {args.data: (0, [(i, m) for i in split.seen + split.unseen for m in range(len(objects[i].depth))])}
    extra_positions = []
    for kind, folders in (("extra", args.extra), ("fresh", args.fresh)):
        for folder in folders:
            offset = len(objects)
            more = ds.load_database(folder, card.depth_normalization)
            objects += more
            usable = [i for i, o in enumerate(more) if len(o.robust) and len(o.failed)]
            keys[folder] = (offset, [(i, m) for i in usable for m in range(len(more[i].depth))])
            if kind == "extra":
                extra_positions += [offset + i for i in usable]
            else:
                groups = parts_from_written_split(more, {"seen": []}, settings["seed"], 20)["unseen"]
                parts[f"fresh:{folder.name}"] = [(offset + i, m, g) for i, m, g in groups]

    model = GraspCNN(card.architecture, tuple(card.input_size))
    load_initial_weights(model, args.weights)  # names the file if it is not this architecture's
    cache = FrozenStages(model, args.frozen_stages)
    tag = hashlib.sha256(args.weights.read_bytes()).hexdigest()[:12]
    for folder, (offset, database_keys) in keys.items():
        cache.add(objects, offset, database_keys, args.cache / f"stages{args.frozen_stages}_{tag}_{folder.name}.npy")

    optimizer = torch.optim.Adam(list(cache.tail.parameters()) + list(model.head.parameters()), lr=args.lr)
    epochs = [ds.training_groups(split, objects, 16, rng, resample_failed=True)
              + extra_training_groups(objects, extra_positions, rng) for _ in range(args.epochs)]
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, sum(-(-len(g) // 16) for g in epochs))
                if args.cosine else None)

    def scores():
        return {p: accuracy(model, cache, objects, g, card.pose_encoding) for p, g in parts.items()}
    history = [{"epoch": 0, "accuracy": scores(), "seconds": 0.0}]
    print("epoch 0:", {p: f"{a:.3f}" for p, a in history[0]["accuracy"].items()}, flush=True)
    for epoch, groups in enumerate(epochs, start=1):
        groups = [groups[k] for k in rng.permutation(len(groups))]
        start = time.perf_counter()
        for chunk in tqdm(list(ds.batched(groups, 16)), desc=f"epoch {epoch}/{args.epochs}"):
            logits, target = logits_and_targets(model, cache, objects, chunk, card.pose_encoding)
            loss = torch.nn.functional.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
        seconds = time.perf_counter() - start
        history.append({"epoch": epoch, "accuracy": scores(), "seconds": seconds})
        print(f"epoch {epoch} ({seconds:.0f} s):", {p: f"{a:.3f}" for p, a in history[-1]["accuracy"].items()},
              flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "model.pt")
    (args.out / "probe.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                     "history": history}, indent=1) + "\n")
    plot(history, args.out / "probe.png")
    print(f"wrote {args.out / 'probe.json'}, {args.out / 'probe.png'} and the weights {args.out / 'model.pt'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
