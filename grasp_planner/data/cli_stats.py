"""``grasp-planner stats DIR --png out.png``: label counts, grasps per object, example images with grasps drawn."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from grasp_planner.data.shards import LABEL_NAMES, ShardError, finished_shards, read_shard

#: colours of the labels in the picture (failed, loose, robust)
LABEL_COLOURS = ("tab:red", "tab:orange", "tab:green")
#: length of the drawn approach arrow, m
ARROW_M = 0.03


def add_arguments(parser) -> None:
    parser.add_argument("dataset", help="dataset folder written by 'grasp-planner generate'")
    parser.add_argument("--png", default=None, help="write the picture here (default <dataset>/stats.png)")
    parser.add_argument("--examples", type=int, default=6, help="example depth images to draw")
    parser.add_argument("--seed", type=int, default=0, help="which examples are drawn")


def grasp_in_image(T_cam_obj: np.ndarray, T_obj_hand: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``[[u0, v0], [u1, v1]]`` of the hand origin and of a point ``ARROW_M`` along +z (approach).

    Uses the pairing rule ``T_cam_hand = T_cam_obj @ T_obj_hand``; camera is ``fx, fy, cx, cy, w, h``.
    """
    from grasp_planner.camera import PinholeCamera

    T = T_cam_obj @ T_obj_hand
    points = np.array([T[:3, 3], T[:3, 3] + ARROW_M * T[:3, 2]])
    u, v, _ = PinholeCamera.from_array(camera).project(points)
    return np.column_stack([u, v])


def run(args) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    paths = finished_shards(args.dataset)
    if not paths:
        print(f"stats: no finished shards under {Path(args.dataset) / 'shards'}", file=sys.stderr)
        return 2
    shards, bad = [], []
    for path in paths:
        try:
            shards.append(read_shard(path, images=False))
        except ShardError as exc:
            bad.append(str(exc))
    counts = np.zeros(3, dtype=int)
    per_object = []
    for s in shards:
        c = np.bincount(s.label.astype(int), minlength=3)
        counts += c
        per_object.append(c)
    per_object = np.array(per_object).reshape(-1, 3)
    total = max(counts.sum(), 1)
    print(f"{len(shards)} shards, {counts.sum()} grasps, {sum(len(s.T_cam_obj) for s in shards)} images")
    for name, n in zip(LABEL_NAMES, counts):
        print(f"  {name:7s} {n:8d}  {100 * n / total:5.1f} %")
    print(f"  objects with >= 10 robust grasps: {(per_object[:, 2] >= 10).sum()} of {len(shards)}")
    for message in bad:
        print(f"  unreadable: {message}")

    rng = np.random.default_rng(args.seed)
    candidates = [s for s in shards if len(s.label) and len(s.T_cam_obj)] or shards
    examples = [candidates[i] for i in rng.choice(len(candidates), min(args.examples, len(candidates)),
                                                  replace=False)]
    cols = max(len(examples), 2)
    fig, axes = plt.subplots(2, cols, figsize=(3.2 * cols, 6.4), squeeze=False)
    axes[0, 0].bar(LABEL_NAMES, counts, color=LABEL_COLOURS)
    axes[0, 0].set_title("grasps per label")
    axes[0, 1].hist(per_object.sum(axis=1), bins=20, color="grey", label="all")
    axes[0, 1].hist(per_object[:, 2], bins=20, color="tab:green", alpha=0.7, label="robust")
    axes[0, 1].set_title("grasps per object")
    axes[0, 1].legend()
    for ax in axes[0, 2:]:
        ax.axis("off")
    for ax, meta in zip(axes[1], examples):
        ax.axis("off")
        try:
            shard = read_shard(meta.path)
        except (ShardError, OSError, ValueError) as exc:  # corrupt image bytes: name the shard, carry on
            print(f"stats: {meta.path}: images unreadable ({str(exc).splitlines()[0]}); not drawn", file=sys.stderr)
            continue
        m = int(rng.integers(len(shard.T_cam_obj)))
        depth = np.where(shard.depth[m] > 0, shard.depth[m], np.nan)
        ax.imshow(depth, cmap="viridis")
        for g in range(len(shard.label)):
            (u0, v0), (u1, v1) = grasp_in_image(shard.T_cam_obj[m], shard.T_obj_hand[g], shard.cameras[m])
            colour = LABEL_COLOURS[int(shard.label[g])]
            ax.plot(u0, v0, "o", color=colour, ms=3)
            ax.annotate("", xy=(u1, v1), xytext=(u0, v0), arrowprops=dict(arrowstyle="->", color=colour, lw=0.8))
        ax.set_xlim(0, shard.depth.shape[2] - 1)
        ax.set_ylim(shard.depth.shape[1] - 1, 0)
        ax.set_title(f"{shard.object_name} view {m}", fontsize=8)
    for ax in axes[1, len(examples):]:
        ax.axis("off")
    fig.suptitle("hand origin + approach arrow: green robust, orange loose, red failed", fontsize=9)
    png = save_figure(fig, Path(args.png) if args.png else Path(args.dataset) / "stats.png")
    print(f"wrote {png}")
    return 0
