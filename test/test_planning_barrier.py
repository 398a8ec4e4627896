"""The barrier's scene (planning/distance_field.py): built once per image, read instead of Klamp't queries.

Reference: the exact distance between the open hand's link boxes and a point cloud, computed point by
point in numpy. (Klamp't 0.10.1's box-to-PointCloud distance, which the barrier used before issue 18,
is itself up to 11 mm above that reference for the palm box; see docs/ros.md.)
"""
import numpy as np
import pytest

from grasp_planner.hand import kinematics as kin
from grasp_planner.planning.barrier import barrier_cost
from grasp_planner.planning.config import BarrierConfig
from grasp_planner.planning.distance_field import TOLERANCE_M, SceneBarrier
from grasp_planner.planning.scene_io import generated_scene
from grasp_planner.pose import Pose


def exact_distance(points, T_frame_hand):
    boxes = kin.box_matrices(T_frame_hand, kin.open_configuration("basic"))
    return min(np.linalg.norm(np.maximum(np.abs((points - T[:3, 3]) @ T[:3, :3]) - half, 0.0), axis=1).min()
               for T, half in zip(boxes, kin.BOX_HALF_EXTENTS))


@pytest.fixture(scope="module")
def cloud():
    scene = generated_scene(0)
    return scene.camera.deproject(scene.depth), float(scene.depth[scene.depth > 0].min())


def poses_near(top, n=150, seed=0):
    rng = np.random.default_rng(seed)
    return [Pose.from_xyzrpy([*rng.normal(0, 0.03, 2), top - rng.uniform(0.0, 0.12), *rng.normal(0, 0.5, 2),
                              rng.uniform(-np.pi, np.pi)]).matrix() for _ in range(n)]


def test_cheap_distance_agrees_with_the_exact_one_within_the_tolerance_below_two_centimetres(cloud):
    points, top = cloud
    barrier = SceneBarrier.from_points(points)
    pairs = [(exact_distance(points, T), barrier.hand_distances(T[None], near=0.02)[0]) for T in poses_near(top)]
    near = [(e, c) for e, c in pairs if e < 0.02]
    assert len(near) > 50
    assert max(abs(c - e) for e, c in near) <= TOLERANCE_M
    assert all(c >= 0.02 - TOLERANCE_M for e, c in pairs if e >= 0.02)   # beyond: a bound, never "near"


def test_a_stencil_of_poses_reads_as_each_pose_alone(cloud):
    points, top = cloud
    barrier = SceneBarrier.from_points(points)
    T0 = Pose.from_xyzrpy([0.01, 0.0, top - 0.03, 0.1, 0.0, 0.3])
    stencil = np.stack([(T0 @ Pose.from_xyzrpy(d)).matrix() for d in np.random.default_rng(1).normal(0, 1e-3, (13, 6))])
    together = barrier.hand_distances(stencil, near=0.01)
    alone = np.array([barrier.hand_distances(T[None], near=0.01)[0] for T in stencil])
    below = alone < 0.01
    np.testing.assert_allclose(together[below], alone[below], atol=1e-6)


def test_the_table_plane_gives_the_lowest_corner_height_exactly():
    barrier = SceneBarrier.from_points(np.zeros((0, 3)), plane=((0.0, 0.0, 1.0), 0.0))
    T = Pose.from_xyzrpy([0.0, 0.0, 0.2, 0.3, -0.2, 1.0]).matrix()
    corners = kin.box_matrices(T, kin.open_configuration("basic"))
    lowest = min((Tb[:3, :3] @ (np.array(s) * h) + Tb[:3, 3])[2] for Tb, h in zip(corners, kin.BOX_HALF_EXTENTS)
                 for s in np.ndindex(2, 2, 2) for s in [np.array(s) * 2 - 1])
    assert barrier.hand_distances(T[None])[0] == pytest.approx(lowest, abs=1e-9)


def test_the_barrier_costs_about_500_at_contact_read_from_the_scene(cloud):
    points, top = cloud
    barrier = SceneBarrier.from_points(points)
    inside = Pose.from_xyzrpy([0.0, 0.0, top + 0.01, 0.0, 0.0, 0.0]).matrix()   # palm through the top face
    d = barrier.hand_distances(inside[None], near=0.01)
    assert d[0] == 0.0
    assert barrier_cost(d, BarrierConfig())[0] == pytest.approx(BarrierConfig().contact_cost) and \
        480 < BarrierConfig().contact_cost < 520


def test_reading_coarse_to_fine_changes_no_distance_below_the_cutoff(cloud):
    """The pruned stencil read equals reading every hand sample at every pose, wherever that is below the cutoff."""
    from grasp_planner.planning.distance_field import hand_samples

    points, top = cloud
    barrier, s = SceneBarrier.from_points(points), hand_samples()
    rng = np.random.default_rng(3)
    n_below = 0
    for T0 in poses_near(top, n=40, seed=3):
        stencil = np.stack([T0 @ Pose.from_xyzrpy(d).matrix() for d in rng.normal(0, 1e-3, (13, 6))])
        pruned = barrier.hand_distances(stencil, near=0.01)
        full = np.maximum([barrier.grid(s.points @ T[:3, :3].T + T[:3, 3]).min() for T in stencil], 0.0)
        below = full < 0.01
        n_below += below.sum()
        np.testing.assert_allclose(pruned[below], full[below], atol=1e-9)
        assert np.all(pruned[~below] >= 0.01 - 1e-9)
    assert n_below > 50
