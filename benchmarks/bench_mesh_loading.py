"""Mesh loading: refusal rate, time per mesh and volume kept, the vertex-clustering loader against the current one.

Builds ~30 varied closed meshes of 2,050-2,850 faces of everyday non-convex objects (tori, L-blocks,
mugs, banana-like bent tubes, random unions, thin plates; test/awkward_meshes.py) plus a few large
ones, writes them as OBJ/STL/PLY/OFF in turn, and loads each with both loaders in the same run. The
baseline is ``grasp_planner/data/mesh_loader.py`` as of ``--baseline-rev`` (the last commit with the
home-made vertex clustering), read with ``git show`` and imported from a temporary file.

    python benchmarks/bench_mesh_loading.py            # 30 everyday meshes + 3 large (82k, 328k, 500k faces)
    python benchmarks/bench_mesh_loading.py --count 60 --large 0
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "test"))

import numpy as np  # noqa: E402
import trimesh  # noqa: E402

import awkward_meshes  # noqa: E402
from grasp_planner.data import mesh_loader  # noqa: E402
from grasp_planner.data.objects import is_watertight, mesh_volume_centroid  # noqa: E402

#: the last commit whose mesh_loader.py decimated by vertex clustering
BASELINE_REV = "57f606f"
FORMATS = (".obj", ".stl", ".ply", ".off")


def baseline_loader(rev: str, folder: Path):
    """The mesh_loader module as of ``rev``, imported from a temporary file."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:grasp_planner/data/mesh_loader.py"],
                            check=True, capture_output=True, text=True).stdout
    path = folder / "mesh_loader_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("mesh_loader_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def build_set(count: int, seed: int, large: int) -> list[tuple[str, trimesh.Trimesh]]:
    meshes = awkward_meshes.everyday_set(count, seed=seed)
    bigger = [("large_sphere_82k", lambda: awkward_meshes.fine_sphere(6)),
              ("large_sphere_328k", lambda: awkward_meshes.fine_sphere(7)),
              ("large_torus_500k", lambda: awkward_meshes.fine_torus(500_000)),
              ("large_sphere_1311k", lambda: awkward_meshes.fine_sphere(8))]
    return meshes + [(name, build()) for name, build in bigger[:large]]


def load(loader, path: Path, max_faces: int) -> tuple[float, str, object]:
    """(seconds, '' or the refusal, mesh or None) for one file."""
    t0 = time.perf_counter()
    try:
        mesh = loader.load_mesh_file(path, scale=1.0, max_faces=max_faces)
    except loader.MeshLoadError as exc:
        return time.perf_counter() - t0, str(exc).split(": ", 1)[-1], None
    return time.perf_counter() - t0, "", mesh


def check(mesh, max_faces: int) -> str:
    """'' if the loaded mesh is what the simulator needs, else what is wrong."""
    volume, centroid = mesh_volume_centroid(mesh.vertices, mesh.faces)
    problems = [name for name, bad in (("open", not is_watertight(mesh.faces)), ("volume", volume <= 0),
                                       ("centroid", np.abs(centroid).max() > 1e-9),
                                       ("faces", len(mesh.faces) > max_faces)) if bad]
    return ",".join(problems)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="everyday meshes of 2,050-2,850 faces")
    parser.add_argument("--large", type=int, default=3, choices=range(5),
                        help="large meshes appended: 82k, 328k, 500k, 1.3M faces (default the first 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-faces", type=int, default=mesh_loader.DEFAULT_MAX_FACES)
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = baseline_loader(args.baseline_rev, folder)
        t0 = time.perf_counter()
        files = []
        for i, (name, mesh) in enumerate(build_set(args.count, args.seed, args.large)):
            path = folder / f"{name}{FORMATS[i % len(FORMATS)]}"
            mesh.export(path)
            files.append((path, len(mesh.faces), float(mesh.volume)))
        print(f"built {len(files)} closed meshes in {time.perf_counter() - t0:.1f} s; face budget {args.max_faces}")
        print(f"{'mesh':26s} {'faces':>8s} | {'old s':>7s} {'old result':36s} | {'new s':>7s} {'new result'}")
        results = {"old": [], "new": []}
        for path, n_faces, volume in files:
            row = []
            for label, loader in (("old", old), ("new", mesh_loader)):
                seconds, refusal, mesh = load(loader, path, args.max_faces)
                problem = check(mesh, args.max_faces) if mesh is not None else ""
                ok = mesh is not None and not problem
                error = mesh.volume / volume - 1 if ok else float("nan")
                results[label].append((n_faces, seconds, ok, abs(error)))
                text = (f"REFUSED: {refusal}" if mesh is None else
                        f"{len(mesh.faces)} faces, volume {error:+.1%}" + (f" BAD: {problem}" if problem else ""))
                row.append(f"{seconds:7.3f} {text[:36] if label == 'old' else text:36s}")
            print(f"{path.name:26s} {n_faces:8d} | {row[0]} | {row[1]}")
        print()
        for band, keep in (("2-3k faces", lambda n: n <= 3000), ("large", lambda n: n > 3000)):
            summary = []
            for label in ("old", "new"):
                rows = [r for r in results[label] if keep(r[0])]
                if not rows:
                    continue
                refused = sum(not r[2] for r in rows)
                times = [r[1] for r in rows]
                errors = [r[3] for r in rows if r[2]]
                summary.append(statistics.median(times))
                print(f"{band:10s} {label}: {refused}/{len(rows)} refused ({refused / len(rows):.0%}), "
                      f"median {statistics.median(times) * 1e3:.1f} ms, mean {statistics.mean(times) * 1e3:.1f} ms "
                      f"per mesh; volume error of the loaded meshes median {statistics.median(errors):.2%}, "
                      f"max {max(errors):.2%}")
            if len(summary) == 2:
                print(f"{band:10s} new/old median time: {summary[1] / summary[0]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
