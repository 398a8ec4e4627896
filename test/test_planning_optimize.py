"""optimize(): reaches a known peak, the barrier keeps the hand off the mesh, bad input is named,
the time budget and cancel are honoured. Real exported ONNX (test/peaked_model.py), real Klamp't."""
import time

import numpy as np
import pytest

pytest.importorskip("torch")

from grasp_planner.geometry import ObjectGeometry, hand_distance  # noqa: E402
from grasp_planner.planning import OptimizationStatus, PlannerConfig, optimize  # noqa: E402
from grasp_planner.planning.barrier import barrier_cost  # noqa: E402
from grasp_planner.planning.config import BarrierConfig  # noqa: E402
from grasp_planner.planning.scorer import GraspScorer  # noqa: E402
from grasp_planner.pose import Pose  # noqa: E402

from peaked_model import export_peaked_model  # noqa: E402

NO_BARRIER = PlannerConfig().replace(barrier={"enabled": False})


@pytest.fixture(scope="module")
def scene(top_down_scene):
    depth, camera, T_cam_obj, mesh = top_down_scene
    vertices_cam = mesh.vertices @ T_cam_obj[:3, :3].T + T_cam_obj[:3, 3]
    return depth, camera, T_cam_obj, ObjectGeometry.from_mesh(vertices_cam, mesh.faces)


@pytest.fixture(scope="module")
def scorer(scene, tmp_path_factory):
    """The peaked CNN whose best pose puts the palm at the object's centre (inside it)."""
    _, _, T_cam_obj, _ = scene
    return GraspScorer(export_peaked_model(tmp_path_factory.mktemp("peak") / "grasp_cnn.onnx", T_cam_obj[2, 3]))


def start_pose(depth):
    """Above the object, 3.6 cm off the centre line, yawed: 8 cm from the top face."""
    top = float(depth[depth > 0].min())
    return Pose.from_xyzrpy([0.03, -0.02, top - 0.08, 0.0, 0.0, 0.3])


def test_optimizer_reaches_the_known_peak_without_barrier(scene, scorer):
    depth, camera, T_cam_obj, _ = scene
    result = optimize(depth, camera, start_pose(depth), scorer, config=NO_BARRIER)
    assert result.success, result.message
    target = np.array([0.0, 0.0, T_cam_obj[2, 3]])
    assert np.linalg.norm(result.pose.translation - target) < 2e-3     # 2 mm
    assert result.logit > 2.9 > result.initial_logit                   # the peak is 3.0
    assert np.allclose(result.trajectory[0].matrix(), result.initial_pose.matrix())
    assert len(result.trajectory) == result.n_iter + 1


def random_starts(depth, n, seed=0):
    rng = np.random.default_rng(seed)
    top = float(depth[depth > 0].min())
    return [Pose.from_xyzrpy([*rng.normal(0, 0.03, 2), top - rng.uniform(0.03, 0.12), *rng.normal(0, 0.3, 2), 0.3])
            for _ in range(n)]


@pytest.mark.parametrize("method, restarts, at_least", [
    ("BFGS", 2, 0.9),        # measured 20/20 (seed 0, 20 starts)
    ("L-BFGS-B", 2, 0.9),    # measured 20/20
])
def test_most_random_starts_reach_the_peak(scene, scorer, method, restarts, at_least):
    depth, camera, _, _ = scene
    config = NO_BARRIER.replace(optimizer={"method": method, "restarts": restarts})
    results = [optimize(depth, camera, T0, scorer, config=config) for T0 in random_starts(depth, 12)]
    assert np.mean([r.logit > 2.9 for r in results]) >= at_least


def test_restarts_take_bfgs_past_relu_kinks(scene, scorer):
    """Without restarts BFGS can stall millimetres short of the peak on the |u| + |v| kink
    (measured 18/20 reach it without, 20/20 with; 12 starts here)."""
    depth, camera, _, _ = scene
    reached = {}
    for restarts in (0, 2):
        config = NO_BARRIER.replace(optimizer={"restarts": restarts})
        results = [optimize(depth, camera, T0, scorer, config=config) for T0 in random_starts(depth, 12)]
        reached[restarts] = sum(r.logit > 2.9 for r in results)
    assert reached[2] >= reached[0] and reached[2] == 12


def test_barrier_keeps_the_final_pose_out_of_collision_with_the_mesh(scene, scorer):
    depth, camera, _, geometry = scene
    free = optimize(depth, camera, start_pose(depth), scorer, geometry=geometry, config=NO_BARRIER)
    kept = optimize(depth, camera, start_pose(depth), scorer, geometry=geometry, config=PlannerConfig())
    # Without the barrier the network's peak is inside the object; with it the hand stays out.
    assert hand_distance(geometry, free.pose.matrix()) == 0.0
    assert hand_distance(geometry, kept.pose.matrix()) > 1e-3
    assert kept.success and kept.distance == pytest.approx(hand_distance(geometry, kept.pose.matrix()))


