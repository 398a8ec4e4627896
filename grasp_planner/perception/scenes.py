"""Realistic tabletop scenes: a procedural object on a table, neighbours, a tilted 640x480 camera.

Made for evaluation loops and the demo: ``make_scene(rng, ...)`` draws one scene and returns the
depth image, the camera, where the camera is (``T_camera_world``), every object's mesh and pose,
and a perturbed pre-grasp above the target. The world frame has +z up and the table top at z = 0.
Bundled scenes (grasp_planner/data/scenes/*.npz) are loaded with :func:`load_scene`.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import ObjectMesh, procedural_object
from grasp_planner.perception.noise import SensorNoise, add_sensor_noise
from grasp_planner.pose import Pose

#: a RealSense D435-like colour-aligned depth stream
REALSENSE_640 = PinholeCamera(615.0, 615.0, 319.5, 239.5, 640, 480)
#: seed of the evaluation objects: not the training set's seed, so scene objects are unseen
EVALUATION_OBJECT_SEED = 9001
#: half-size (m) of the square table top
TABLE_HALF_SIZE = 0.6
#: height (m) of the pre-grasp above the target's top
PREGRASP_HEIGHT = 0.10
SCENES_DIR = Path(__file__).resolve().parent.parent / "data" / "scenes"


@dataclass(frozen=True)
class Scene:
    """One rendered scene. Poses map object/world points into the named frame; object 0 is the target.

    Attributes
    ----------
    depth : (H, W) float32 m, 0 = missing (noise and holes applied if asked).
    camera : intrinsics.
    T_camera_world : world (table top z = 0, +z up) in the camera frame.
    objects : meshes, object frames; ``T_world_objects`` their poses.
    initial_pose : a perturbed pre-grasp above the target, camera frame (hand +z = approach).
    description : one line for people.
    """

    depth: np.ndarray
    camera: PinholeCamera
    T_camera_world: Pose
    objects: tuple[ObjectMesh, ...]
    T_world_objects: tuple[Pose, ...]
    initial_pose: Pose
    description: str
    object_ids: tuple[int, ...] = field(default=())  # procedural indices (seed EVALUATION_OBJECT_SEED)
    tilt_deg: float = 0.0

    def T_camera_object(self, i: int) -> Pose:
        """Object ``i``'s frame in the camera frame: maps a camera-frame grasp into the object with ``.inverse()``."""
        return self.T_camera_world @ self.T_world_objects[i]

    def depth_mm(self) -> np.ndarray:
        """The image as a 16UC1 camera sends it (uint16 mm, 0 = missing)."""
        return np.clip(np.round(self.depth * 1000.0), 0, 65535).astype(np.uint16)


def graspable_object_ids(n: int, seed: int = EVALUATION_OBJECT_SEED, start: int = 0,
                         size_range=(0.04, 0.14)) -> list[int]:
    """The first ``n`` procedural indices from ``start`` whose largest dimension lies in ``size_range`` (m)."""
    return list(_graspable_object_ids(int(n), int(seed), int(start), tuple(size_range)))


@lru_cache(maxsize=8)
def _graspable_object_ids(n: int, seed: int, start: int, size_range: tuple) -> tuple[int, ...]:
    ids, index = [], start
    while len(ids) < n:
        if size_range[0] <= procedural_object(index, seed).extents.max() <= size_range[1]:
            ids.append(index)
        index += 1
    return tuple(ids)


def look_at_camera(target_world: np.ndarray, distance: float, tilt: float, azimuth: float) -> Pose:
    """``T_world_camera`` of a camera ``distance`` m from a point, ``tilt`` rad from straight down.

    The camera sits in direction (cos a sin t, sin a sin t, cos t) from the point; its image x axis is
    horizontal, so at ``azimuth = -pi/2`` camera +x is world +x for every tilt.
    """
    away = np.array([np.cos(azimuth) * np.sin(tilt), np.sin(azimuth) * np.sin(tilt), np.cos(tilt)])
    z_axis = -away
    x_axis = np.array([-np.sin(azimuth), np.cos(azimuth), 0.0])
    y_axis = np.cross(z_axis, x_axis)
    return Pose(np.stack([x_axis, y_axis, z_axis], axis=1), np.asarray(target_world, float) + distance * away)


