"""Planner parts: config file, surface-normal seeds, distinct ranking, baselines, evaluation problems."""
import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.planning.baselines import uniform_poses
from grasp_planner.planning.config import PlannerConfig
from grasp_planner.planning.multistart import rank_distinct, surface_normals, surface_starts
from grasp_planner.planning.optimize import OptimizationResult
from grasp_planner.planning.minimize import OptimizationStatus
from grasp_planner.pose import Pose


def test_shipped_config_file_equals_the_dataclass_defaults():
    assert PlannerConfig.load() == PlannerConfig()


def test_barrier_defaults_cost_about_500_at_contact():
    assert 450 <= PlannerConfig().barrier.contact_cost <= 550


@pytest.mark.parametrize("text, word", [
    ("optimizer:\n  max_iters: 3\n", "max_iters"),
    ("optimiser:\n  max_iter: 3\n", "optimiser"),
    ("optimizer:\n  method: Newton\n", "method"),
])
def test_bad_config_file_names_the_bad_key(tmp_path, text, word):
    path = tmp_path / "planner.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=word):
        PlannerConfig.load(path)


def plane_image(tilt_rad=0.0):
    """A plane 0.5 m in front of a 64x64 camera, tilted about the camera's x axis."""
    camera = PinholeCamera.from_fov(64, 64, np.deg2rad(60))
    rays = camera.pixel_rays()
    normal = np.array([0.0, np.sin(tilt_rad), -np.cos(tilt_rad)])      # facing the camera
    depth = (-0.5 * normal[2]) / -(rays @ normal)                        # n.p = n.(0,0,0.5)
    return depth.astype(np.float32), camera, normal


@pytest.mark.parametrize("tilt", [0.0, 0.4])
def test_surface_normals_of_a_plane_face_the_camera(tilt):
    depth, camera, normal = plane_image(tilt)
    _, normals = surface_normals(depth, camera)
    inner = normals[1:-1, 1:-1].reshape(-1, 3)
    np.testing.assert_allclose(inner, np.broadcast_to(normal, inner.shape), atol=1e-5)  # float32 depth
    assert np.all(np.isnan(normals[0])) and np.all(np.isnan(normals[:, -1]))   # no neighbours there


def test_surface_seeds_approach_against_the_normal_at_the_standoff():
    depth, camera, normal = plane_image(0.3)
    config = PlannerConfig().multistart
    starts = surface_starts(depth, camera, 8, config, np.random.default_rng(0))
    for pose in starts:
        assert pose.rotation[:, 2] @ normal == pytest.approx(-1.0, abs=1e-6)      # +z into the surface
        distance_to_plane = normal @ (pose.translation - [0, 0, 0.5])
        assert distance_to_plane == pytest.approx(config.seed_standoff_m, abs=1e-6)


def result_at(xyz, logit, success=True, barrier=0.0):
    """A result with network score ``logit``; its objective is -logit plus a barrier/penalty term."""
    pose = Pose.from_xyzrpy([*xyz, 0, 0, 0])
    return OptimizationResult(pose, logit, 0.5, 0.02, -logit + barrier, success, OptimizationStatus.CONVERGED,
                              "", 1, 1, 0.0, pose, 0.0)


def test_rank_distinct_keeps_the_best_of_near_duplicates_and_puts_collisions_last():
    results = [result_at([0, 0, 0.4], 2.0), result_at([0.003, 0, 0.4], 2.5),   # 3 mm apart: one grasp
               result_at([0.05, 0, 0.4], 1.0), result_at([0.1, 0, 0.4], 9.0, success=False)]
    ranked = rank_distinct(results, 3, 0.01, 0.3)
    assert [r.logit for r in ranked] == [2.5, 1.0, 9.0]


def test_rank_distinct_orders_clear_grasps_by_score_not_by_the_barrier_laden_objective():
    near_contact = result_at([0, 0, 0.4], 3.0, barrier=5.0)     # best score, objective 2.0
    farther = result_at([0.05, 0, 0.4], 2.0)                    # lower score, objective -2.0
    ranked = rank_distinct([farther, near_contact], 2, 0.01, 0.3)
    assert [r.logit for r in ranked] == [3.0, 2.0]


def test_uniform_poses_lie_in_the_grown_box_with_proper_rotations():
    bounds = np.array([[-0.05, -0.02, 0.4], [0.05, 0.02, 0.5]])
    T = uniform_poses(bounds, 500, np.random.default_rng(0), margin_m=0.1)
    assert np.all(T[:, :3, 3] >= bounds[0] - 0.1) and np.all(T[:, :3, 3] <= bounds[1] + 0.1)
    np.testing.assert_allclose(np.linalg.det(T[:, :3, :3]), 1.0, atol=1e-9)
    # uniform over SO(3): the approach axes' mean is near zero
    assert np.linalg.norm(T[:, :3, 2].mean(axis=0)) < 0.15


def test_uniform_poses_reject_non_finite_bounds():
    with pytest.raises(ValueError, match="bounds"):
        uniform_poses(np.array([[0, 0, np.nan], [1, 1, 1]]), 3, np.random.default_rng(0))


def test_evaluation_starts_are_qualified_and_pulled_back_from_the_grasp():
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.planning.evaluate import PULL_RANGE_M, is_qualified, make_problem
    from grasp_planner.sim.qualify import sample_qualified_poses

    rng = np.random.default_rng(0)
    mesh = procedural_object(3, 9001)
    grasp = sample_qualified_poses(mesh.vertices, mesh.faces, rng, 1)[0]
    problem = make_problem(mesh.name, mesh.vertices, mesh.faces, grasp, rng)
    assert problem is not None
    T_obj_start = np.linalg.inv(problem.T_cam_obj) @ problem.T_cam_start
    assert is_qualified(T_obj_start, ObjectGeometry.from_mesh(mesh.vertices, mesh.faces))
    pulled = (grasp[:3, 3] - T_obj_start[:3, 3]) @ grasp[:3, 2]
    assert PULL_RANGE_M[0] - 1e-9 <= pulled <= PULL_RANGE_M[1] + 1e-9


def test_rotvec_to_matrix_matches_scipy_including_zero_and_tiny_angles():
    from scipy.spatial.transform import Rotation

    from grasp_planner.planning.optimize import rotvec_to_matrix
    rotvec = np.random.default_rng(0).normal(size=(50, 3))
    rotvec[0], rotvec[1] = 0.0, 1e-10
    np.testing.assert_allclose(rotvec_to_matrix(rotvec), Rotation.from_rotvec(rotvec).as_matrix(), atol=1e-12)
