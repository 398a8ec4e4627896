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
    for key, name in (("no_pose", "no-pose planner"), ("heuristic", "heuristic (no network)")):
        if summary.get(key, {}).get("n"):     # the same scene images, planned another way
            labels.append(name)
            rows.append(summary[key])
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


def reliability_bins(probabilities, successes, n_bins: int = 10) -> list[dict]:
    """Predicted probability against observed success, in ``n_bins`` equal-width bins of [0, 1].

    Why: "OK" (p >= min_probability) only means something if p tracks how often the grasp holds.
    NaN probabilities (nothing planned) are left out; p = 1 falls in the last bin. Each bin gives
    ``lo, hi, n, mean_probability, success_rate`` and the 95% Wilson interval of the rate
    (``ci95``; ``(0, 1)`` for an empty bin, whose mean and rate are NaN).
    """
    from grasp_planner.planning.table_protocol import wilson_interval

    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    p = np.asarray(probabilities, dtype=float).ravel()
    hit = np.asarray(successes, dtype=bool).ravel()
    if p.shape != hit.shape:
        raise ValueError(f"{p.size} probabilities but {hit.size} outcomes")
    keep = np.isfinite(p)
    if np.any((p[keep] < 0) | (p[keep] > 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    p, hit = p[keep], hit[keep]
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, int(n_bins) - 1)
    bins = []
    for b in range(int(n_bins)):
        inside = index == b
        n, k = int(inside.sum()), int(hit[inside].sum())
        bins.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n, "successes": k,
                     "mean_probability": float(p[inside].mean()) if n else float("nan"),
                     "success_rate": k / n if n else float("nan"), "ci95": wilson_interval(k, n)})
    return bins


def expected_calibration_error(bins: list[dict]) -> float:
    """Mean |success rate - mean probability| over the bins, weighted by their counts."""
    total = sum(b["n"] for b in bins)
    if total == 0:
        return float("nan")
    return float(sum(b["n"] * abs(b["success_rate"] - b["mean_probability"]) for b in bins if b["n"]) / total)


def plot_reliability(curves: dict, path, title: str = "reliability on the table-world scene evaluation") -> Path:
    """One line per model: ``curves`` maps a label to :func:`reliability_bins`'s output."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    fig, (ax, bar) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1.3, 1]})
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfect calibration")
    width = 0.8 / max(len(curves), 1)
    for k, (label, bins) in enumerate(curves.items()):
        full = [b for b in bins if b["n"]]
        x = np.array([b["mean_probability"] for b in full])
        y = np.array([b["success_rate"] for b in full])
        low = np.clip(y - np.array([b["ci95"][0] for b in full]), 0, None)   # rounding: never below 0
        high = np.clip(np.array([b["ci95"][1] for b in full]) - y, 0, None)
        ax.errorbar(x, y, yerr=[low, high], fmt="o-", capsize=3,
                    label=f"{label} (ECE {expected_calibration_error(bins):.2f})")
        centres = np.array([(b["lo"] + b["hi"]) / 2 for b in bins])
        step = bins[0]["hi"] - bins[0]["lo"]
        bar.bar(centres + (k - (len(curves) - 1) / 2) * width * step, [b["n"] for b in bins],
                width * step, label=label)
    ax.set(xlabel="predicted robust probability of the best grasp", ylabel="robust after 10 shakes (table world)",
           xlim=(0, 1), ylim=(-0.02, 1.02), title=title)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)
    bar.set(xlabel="predicted probability", ylabel="grasps", title="grasps per bin")
    bar.legend(fontsize=7)
    bar.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)