def test_barrier_from_the_depth_image_also_keeps_the_hand_out(scene, scorer):
    depth, camera, _, geometry = scene
    result = optimize(depth, camera, start_pose(depth), scorer, geometry=None, config=PlannerConfig())
    assert result.distance > 1e-3
    assert hand_distance(geometry, result.pose.matrix()) > 0.0   # the true mesh agrees


def test_barrier_costs_about_500_at_contact_and_nothing_beyond_the_cutoff():
    config = BarrierConfig()
    cost = barrier_cost([0.0, config.cutoff_m * 0.999, config.cutoff_m, 0.1, -0.01], config)
    assert 450 <= cost[0] <= 550                # the paper: about 500 at d = 0
    assert cost[1] == pytest.approx(0.0, abs=0.01) and cost[2] == 0.0 and cost[3] == 0.0
    assert np.isfinite(cost[4]) and cost[4] > cost[0]   # penetration costs more, never inf


@pytest.mark.parametrize("name, depth", [
    ("all NaN", np.full((128, 128), np.nan, np.float32)),
    ("all inf", np.full((128, 128), np.inf, np.float32)),
    ("all zero", np.zeros((128, 128), np.float32)),
    ("empty", np.zeros((0, 0), np.float32)),
    ("wrong size", np.full((64, 64), 0.5, np.float32)),
])
def test_bad_depth_raises_value_error_naming_depth(scene, scorer, name, depth):
    _, camera, _, _ = scene
    with pytest.raises(ValueError, match="depth"):
        optimize(depth, camera, Pose.identity(), scorer, config=NO_BARRIER)


def test_nan_initial_pose_raises_value_error_naming_it(scene, scorer):
    depth, camera, _, _ = scene
    bad = np.eye(4)
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="initial_pose"):
        optimize(depth, camera, bad, scorer, config=NO_BARRIER)


def test_a_few_nan_pixels_are_holes_not_errors(scene, scorer):
    depth, camera, _, _ = scene
    holey = depth.copy()
    holey[::7, ::5] = np.nan
    result = optimize(holey, camera, start_pose(depth), scorer, config=NO_BARRIER)
    assert result.success


def test_missing_model_card_raises_value_error_naming_the_file(tmp_path):
    missing = tmp_path / "no_such_model.json"
    with pytest.raises(ValueError, match="no_such_model.json"):
        GraspScorer(missing)


def test_time_budget_stops_the_run_and_keeps_the_best_pose(scene, scorer):
    depth, camera, _, _ = scene
    budget = 0.05

    def slow(info):
        time.sleep(0.02)   # an iteration slower than the budget allows for the whole run

    start = time.perf_counter()
    result = optimize(depth, camera, start_pose(depth), scorer, config=NO_BARRIER, callback=slow,
                      time_budget_s=budget)
    elapsed = time.perf_counter() - start
    assert result.status == OptimizationStatus.TIMEOUT
    assert elapsed < budget + 0.05                   # at most one iteration over
    assert result.logit >= result.initial_logit and result.success


def test_callback_stop_iteration_cancels_with_the_best_pose_so_far(scene, scorer):
    depth, camera, _, _ = scene
    seen = []

    def cancel_at_two(info):
        seen.append((info.iteration, info.best_score))
        if info.iteration == 2:
            raise StopIteration

    result = optimize(depth, camera, start_pose(depth), scorer, config=NO_BARRIER, callback=cancel_at_two)
    assert result.status == OptimizationStatus.CANCELED and not result.success
    assert result.n_iter == 2 and [s[0] for s in seen] == [1, 2]
    assert seen[1][1] >= seen[0][1] and np.isfinite(result.logit)


def test_split_head_scores_equal_the_plain_head(scene, scorer):
    depth, camera, _, _ = scene
    plain = GraspScorer(scorer.card_path, use_split_head=False)
    assert scorer.uses_split_head and not plain.uses_split_head
    rng = np.random.default_rng(0)
    poses = np.stack([Pose.from_xyzrpy(x).matrix() for x in
                      rng.normal([0, 0, 0.45, 0, 0, 0], [0.03, 0.03, 0.03, 0.5, 0.5, 3], (13, 6))])
    a = scorer.logits(scorer.image_features(depth, camera), poses)
    b = plain.logits(plain.image_features(depth, camera), poses)
    np.testing.assert_allclose(a, b, atol=1e-4)
