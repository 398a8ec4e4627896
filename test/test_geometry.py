"""Hand-object distances against hand-computed point-box, sphere and table distances."""
import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from grasp_planner.camera import PinholeCamera
from grasp_planner.geometry import ObjectGeometry, hand_distance, hand_distances, link_distances
from grasp_planner.hand import kinematics as kin
from grasp_planner.pose import xyzrpy_to_matrix

OPEN = kin.open_configuration("basic")


def point_box_distance(point, T_box, half) -> float:
    """Euclidean distance from a point to a solid box (0 inside): clamp in the box frame."""
    local = np.linalg.inv(T_box) @ np.r_[point, 1.0]
    return float(np.linalg.norm(local[:3] - np.clip(local[:3], -half, half)))


def hand_point_distance(point, T_frame_hand, q=OPEN) -> float:
    boxes = kin.box_matrices(T_frame_hand, q)
    return min(point_box_distance(point, T, h) for T, h in zip(boxes, kin.BOX_HALF_EXTENTS))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-0.25, 0.25), min_size=3, max_size=3))
def test_distance_to_one_point_is_the_point_box_distance(point):
    T = xyzrpy_to_matrix([0.05, -0.02, 0.1, 0.3, -0.4, 0.5])
    geometry = ObjectGeometry.from_points(np.array([point]))
    assert hand_distance(geometry, T) == pytest.approx(hand_point_distance(np.array(point), T), abs=1e-9)


@pytest.mark.parametrize("centre", [(0.0, 0.0, 0.25), (0.2, 0.1, 0.05), (0.0, -0.2, -0.1)])
def test_distance_to_a_sphere_is_centre_distance_minus_radius(centre):
    radius = 0.03
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    geometry = ObjectGeometry.from_mesh(sphere.vertices + centre, sphere.faces)
    expected = hand_point_distance(np.array(centre), np.eye(4)) - radius
    # the icosphere's facets lie up to r (1 - cos(edge / 2r)) ~ 0.1 mm inside the true sphere
    assert hand_distance(geometry, np.eye(4)) == pytest.approx(expected, abs=2e-4)


def test_distance_to_a_table_is_the_height_of_the_lowest_link_corner():
    # hand pointing down (+z_hand = -z_world) with the palm face 0.2 m above a table top at z = 0
    T = xyzrpy_to_matrix([0.0, 0.0, 0.2, np.pi, 0.0, 0.0])
    table = trimesh.creation.box(bounds=[[-1.0, -1.0, -0.05], [1.0, 1.0, 0.0]])
    geometry = ObjectGeometry.from_mesh(table.vertices, table.faces)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    lowest = min((T_box @ np.r_[s * h, 1.0])[2]
                 for T_box, h in zip(kin.box_matrices(T, OPEN), kin.BOX_HALF_EXTENTS) for s in signs)
    assert hand_distance(geometry, T) == pytest.approx(lowest, abs=1e-9)


def test_a_link_crossing_the_surface_gives_zero_distance():
    table = trimesh.creation.box(bounds=[[-1.0, -1.0, -0.05], [1.0, 1.0, 0.0]])
    geometry = ObjectGeometry.from_mesh(table.vertices, table.faces)
    T = xyzrpy_to_matrix([0.0, 0.0, 0.05, np.pi, 0.0, 0.0])  # fingertips 5 cm below the table top
    assert hand_distance(geometry, T) == 0.0


def test_distance_follows_the_finger_state():
    point = np.array([[0.0, 0.0, 0.06]])
    geometry = ObjectGeometry.from_points(point)
    closed = OPEN.copy()
    closed[[2, 5, 8]] = 0.4
    assert hand_distance(geometry, np.eye(4), closed) < hand_distance(geometry, np.eye(4))
    assert hand_distance(geometry, np.eye(4), closed) == pytest.approx(
        hand_point_distance(point[0], np.eye(4), closed), abs=1e-9)


def test_batched_distances_equal_single_calls():
    rng = np.random.default_rng(11)
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.04)
    geometry = ObjectGeometry.from_mesh(sphere.vertices, sphere.faces)
    T = xyzrpy_to_matrix(np.c_[rng.uniform(-0.2, 0.2, (13, 3)), rng.uniform(-np.pi, np.pi, (13, 3))])
    batch = hand_distances(geometry, T)
    assert batch.shape == (13,)
    np.testing.assert_allclose(batch, [hand_distance(geometry, t) for t in T], atol=0)
    assert np.min(link_distances(geometry, T[0])) == pytest.approx(batch[0], abs=1e-12)


def test_depth_geometry_places_pixels_in_the_requested_frame():
    camera = PinholeCamera.from_fov(64, 48, np.deg2rad(60.0))
    depth = np.full(camera.shape, 0.5, dtype=np.float32)
    depth[:4] = 0.0  # no return
    depth[4, :3] = np.nan
    T_world_camera = xyzrpy_to_matrix([0.0, 0.0, 0.8, np.pi, 0.0, 0.0])  # looking down from 0.8 m
    geometry = ObjectGeometry.from_depth(depth, camera, T_world_camera)
    assert geometry.kind == "points"
    np.testing.assert_allclose(geometry.bounds[:, 2], [0.3, 0.3], atol=1e-6)  # a plane at z = 0.3
    # hand pointing down, palm face 0.15 m above that plane: the open fingertips are the nearest
    T = xyzrpy_to_matrix([0.0, 0.0, 0.45, np.pi, 0.0, 0.0])
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    lowest = min((T_box @ np.r_[s * h, 1.0])[2]
                 for T_box, h in zip(kin.box_matrices(T, OPEN), kin.BOX_HALF_EXTENTS) for s in signs)
    assert hand_distance(geometry, T) == pytest.approx(lowest - 0.3, abs=2e-3)  # pixel spacing ~6 mm


def test_depth_image_without_any_return_is_rejected():
    camera = PinholeCamera.from_fov(8, 6, 1.0)
    with pytest.raises(ValueError, match="no valid pixel"):
        ObjectGeometry.from_depth(np.zeros(camera.shape), camera)


@pytest.mark.parametrize("vertices, faces, message", [
    (np.zeros((3, 2)), np.array([[0, 1, 2]]), "vertices"),
    (np.zeros((3, 3)), np.array([[0, 1, 3]]), "indices"),
    (np.full((3, 3), np.nan), np.array([[0, 1, 2]]), "finite"),
])
def test_bad_mesh_is_rejected_with_reason(vertices, faces, message):
    with pytest.raises(ValueError, match=message):
        ObjectGeometry.from_mesh(vertices, faces)


def test_bad_pose_shape_is_rejected():
    geometry = ObjectGeometry.from_points(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="T_frame_hand"):
        hand_distances(geometry, np.eye(3))


def test_stencil_distances_equal_the_per_pose_minimum_over_links():
    # 13 poses a finite-difference stencil apart (5 mm, 0.02 rad): the pruned batch must stay exact
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.04)
    geometry = ObjectGeometry.from_mesh(sphere.vertices, sphere.faces)
    centre = np.array([0.01, -0.02, -0.1, np.pi, 0.1, 0.3])
    steps = np.diag([0.005, 0.005, 0.005, 0.02, 0.02, 0.02])
    T = xyzrpy_to_matrix(np.vstack([centre, centre + steps, centre - steps]))
    expected = [link_distances(geometry, t).min() for t in T]
    np.testing.assert_allclose(hand_distances(geometry, T), expected, atol=1e-12)
