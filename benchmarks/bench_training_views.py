"""Is image synthesis the bottleneck? Training views/s (render, noise, normalize_view) vs training images/s.

One process, one torch thread, on the label store's first objects:

    python benchmarks/bench_training_views.py [--objects 5] [--views 4] [--steps 5] [--out out/bench_views.json]

The training step is the table config's (16 images x 16 poses, rot6d, CPU). When views/s is well
below images/s, views are cached (data.training_views) and rendered once on many cores.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from grasp_planner.data.label_store import read_batch, read_manifest
from grasp_planner.data.training_views import ViewParams, training_view
from grasp_planner.learning.model import GraspCNN


def views_per_second(n_objects: int, n_views: int, background: str) -> float:
    manifest = read_manifest("datasets/labels")
    arrays = read_batch("datasets/labels", manifest["batches"][0]).arrays
    params = ViewParams(background=background)
    start = time.perf_counter()
    for row in tqdm(range(n_objects), desc=f"views ({background})"):
        for view in range(n_views):
            training_view(manifest["seed"], arrays, row, view, params)
    return n_objects * n_views / (time.perf_counter() - start)


def images_per_second(steps: int, images: int = 16, grasps: int = 16) -> float:
    torch.manual_seed(0)
    model = GraspCNN("rot6d", (128, 128)).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), 3e-4)
    depth = torch.randn(images, 1, 128, 128).contiguous(memory_format=torch.channels_last)
    index = torch.arange(images).repeat_interleave(grasps)
    pose, target = torch.randn(images * grasps, 9), torch.randint(0, 2, (images * grasps,))
    times = []
    for _ in tqdm(range(steps + 1), desc="training steps"):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model.forward_grouped(depth, index, pose), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return images / float(np.median(times[1:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = {"views_per_s_none": views_per_second(args.objects, args.views, "none"),
              "views_per_s_table": views_per_second(args.objects, args.views, "table"),
              "train_images_per_s": images_per_second(args.steps)}
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
