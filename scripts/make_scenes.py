#!/usr/bin/env python3
"""Rebuild the bundled demo scenes (grasp_planner/data/scenes/*.npz) from one seed, plus a preview PNG.

    python scripts/make_scenes.py [--seed 8] [--out grasp_planner/data/scenes]

Each scene: a procedural object unseen in training (seed 9001) on a table, neighbours, a 640x480
camera (fx = 615 px) 0.45-0.6 m away; the set covers tilts 0-45 deg, one noisy scene with holes and
one with two neighbours. The preview shows each camera image next to the network's virtual view.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from grasp_planner.perception.noise import SensorNoise
from grasp_planner.perception.scenes import SCENES_DIR, graspable_object_ids, load_scene, make_scene, save_scene
from grasp_planner.perception.view import normalize_view
from grasp_planner.plotting import save_figure

#: name, tilt (deg), distance (m), neighbours, noise
SPECS = (
    ("scene_00_top_down", 0.0, 0.50, 1, None),
    ("scene_01_tilt30", 30.0, 0.60, 1, SensorNoise()),
    ("scene_02_tilt45_noise_holes", 45.0, 0.55, 1, SensorNoise(k=0.003, hole_fraction=0.10)),
    ("scene_03_two_neighbours", 20.0, 0.45, 2, SensorNoise()),
)


def write_preview(paths: list[Path], png: Path) -> None:
    """Camera depth (mm) and the normalised view of each scene, one row per scene."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(paths), 2, figsize=(8, 3 * len(paths)))
    for row, path in zip(np.atleast_2d(axes), paths):
        scene = load_scene(path)
        view = normalize_view(scene.depth_mm(), scene.camera, scene.initial_pose)
        shown = np.where(scene.depth > 0, scene.depth, np.nan)
        row[0].imshow(shown, cmap="viridis")
        u, v, _ = scene.camera.project(scene.initial_pose.translation[None])
        row[0].plot(u, v, "r+", ms=12)
        row[0].set_title(f"{path.stem}\n{len(view.clusters)} clusters, target {view.target_index}", fontsize=8)
        row[1].imshow(np.where(view.depth > 0, view.depth, np.nan), cmap="viridis")
        row[1].set_title(f"virtual {view.depth.shape[1]}x{view.depth.shape[0]}, splat {view.splat}", fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    save_figure(fig, png, dpi=55)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path, default=SCENES_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    pool = graspable_object_ids(12)
    paths = []
    for name, tilt, distance, neighbours, noise in SPECS:
        ids = [pool[i] for i in rng.choice(len(pool), 1 + neighbours, replace=False)]
        scene = make_scene(rng, tilt_deg=tilt, distance=distance, n_neighbours=neighbours, noise=noise,
                           object_ids=ids)
        path = args.out / f"{name}.npz"
        save_scene(scene, path)
        paths.append(path)
        print(f"{path.name}: {os.path.getsize(path) / 1024:.0f} KB  {scene.description}")
    write_preview(paths, args.out / "preview.png")
    print(f"preview: {args.out / 'preview.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
