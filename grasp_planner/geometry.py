"""Object geometry for hand-object distance and collision queries (Klamp't back end, ROS-free).

Two sources give the same type, so the planner's barrier runs with or without an object model:

* ``ObjectGeometry.from_mesh(vertices, faces)``: a Klamp't TriangleMesh (simulator, dataset);
* ``ObjectGeometry.from_depth(depth, camera, T_frame_camera)``: a Klamp't PointCloud of the
  deprojected pixels (a real robot's camera image). shared/notes/cnn-planner-perf.md section 4
  measured this as the cheapest exact back end to build (10 ms per 128x128 image) with 13 poses x
  16 links in about 1.35 ms.

Distances are between the hand's link boxes (hand/kinematics.py) and the geometry. Klamp't's box
distance to a mesh or a point cloud is *unsigned*: it is 0 when a link touches or crosses the
surface, and a link entirely inside a closed mesh reports its distance to the surface. So
``hand_distance`` is >= 0, with 0 meaning contact or penetration.

Queries move the object, not the hand: the object's current transform is set to ``T_hand_frame``
once per pose while the link boxes stay in the hand frame (they only move when ``q`` changes). One
ObjectGeometry is therefore not safe to query from two threads at once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from klampt import GeometricPrimitive, Geometry3D, PointCloud, TriangleMesh

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand import kinematics as kin
from grasp_planner.pose import invert_transform


def klampt_transform(T: np.ndarray) -> tuple[list, list]:
    """(column-major rotation 9-list, translation 3-list) of a 4x4 matrix."""
    return T[:3, :3].T.reshape(-1).tolist(), T[:3, 3].tolist()


def check_transforms(T, name: str) -> np.ndarray:
    """``T`` as float ``(..., 4, 4)``; ValueError naming ``name`` if the shape or values are wrong."""
    T = np.asarray(T, dtype=float)
    if T.ndim < 2 or T.shape[-2:] != (4, 4):
        raise ValueError(f"{name} must be 4x4 matrices, got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError(f"{name} must be finite")
    return T


def check_mesh(vertices, faces, min_vertices: int = 3, min_faces: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices (V,3) float, faces (F,3) int32)``; ValueError naming the bad input otherwise."""
    vertices = np.asarray(vertices, dtype=float)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < min_vertices:
        raise ValueError(f"vertices must be (V>={min_vertices}, 3) metres, got shape {vertices.shape}")
    if not np.all(np.isfinite(vertices)):
        raise ValueError("vertices must be finite")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) < min_faces:
        raise ValueError(f"faces must be (F>={min_faces}, 3) vertex indices, got shape {faces.shape}")
    if not np.issubdtype(faces.dtype, np.integer) or faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError(f"faces must be integer indices into the {len(vertices)} vertices")
    return vertices, faces.astype(np.int32)


