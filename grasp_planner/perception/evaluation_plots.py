"""The real-camera evaluation's picture: success by tilt and noise (matplotlib lives here, not in evaluate)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grasp_planner.perception.evaluate import CLEAN


def plot_success(summary: dict, path) -> Path:
    """Success vs tilt (one line per noise level) and vs noise level, the clean case as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    noises = list(summary["per_noise"])
    tilts = list(summary["per_tilt"])
    clean = summary["clean"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    x = [float(t) for t in tilts]
    for c, n in zip(colours, noises):
        cells = [summary["per_tilt_noise"][f"{t}|{n}"] for t in tilts]
        ax.plot(x, [r["robust_10_shakes"] for r in cells], "o-", color=c, label=f"{n}: 10 shakes")
        ax.plot(x, [r["robust_1_shake"] for r in cells], "s:", color=c, alpha=0.6, label=f"{n}: 1 shake")
    if clean.get("n"):
        ax.axhline(clean["robust_10_shakes"], color="k", ls="--", lw=1, label=f"{CLEAN}: 10 shakes")
        ax.axhline(clean["robust_1_shake"], color="grey", ls="--", lw=1, label=f"{CLEAN}: 1 shake")
    n_cell = summary["per_tilt_noise"][f"{tilts[0]}|{noises[0]}"]["n"] if tilts and noises else 0
    ax.set(xlabel="camera tilt from straight down (deg)", ylabel="success rate", ylim=(-0.02, 1.02),
           xticks=x, title=f"success vs tilt ({n_cell} scenes per point)")
    ax.legend(fontsize=7, loc="center", bbox_to_anchor=(0.5, 0.55), ncol=2)
    ax.grid(alpha=0.3)

    ax = axes[1]
    labels = noises + ([CLEAN] if clean.get("n") else [])
    rows = [summary["per_noise"][n] for n in noises] + ([clean] if clean.get("n") else [])
    pos = np.arange(len(labels))
    ax.bar(pos - 0.2, [r["robust_1_shake"] for r in rows], 0.4, label="robust after 1 shake")
    ax.bar(pos + 0.2, [r["robust_10_shakes"] for r in rows], 0.4, label="robust after 10 shakes")
    for p, r in zip(pos, rows):
        ax.text(p, 0.97, f"n={r['n']}", ha="center", va="bottom", fontsize=7)
        for dx, key in ((-0.2, "robust_1_shake"), (0.2, "robust_10_shakes")):
            ax.text(p + dx, r[key] + 0.01, f"{r[key]:.0%}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(pos)
    ax.set_xticklabels([lab.replace(" ", "\n", 1) for lab in labels], fontsize=8)
    ax.set(ylabel="success rate", ylim=(0, 1.08), title="success vs noise level (all tilts)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(0.0, 0.6))
    ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)
