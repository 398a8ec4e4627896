"""Training throughput: image-grouped batches vs a naive per-sample encoder pass, in the same run.

Both arms run the same training step (Adam, cross-entropy, paper architecture, 64 samples per step,
batches cut from in-memory shards by ``dataset.make_batch``) on rendered depth images of a small
synthetic database:

* naive:   64 (image, pose) samples, each with its own encoder pass (64 images x 1 pose);
* grouped: the same 64 samples as 4 images x 16 poses, one encoder pass per image (the trainer's default
  on CPU is 8 x 16); also 1 image x 64 poses;
* layout: 16 images x 4 poses with the default (NCHW) memory layout against ``channels_last`` (NHWC),
  the layout the trainer uses (oneDNN's and cuDNN's fast convolutions want it).

Prints samples/s per arm, the ratio grouped/naive, and the time ``make_batch`` takes per batch
(the data loading a GPU would wait on). Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_train.py --steps 10 --threads 1 [--device cpu|cuda] [--png out.png]
"""
from __future__ import annotations

import argparse
import tempfile
import sys
import time
from pathlib import Path

import numpy as np
import torch

from grasp_planner.learning.dataset import load_database, make_batch, make_split
from grasp_planner.contract.features import DepthNormalization, PoseEncoding
from grasp_planner.learning.model import GraspCNN
from grasp_planner.learning.train import resolve_device
from grasp_planner.plotting import save_figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the tests' scaffolding
from synthetic_db import write_synthetic_database  # noqa: E402

SAMPLES_PER_STEP = 64


def make_groups(split, objects, rng, images: int, poses: int):
    """``images`` training images of random seen objects, each with ``poses`` training poses."""
    groups = []
    for _ in range(images):
        i = split.seen[rng.integers(len(split.seen))]
        m = int(rng.choice(split.train_images[i]))
        groups.append((i, m, rng.choice(split.train_grasps[i], poses, replace=True)))
    return groups


def measure(model, optimizer, objects, split, encoding, device, images, poses, steps, seed,
            memory_format=torch.contiguous_format):
    """(samples/s of whole training steps incl. batch assembly, mean ms of make_batch)."""
    model.to(memory_format=memory_format)
    rng = np.random.default_rng(seed)
    batches = [make_groups(split, objects, rng, images, poses) for _ in range(steps + 2)]
    load_s, start = 0.0, None
    for k, groups in enumerate(batches):
        if k == 2:  # two warm-up steps
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, load_s = time.perf_counter(), 0.0
        t0 = time.perf_counter()
        batch = make_batch(objects, groups, encoding)
        load_s += time.perf_counter() - t0
        depth = torch.from_numpy(batch.depth).to(device).contiguous(memory_format=memory_format)
        index = torch.from_numpy(batch.image_index).to(device)
        pose = torch.from_numpy(batch.pose).to(device)
        target = torch.from_numpy(batch.target).to(device)
        loss = torch.nn.functional.cross_entropy(model.forward_grouped(depth, index, pose), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return steps * SAMPLES_PER_STEP / elapsed, 1e3 * load_s / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed steps per arm (after 2 warm-up steps)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", help="also write a bar chart here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_database(tmp, n_objects=4, images_per_object=8, grasps_per_object=60, seed=args.seed)
        objects = load_database(tmp, DepthNormalization(), progress=False)
    split = make_split(objects, args.seed)
    encoding = PoseEncoding("rpy")
    model = GraspCNN("paper").to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    nchw, nhwc = torch.contiguous_format, torch.channels_last
    arms = {"naive 64 img x 1": (64, 1, nchw), "grouped 4 img x 16": (4, 16, nchw),
            "grouped 1 img x 64": (1, 64, nchw), "16 img x 4, NCHW": (16, 4, nchw),
            "16 img x 4, NHWC": (16, 4, nhwc)}
    results = {}
    print(f"device {device}, torch threads {torch.get_num_threads()}, {args.steps} steps of "
          f"{SAMPLES_PER_STEP} samples per arm, torch {torch.__version__}")
    for name, (images, poses, layout) in arms.items():
        rate, load_ms = measure(model, optimizer, objects, split, encoding, device, images, poses, args.steps,
                                args.seed, layout)
        results[name] = rate
        print(f"{name:22s} {rate:9.1f} samples/s   make_batch {load_ms:6.2f} ms/batch")
    base = results["naive 64 img x 1"]
    for name, rate in results.items():
        if name.startswith("grouped"):
            print(f"ratio {name} / naive: {rate / base:.1f}x")
    print(f"ratio channels_last / default layout (16 img x 4): "
          f"{results['16 img x 4, NHWC'] / results['16 img x 4, NCHW']:.2f}x")
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.bar(list(results), list(results.values()))
        ax.set(ylabel="training samples/s", title=f"mix-in CNN training throughput ({device})")
        save_figure(fig, args.png, dpi=100)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