@dataclass
class ObjectGeometry:
    """A Klamp't geometry of an object or a scene, in some frame called *frame* below.

    Attributes
    ----------
    geometry : klampt.Geometry3D
        TriangleMesh or PointCloud, coordinates in *frame*, metres.
    kind : str
        ``"mesh"`` or ``"points"``.
    bounds : (2, 3) array
        Axis-aligned bounds of the geometry in *frame* (min, max), metres.
    """

    geometry: Geometry3D
    kind: str
    bounds: np.ndarray

    @classmethod
    def from_mesh(cls, vertices, faces) -> "ObjectGeometry":
        """Geometry of a triangle mesh: ``vertices (V, 3)`` metres, ``faces (F, 3)`` vertex indices."""
        vertices, faces = check_mesh(vertices, faces)
        mesh = TriangleMesh()
        mesh.setVertices(np.ascontiguousarray(vertices))
        mesh.setIndices(np.ascontiguousarray(faces))
        return cls(Geometry3D(mesh), "mesh", np.stack([vertices.min(0), vertices.max(0)]))

    @classmethod
    def from_points(cls, points) -> "ObjectGeometry":
        """Geometry of a point cloud ``(N, 3)`` in metres (N >= 1)."""
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != 3 or len(points) < 1:
            raise ValueError(f"points must be (N>=1, 3), got shape {points.shape}")
        points = points[np.all(np.isfinite(points), axis=1)]
        if len(points) == 0:
            raise ValueError("points hold no finite point")
        cloud = PointCloud()
        cloud.setPoints(np.ascontiguousarray(points))
        return cls(Geometry3D(cloud), "points", np.stack([points.min(0), points.max(0)]))

    @classmethod
    def from_depth(cls, depth, camera: PinholeCamera, T_frame_camera=None) -> "ObjectGeometry":
        """Point-cloud geometry of every valid pixel of a depth image, expressed in *frame*.

        Parameters
        ----------
        depth : (H, W) array
            Metres along the optical axis; 0, NaN or inf = no return (skipped).
        camera : PinholeCamera
            Intrinsics matching ``depth``.
        T_frame_camera : (4, 4) array, optional
            Camera pose in the frame the geometry should live in (default identity: camera frame).

        Raises
        ------
        ValueError
            If the image does not fit the camera, or holds no valid pixel.
        """
        points = camera.deproject(depth)
        if len(points) == 0:
            raise ValueError("depth image holds no valid pixel (all 0, NaN or inf)")
        if T_frame_camera is not None:
            T = check_transforms(T_frame_camera, "T_frame_camera")
            points = points @ T[:3, :3].T + T[:3, 3]
        return cls.from_points(points)

    def place_in_hand_frame(self, T_frame_hand: np.ndarray) -> None:
        """Set the geometry's current transform so it sits where it is seen from the hand."""
        self.geometry.setCurrentTransform(*klampt_transform(invert_transform(T_frame_hand)))


class HandBoxes:
    """Klamp't box geometries of the hand's links, posed in the hand frame for one ``q``.

    Built once per process (``hand_boxes()``); re-posing costs one ``setCurrentTransform`` per link
    and is skipped while ``q`` is unchanged.
    """

    def __init__(self):
        self.geometries = []
        for half in kin.BOX_HALF_EXTENTS:
            box = GeometricPrimitive()
            box.setAABB((-half).tolist(), half.tolist())
            self.geometries.append(Geometry3D(box))
        self._q = None

    def place(self, q) -> None:
        """Pose every link box for joint vector ``q (11,)`` (hand frame)."""
        q = kin.check_configuration(q)
        if self._q is not None and np.array_equal(q, self._q):
            return
        mats = kin.box_matrices(np.eye(4), q)
        for geom, T in zip(self.geometries, mats):
            geom.setCurrentTransform(*klampt_transform(T))
        self._q = q.copy()

    def place_links(self, mats: np.ndarray, indices) -> None:
        """Pose only links ``indices`` with box transforms ``mats[i]`` (hand frame)."""
        for i in indices:
            self.geometries[i].setCurrentTransform(*klampt_transform(mats[i]))
        self._q = None


_HAND_BOXES: HandBoxes | None = None
_BOX_RADII = np.linalg.norm(kin.BOX_HALF_EXTENTS, axis=1)
#: links whose bounding-box bound is this much above the nearest link's distance (m) are not
#: queried at the first pose of a batch; larger than the moves of a finite-difference stencil
_FIRST_POSE_MARGIN = 0.02


def hand_boxes() -> HandBoxes:
    """The process-wide HandBoxes (created on first use)."""
    global _HAND_BOXES
    if _HAND_BOXES is None:
        _HAND_BOXES = HandBoxes()
    return _HAND_BOXES


def _default_q(q) -> np.ndarray:
    return kin.open_configuration("basic") if q is None else kin.check_configuration(q)


