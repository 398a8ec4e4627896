"""Depth scenes on disk (``.npz``) for the ``plan`` and ``demo`` commands, and a generated fallback.

A scene file holds ``depth`` (H, W) metres or ``depth_mm`` (H, W) uint16 millimetres, ``camera``
``[fx, fy, cx, cy, width, height]`` and optionally ``initial_pose`` (4, 4), camera frame; this
is the layout of the bundled scenes under grasp_planner/data/scenes/.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import zipfile

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.pose import Pose

#: seed of the procedural object used when no bundled scene exists (outside any training range)
FALLBACK_OBJECT_SEED = 9001


@dataclass(frozen=True)
class DepthScene:
    """What the planner needs from a scene file."""

    name: str
    depth: np.ndarray              # (H, W) float32 m, 0 = no return
    camera: PinholeCamera
    initial_pose: Pose | None      # camera frame


def open_scene_npz(path):
    """``np.load`` of a scene ``.npz`` that refuses, naming the file, what is not one.

    Empty, truncated or non-zip files and a ``.npy`` renamed to ``.npz`` raise ValueError; pickles
    are never loaded.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"scene file {path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"scene file {path} is empty")
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise ValueError(f"scene file {path} holds a single array (.npy), not a .npz archive of named arrays")
    if not magic.startswith(b"PK"):  # np.load would call anything else a pickle and suggest loading it
        raise ValueError(f"scene file {path} is not a .npz archive (no zip header)")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"scene file {path} is truncated or corrupt ({exc})") from None
    return data


def depth_from_mm(data, path) -> np.ndarray:
    """``depth_mm`` (uint16 millimetres, as a 16UC1 camera sends it) in metres; other types refused."""
    raw = data["depth_mm"]
    if raw.dtype != np.uint16:
        raise ValueError(f"scene file {path}: 'depth_mm' must be uint16 millimetres, got {raw.dtype}")
    return raw.astype(np.float32) / 1000.0


def load_depth_scene(path) -> DepthScene:
    """Read a scene ``.npz``; ValueError naming the file and the missing or bad key."""
    path = Path(path)
    data = open_scene_npz(path)
    try:
        if "depth" in data.files:
            depth = np.asarray(data["depth"], dtype=np.float32)
        elif "depth_mm" in data.files:
            depth = depth_from_mm(data, path)
        else:
            raise ValueError(f"scene file {path} has neither 'depth' (m) nor 'depth_mm' (uint16 mm)")
        if "camera" not in data.files:
            raise ValueError(f"scene file {path} has no 'camera' [fx, fy, cx, cy, width, height]")
        camera = PinholeCamera.from_array(data["camera"])
        initial = Pose.from_matrix(data["initial_pose"]) if "initial_pose" in data.files else None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # a member cut short inside the archive
        raise ValueError(f"scene file {path} is truncated or corrupt ({exc})") from None
    finally:
        data.close()
    return DepthScene(path.stem, depth, camera, initial)


def generated_scene(index: int = 0, seed: int = FALLBACK_OBJECT_SEED) -> DepthScene:
    """A 128x128 top-down view of procedural object ``index`` with a pre-grasp 8 cm above its top."""
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.data.render import synthesize_views

    mesh = procedural_object(index, seed)
    views = synthesize_views(mesh, 1, np.random.default_rng([seed, index]))
    depth = views.depth[0]
    top = float(depth[depth > 0].min())
    centre = views.T_cam_obj[0][:3, 3]
    initial = Pose.from_xyzrpy([centre[0] + 0.01, centre[1] - 0.01, top - 0.08, 0.1, -0.1, 0.4])
    return DepthScene(f"generated_{mesh.name}", depth, PinholeCamera.from_array(views.cameras[0]), initial)
