"""Depth images of stored table scenes, rendered again on demand (the store keeps no pixels).

A view is fixed by (store seed, object index, view number): the camera is a robot-like one, 0.3-0.8 m
from the target, tilted 0-60 degrees from straight down, at any azimuth, with RealSense-like
intrinsics scaled to the resolution. The same inputs give the same image on any machine, up to
float rounding, so checksums are taken of depth quantised to 0.1 mm.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import render_depth

#: RealSense D435-like 640x480 intrinsics (the same as perception.scenes.REALSENSE_640)
_FX, _CX, _CY, _W, _H = 615.0, 319.5, 239.5, 640, 480
_VIEW_STREAM = 7919  # SeedSequence key of view draws, apart from the generator's streams
TABLE_HALF_SIZE = 0.6


@dataclass(frozen=True)
class StoredScene:
    """One stored object's scene: meshes (object frame) and their table-frame poses, target first."""

    meshes: tuple
    poses: tuple


def stored_scene(seed: int, object_index: int, T_table_obj, neighbour_index, T_table_neighbour) -> StoredScene:
    """Rebuild the meshes of a stored row from their procedural indices."""
    meshes, poses = [procedural_object(int(object_index), seed)], [np.asarray(T_table_obj)]
    for index, T in zip(neighbour_index, T_table_neighbour):
        if index >= 0:
            meshes.append(procedural_object(int(index), seed))
            poses.append(np.asarray(T))
    return StoredScene(tuple(meshes), tuple(poses))


def view_camera(seed: int, object_index: int, view: int, target_xyz, scale: float = 0.25):
    """(PinholeCamera, T_camera_table) of view ``view`` of an object: the robot-like camera draw."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, int(object_index), _VIEW_STREAM, int(view)]))
    distance = rng.uniform(0.3, 0.8)
    tilt = np.deg2rad(rng.uniform(0.0, 60.0))
    azimuth = rng.uniform(-np.pi, np.pi)
    away = np.array([np.cos(azimuth) * np.sin(tilt), np.sin(azimuth) * np.sin(tilt), np.cos(tilt)])
    z = -away
    x = np.array([-np.sin(azimuth), np.cos(azimuth), 0.0])
    y = np.cross(z, x)
    T_table_camera = np.eye(4)
    T_table_camera[:3, :3] = np.stack([x, y, z], axis=1)
    T_table_camera[:3, 3] = np.asarray(target_xyz, float) + distance * away
    camera = PinholeCamera(_FX * scale, _FX * scale, (_CX + 0.5) * scale - 0.5, (_CY + 0.5) * scale - 0.5,
                           int(round(_W * scale)), int(round(_H * scale)))
    return camera, np.linalg.inv(T_table_camera)


def render_view(scene: StoredScene, camera: PinholeCamera, T_camera_table: np.ndarray) -> np.ndarray:
    """Z-buffer depth (m, 0 = nothing) of the table top and every body."""
    h = TABLE_HALF_SIZE
    table_v = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]])
    depth = render_depth(table_v, np.array([[0, 1, 2], [0, 2, 3]]), camera, T_camera_table).astype(np.float64)
    for mesh, pose in zip(scene.meshes, scene.poses):
        layer = render_depth(mesh.vertices, mesh.faces, camera, T_camera_table @ pose)
        closer = (layer > 0) & ((depth == 0) | (layer < depth))
        depth[closer] = layer[closer]
    return depth.astype(np.float32)


def depth_checksum(depth: np.ndarray) -> str:
    """sha256 of the depth quantised to 0.1 mm (uint16), robust to last-bit float differences."""
    q = np.round(np.asarray(depth, dtype=np.float64) * 1e4).astype(np.uint16)
    return hashlib.sha256(q.tobytes()).hexdigest()


def stored_view(seed: int, object_arrays: dict, row: int, view: int) -> np.ndarray:
    """The depth image of view ``view`` of row ``row`` of a batch's object arrays."""
    scene = stored_scene(seed, object_arrays["object_index"][row], object_arrays["T_table_obj"][row],
                         object_arrays["neighbour_index"][row], object_arrays["T_table_neighbour"][row])
    target = scene.poses[0][:3, 3]
    camera, T_camera_table = view_camera(seed, object_arrays["object_index"][row], view, target)
    return render_view(scene, camera, T_camera_table)