def hand_distance(geometry: ObjectGeometry, T_frame_hand, q=None) -> float:
    """Smallest distance between any hand link and the geometry, metres (0 = touching or crossing).

    Parameters
    ----------
    geometry : ObjectGeometry
        The object or scene, in *frame*.
    T_frame_hand : (4, 4) array
        Hand pose in *frame*.
    q : (11,) array, optional
        Joint vector (default: the open hand in basic mode).
    """
    T = check_transforms(T_frame_hand, "T_frame_hand")
    if T.shape != (4, 4):
        raise ValueError(f"T_frame_hand must be one 4x4 matrix, got shape {T.shape}; use hand_distances")
    return float(hand_distances(geometry, T[None], q)[0])


def hand_distances(geometry: ObjectGeometry, T_frame_hand, q=None) -> np.ndarray:
    """``hand_distance`` for many hand poses ``(N, 4, 4)`` with one joint vector; returns ``(N,)`` metres.

    Exact, but fastest when the poses are close to the first one (a finite-difference stencil):
    every link's distance at the first pose, less how far that link moved, bounds it from below
    at the other poses, so most links need no Klamp't query there.
    """
    T = check_transforms(T_frame_hand, "T_frame_hand")
    if T.ndim != 3:
        raise ValueError(f"T_frame_hand must be (N, 4, 4), got shape {T.shape}")
    q = _default_q(q)
    boxes = hand_boxes()
    boxes.place(q)
    obj = geometry.geometry
    box_mats = kin.box_matrices(T, q)
    # Lower bounds of each link's distance (exact, never above the true value):
    # (1) box centre to the geometry's bounding box, less the box's circumradius;
    lo, hi = geometry.bounds
    centres = box_mats[..., :3, 3]
    lower = np.linalg.norm(centres - np.clip(centres, lo, hi), axis=-1) - _BOX_RADII
    # (2) the link's distance at pose 0 less the farthest any box point moved (centre shift plus
    #     circumradius times the rotation change; the Frobenius norm bounds the spectral norm).
    moved = (np.linalg.norm(centres - centres[:1], axis=-1)
             + _BOX_RADII * np.linalg.norm(box_mats[..., :3, :3] - box_mats[:1, :, :3, :3], axis=(-2, -1)))
    out = np.empty(len(T))
    T_hand_frame = invert_transform(T)
    first = None
    for n in range(len(T)):
        obj.setCurrentTransform(*klampt_transform(T_hand_frame[n]))
        if first is None:
            # exact distances for the links that could matter; the bound (1) stands in for the
            # rest, which keeps every entry of ``first`` a lower bound of the link's distance
            first = lower[0].copy()
            best = np.inf
            for i in np.argsort(lower[0]):
                if lower[0, i] >= best + _FIRST_POSE_MARGIN:
                    break
                first[i] = boxes.geometries[i].distance_simple(obj)
                best = min(best, first[i])
            out[n] = best
            continue
        bound = np.maximum(lower[n], first - moved[n])
        best = np.inf
        # nearest bound first; stop once no remaining link can beat the best distance found
        for i in np.argsort(bound):
            if bound[i] >= best:
                break
            best = min(best, boxes.geometries[i].distance_simple(obj))
        out[n] = best
    return np.maximum(out, 0.0)


def link_distances(geometry: ObjectGeometry, T_frame_hand, q=None) -> np.ndarray:
    """Distance of each hand link (``LINK_NAMES`` order) to the geometry for one pose, ``(L,)`` metres."""
    T = check_transforms(T_frame_hand, "T_frame_hand").reshape(4, 4)
    boxes = hand_boxes()
    boxes.place(_default_q(q))
    geometry.place_in_hand_frame(T)
    return np.maximum([box.distance_simple(geometry.geometry) for box in boxes.geometries], 0.0)


def hand_collides(geometry: ObjectGeometry, T_frame_hand, q=None) -> bool:
    """True if any hand link touches or crosses the geometry (one pose, one joint vector)."""
    T = check_transforms(T_frame_hand, "T_frame_hand").reshape(4, 4)
    boxes = hand_boxes()
    boxes.place(_default_q(q))
    geometry.place_in_hand_frame(T)
    obj = geometry.geometry
    return any(box.collides(obj) for box in boxes.geometries)
