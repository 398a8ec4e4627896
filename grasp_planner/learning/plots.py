"""Pictures of a training run (matplotlib, Agg): curves, confusion matrices, accuracy per object."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from grasp_planner.plotting import save_figure  # noqa: E402

PART_TITLES = {"train": "training images/poses", "new_images": "seen objects, new images",
               "new_poses": "seen objects, new poses", "unseen": "unseen objects"}


def plot_run(metrics: dict, out_dir) -> list[Path]:
    """Write curves.png, confusion.png and accuracy_per_object.png into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    history, final = metrics["history"], metrics["final"]
    epochs = [h["epoch"] for h in history]
    paths = []

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["batch_loss"] for h in history], "o-", label="training batches (during the epoch)")
    for part in final:
        ax_loss.plot(epochs, [h[f"{part}_loss"] for h in history], ".--", label=PART_TITLES.get(part, part))
        ax_acc.plot(epochs, [h[f"{part}_accuracy"] for h in history], "o-", label=PART_TITLES.get(part, part))
    ax_acc.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy (balanced samples)", ylim=(0, 1))
    ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8)
    paths.append(save_figure(fig, out_dir / "curves.png", dpi=100))

    fig, axes = plt.subplots(1, len(final), figsize=(3.2 * len(final), 3.2))
    for ax, (part, score) in zip(np.atleast_1d(axes), final.items()):
        conf = np.asarray(score["confusion"])
        ax.imshow(conf, cmap="Blues")
        for (r, c), value in np.ndenumerate(conf):
            ax.text(c, r, str(value), ha="center", va="center")
        ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["failed", "robust"], yticklabels=["failed", "robust"],
               xlabel="predicted", ylabel="true", title=f"{PART_TITLES.get(part, part)}\nacc {score['accuracy']:.3f}")
    paths.append(save_figure(fig, out_dir / "confusion.png", dpi=100))

    fig, ax = plt.subplots(figsize=(10, 4))
    offset = 0
    for part in ("new_images", "unseen"):
        per_object = final.get(part, {}).get("per_object", {})
        if per_object:
            xs = np.arange(offset, offset + len(per_object))
            ax.bar(xs, list(per_object.values()), label=PART_TITLES[part])
            offset += len(per_object) + 1
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set(xlabel="object (seen: new images, then unseen)", ylabel="accuracy", ylim=(0, 1),
           title="accuracy per object")
    ax.legend(fontsize=8)
    paths.append(save_figure(fig, out_dir / "accuracy_per_object.png", dpi=100))
    return paths


def plot_comparison(results: list[dict], path) -> Path:
    """Bar chart of the results table (one group per split part, one bar per architecture)."""
    parts = ["seen_new_images", "seen_new_poses", "unseen"]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(results), 1)
    for k, res in enumerate(results):
        ax.bar(np.arange(len(parts)) + k * width, [res[p] for p in parts], width, label=res["architecture"])
    ax.set_xticks(np.arange(len(parts)) + width * (len(results) - 1) / 2, [p.replace("_", " ") for p in parts])
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set(ylabel="accuracy", ylim=(0, 1), title="mix-in CNN accuracy by architecture")
    ax.legend()
    return save_figure(fig, path, dpi=100)