def resting_pose(obj: ObjectMesh, xy, yaw: float) -> Pose:
    """Object pose with its lowest vertex on the table (z = 0) at ``xy`` turned by ``yaw`` about +z."""
    rot = np.array([[np.cos(yaw), -np.sin(yaw), 0.0], [np.sin(yaw), np.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    lowest = (obj.vertices @ rot.T)[:, 2].min()
    return Pose(rot, np.array([xy[0], xy[1], -lowest]))


def table_mesh(half_size: float = TABLE_HALF_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The table top: a square at z = 0 (world), two triangles facing +z."""
    h = half_size
    vertices = np.array([[-h, -h, 0.0], [h, -h, 0.0], [h, h, 0.0], [-h, h, 0.0]])
    return vertices, np.array([[0, 1, 2], [0, 2, 3]])


def render_scene(camera: PinholeCamera, T_camera_world: Pose, meshes, poses_world) -> np.ndarray:
    """Z-buffer depth (m, 0 = nothing) of the table and ``meshes`` at ``poses_world`` (Pose: world <- object)."""
    from grasp_planner.data.render import render_depth  # the project's rasteriser
    table_v, table_f = table_mesh()
    depth = render_depth(table_v, table_f, camera, T_camera_world.matrix()).astype(np.float64)
    for mesh, pose in zip(meshes, poses_world):
        layer = render_depth(mesh.vertices, mesh.faces, camera, (T_camera_world @ pose).matrix())
        closer = (layer > 0) & ((depth == 0) | (layer < depth))
        depth[closer] = layer[closer]
    return depth.astype(np.float32)


def _place_neighbours(rng, target: ObjectMesh, neighbours, gap_range=(0.02, 0.05)) -> list:
    """xy, yaw for each neighbour: a gap of ``gap_range`` m between bounding circles, apart from each other."""
    placed = [(np.zeros(2), 0.5 * np.linalg.norm(target.extents[:2]))]
    out = []
    for mesh in neighbours:
        radius = 0.5 * np.linalg.norm(mesh.extents[:2])
        for _ in range(100):
            angle = rng.uniform(0, 2 * np.pi)
            dist = placed[0][1] + radius + rng.uniform(*gap_range)
            xy = dist * np.array([np.cos(angle), np.sin(angle)])
            if all(np.linalg.norm(xy - c) > r + radius + gap_range[0] for c, r in placed):
                break
        placed.append((xy, radius))
        out.append((xy, rng.uniform(-np.pi, np.pi)))
    return out


def pregrasp_pose(top_world: np.ndarray, rng: np.random.Generator, height: float = PREGRASP_HEIGHT,
                  position_noise: float = 0.01, angle_noise: float = np.deg2rad(10)) -> Pose:
    """A hand pose ``height`` m above ``top_world`` approaching down (hand +z = world -z), perturbed.

    Position is jittered by ``position_noise`` m (per axis, Gaussian), the approach axis tilted by up to
    ``angle_noise`` rad, the yaw about it uniform.
    """
    yaw = rng.uniform(-np.pi, np.pi)
    down = np.array([[np.cos(yaw), np.sin(yaw), 0.0], [np.sin(yaw), -np.cos(yaw), 0.0], [0.0, 0.0, -1.0]])
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    angle = rng.uniform(0, angle_noise)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    tilt = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    position = np.asarray(top_world, float) + [0.0, 0.0, height] + rng.normal(0, position_noise, 3)
    return Pose(tilt @ down, position)


def make_scene(rng: np.random.Generator, tilt_deg: float | None = None, distance: float | None = None,
               n_neighbours: int | None = None, noise: SensorNoise | None = None,
               object_ids=None, camera: PinholeCamera = REALSENSE_640,
               azimuth: float | None = None, target_yaw: float | None = None) -> Scene:
    """Draw one tabletop scene; every argument left ``None`` is drawn from ``rng``.

    Parameters
    ----------
    rng : the only source of randomness.
    tilt_deg : camera tilt from straight down, degrees (drawn in [0, 45]).
    distance : camera to target centre, m (drawn in [0.4, 0.7]).
    n_neighbours : objects next to the target (drawn from {1, 2}).
    noise : sensor model; ``None`` renders clean depth.
    object_ids : procedural indices (seed ``EVALUATION_OBJECT_SEED``), target first; drawn among
        graspable objects when ``None``.
    azimuth : direction of the camera around the target, rad (drawn when ``None``).
    target_yaw : the target's yaw on the table, rad (drawn when ``None``).

    Returns
    -------
    Scene; object 0 is the target, centred at world (0, 0).
    """
    tilt_deg = rng.uniform(0.0, 45.0) if tilt_deg is None else float(tilt_deg)
    distance = rng.uniform(0.4, 0.7) if distance is None else float(distance)
    n_neighbours = int(rng.integers(1, 3)) if n_neighbours is None else int(n_neighbours)
    if object_ids is None:
        pool = graspable_object_ids(40)
        object_ids = [pool[i] for i in rng.choice(len(pool), 1 + n_neighbours, replace=False)]
    object_ids = tuple(int(i) for i in object_ids)[:1 + n_neighbours]
    objects = tuple(procedural_object(i, EVALUATION_OBJECT_SEED) for i in object_ids)
    yaw = rng.uniform(-np.pi, np.pi) if target_yaw is None else float(target_yaw)
    poses = [resting_pose(objects[0], (0.0, 0.0), yaw)]
    placements = _place_neighbours(rng, objects[0], objects[1:])
    poses += [resting_pose(m, xy, y) for m, (xy, y) in zip(objects[1:], placements)]
    top = poses[0].transform_points(objects[0].vertices)[:, 2].max()
    azimuth = rng.uniform(-np.pi, np.pi) if azimuth is None else float(azimuth)
    T_world_camera = look_at_camera(np.array([0.0, 0.0, top / 2]), distance, np.deg2rad(tilt_deg), azimuth)
    T_camera_world = T_world_camera.inverse()
    depth = render_scene(camera, T_camera_world, objects, poses)
    if noise is not None:
        depth = add_sensor_noise(depth, rng, noise)
    initial_pose = T_camera_world @ pregrasp_pose(np.array([0.0, 0.0, top]), rng)
    description = (f"{objects[0].name} on a table with {n_neighbours} neighbour(s), camera {distance:.2f} m away "
                   f"tilted {tilt_deg:.0f} deg, " + ("clean depth" if noise is None else
                                                     f"noise k={noise.k:g}/m, {noise.hole_fraction:.0%} holes"))
    return Scene(depth, camera, T_camera_world, objects, tuple(poses), initial_pose, description,
                 object_ids, tilt_deg)


def box_scene(camera: PinholeCamera = REALSENSE_640, size=(0.06, 0.04, 0.08), camera_height: float = 0.5,
              start_above_top: float = 0.12, yaw: float = 0.0) -> Scene:
    """Issue 17's user case: a camera ``camera_height`` m above the table looking straight down at a box.

    The box (``size`` m, x by y by height) stands at the world origin; ``initial_pose`` approaches
    straight down with the palm ``start_above_top`` m above the box's top, turned by ``yaw`` about +z.
    Clean depth (a 32FC1 image); no neighbours.
    """
    import trimesh
    box = trimesh.creation.box(size)
    mesh = ObjectMesh("issue17_box", np.asarray(box.vertices, float), np.asarray(box.faces, np.int64), "box")
    T_world_box = Pose(np.eye(3), np.array([0.0, 0.0, size[2] / 2.0]))
    T_camera_world = look_at_camera(np.zeros(3), camera_height, 0.0, -np.pi / 2).inverse()
    depth = render_scene(camera, T_camera_world, [mesh], [T_world_box])
    c, s = np.cos(yaw), np.sin(yaw)
    down = np.array([[c, s, 0.0], [s, -c, 0.0], [0.0, 0.0, -1.0]])     # hand +z = world -z
    initial = T_camera_world @ Pose(down, np.array([0.0, 0.0, size[2] + start_above_top]))
    description = (f"{size[0] * 100:g} x {size[1] * 100:g} x {size[2] * 100:g} cm box, camera {camera_height:g} m "
                   f"above the table looking straight down, clean depth")
    return Scene(depth, camera, T_camera_world, (mesh,), (T_world_box,), initial, description, (), 0.0)


def iter_scenes(n: int, seed: int, **kwargs) -> Iterator[Scene]:
    """``n`` scenes from one seed, for evaluation loops; ``kwargs`` fix parameters of :func:`make_scene`.

    Example: ``for scene in iter_scenes(50, 1, tilt_deg=30.0, noise=SensorNoise(hole_fraction=0.1))``.
    """
    rng = np.random.default_rng(seed)
    for _ in range(int(n)):
        yield make_scene(rng, **kwargs)


def save_scene(scene: Scene, path) -> None:
    """Write the bundled-scene .npz (16-bit mm depth, compressed) that :func:`load_scene` reads."""
    np.savez_compressed(
        path, depth_mm=scene.depth_mm(), camera=scene.camera.as_array(),
        initial_pose=scene.initial_pose.matrix(), T_camera_world=scene.T_camera_world.matrix(),
        description=np.array(scene.description),
        object_ids=np.array(scene.object_ids, dtype=np.int64), object_seed=np.array(EVALUATION_OBJECT_SEED),
        T_world_objects=np.array([p.matrix() for p in scene.T_world_objects]), tilt_deg=np.array(scene.tilt_deg))


def load_scene(path) -> Scene:
    """A bundled scene: depth back in metres, objects rebuilt from their procedural ids.

    ValueError naming the file for anything that is not such a scene (planning.scene_io's rules).
    """
    from grasp_planner.planning.scene_io import depth_from_mm, open_scene_npz

    with open_scene_npz(path) as data:
        missing = [k for k in ("object_ids", "object_seed", "depth_mm", "camera", "T_camera_world",
                               "T_world_objects", "initial_pose", "description", "tilt_deg") if k not in data.files]
        if missing:
            raise ValueError(f"scene file {path}: missing field(s) {missing}")
        ids = tuple(int(i) for i in data["object_ids"])
        seed = int(data["object_seed"])
        depth = depth_from_mm(data, path)
        return Scene(depth, PinholeCamera.from_array(data["camera"]), Pose.from_matrix(data["T_camera_world"]),
                     tuple(procedural_object(i, seed) for i in ids),
                     tuple(Pose.from_matrix(m) for m in data["T_world_objects"]),
                     Pose.from_matrix(data["initial_pose"]), str(data["description"]), ids, float(data["tilt_deg"]))


def bundled_scene_paths() -> list[Path]:
    """The demo scenes shipped with the package, sorted by name."""
    return sorted(SCENES_DIR.glob("*.npz"))


def scene_summary(scene: Scene) -> str:
    """A JSON line of the scene's numbers (for logs)."""
    return json.dumps({"description": scene.description, "objects": [o.name for o in scene.objects],
                       "valid_pixels": int(np.count_nonzero(scene.depth))})
