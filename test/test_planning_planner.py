"""GraspPlanner.plan, the facade the ROS node and the demo call: statuses, frames, budget, cancel."""
import time

import numpy as np
import pytest

pytest.importorskip("torch")

from grasp_planner.perception.scenes import bundled_scene_paths, load_scene  # noqa: E402
from grasp_planner.planning import GraspPlanner, PlannerConfig, PlanStatus  # noqa: E402
from grasp_planner.pose import Pose  # noqa: E402

from peaked_model import export_peaked_model  # noqa: E402


@pytest.fixture(scope="module")
def scene(top_down_scene):
    depth, camera, T_cam_obj, _ = top_down_scene
    return depth, camera, T_cam_obj


@pytest.fixture(scope="module")
def card(scene, tmp_path_factory):
    """A CNN peaked 3 cm above the object's top face, on its centre line: reachable, clear."""
    depth, _, _ = scene
    return export_peaked_model(tmp_path_factory.mktemp("peak") / "grasp_cnn.onnx", top_of(depth) - PEAK_ABOVE_TOP)


PEAK_ABOVE_TOP = 0.03
#: these tests plan on a network view, which only planner.view: direct does (issue 18: never inferred)
DIRECT = PlannerConfig().replace(planner={"view": "direct"})


def top_of(depth):
    return float(depth[depth > 0].min())


def above(depth, dx=0.03, dy=-0.02):
    top = top_of(depth)
    return Pose.from_xyzrpy([dx, dy, top - 0.08, 0.0, 0.0, 0.3])


def test_plan_on_a_network_view_returns_a_clear_grasp_in_the_camera_frame(scene, card):
    depth, camera, T_cam_obj = scene
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth))
    assert result.success and result.reason == PlanStatus.OK, result.message
    best = result.grasps[0]
    assert np.linalg.norm(best.pose.translation - [0, 0, top_of(depth) - PEAK_ABOVE_TOP]) < 3e-3
    assert best.distance > 1e-3 and best.score > 2.9
    assert best.probability == pytest.approx(1 / (1 + np.exp(-best.score)), abs=1e-6)
    assert set(result.timings) >= {"view", "features", "barrier", "optimization", "total"}


def test_plan_returns_distinct_ranked_candidates(scene, card):
    depth, camera, _ = scene
    config = DIRECT.replace(multistart={"n_starts": 6, "position_sigma_m": 0.03})
    result = GraspPlanner.from_config(card, config).plan(depth, camera, above(depth), n_candidates=3)
    scores = [g.score for g in result.grasps]
    assert 1 <= len(result.grasps) <= 3 and scores == sorted(scores, reverse=True)
    for i, a in enumerate(result.grasps):
        for b in result.grasps[i + 1:]:
            dist, angle = a.pose.distance_to(b.pose)
            assert dist >= 0.01 or angle >= 0.3


def test_plan_without_initial_pose_seeds_from_surface_normals(scene, card):
    depth, camera, _ = scene
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, None)
    assert result.success, result.message
    assert result.initial_pose is not None and result.grasps[0].distance > 0


@pytest.mark.parametrize("depth", [np.full((128, 128), np.nan, np.float32), np.zeros((0, 0), np.float32)])
def test_plan_reports_invalid_depth_as_invalid_input_naming_depth(scene, card, depth):
    _, camera, _ = scene
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, None)
    assert result.reason == PlanStatus.INVALID_INPUT and not result.success
    assert "depth" in result.message and result.grasps == ()


def test_plan_respects_the_time_budget_over_many_starts(scene, card):
    depth, camera, _ = scene
    config = DIRECT.replace(multistart={"n_starts": 200, "stop_probability": None})   # only the budget stops it
    budget = 0.15
    planner = GraspPlanner.from_config(card, config)   # loading the model is not part of a plan's budget
    start = time.perf_counter()
    result = planner.plan(depth, camera, above(depth), time_budget_s=budget)
    elapsed = time.perf_counter() - start
    assert elapsed < budget + 0.1        # one evaluation plus the final ranking may overrun
    assert result.grasps                 # the best pose found in time is still returned


def test_starts_stop_once_the_grasps_asked_for_reach_stop_probability(scene, card):
    depth, camera, _ = scene
    planner = GraspPlanner.from_config(card, DIRECT.replace(multistart={"n_starts": 6, "stop_probability": 0.5}))
    early = planner.plan(depth, camera, above(depth))
    assert early.success and early.grasps[0].probability >= 0.5
    assert early.starts == (1, 6) and "1 of 6 start(s)" in early.message and "budget" not in early.message
    every = planner.replaced(multistart={"n_starts": 6, "stop_probability": None}).plan(depth, camera, above(depth))
    assert every.starts == (6, 6) and every.grasps[0].score >= early.grasps[0].score - 1e-9
    # a probability the network never gives, or more distinct grasps than the peak holds: every start runs
    assert planner.replaced(multistart={"n_starts": 6, "stop_probability": 1.0}).plan(
        depth, camera, above(depth)).starts == (6, 6)


def test_plan_cancel_from_the_callback_reports_canceled(scene, card):
    depth, camera, _ = scene

    def cancel(info):
        raise StopIteration

    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth), callback=cancel)
    assert result.reason == PlanStatus.CANCELED and not result.success


def test_plan_on_a_tilted_real_camera_image_maps_grasps_back_to_that_camera(card):
    path = [p for p in bundled_scene_paths() if "tilt30" in p.name][0]
    scene = load_scene(path)
    result = GraspPlanner.from_config(card).plan(scene.depth_mm(), scene.camera, scene.initial_pose)
    assert result.reason in (PlanStatus.OK, PlanStatus.LOW_SCORE, PlanStatus.NO_FEASIBLE_GRASP), result.message
    target = scene.T_camera_object(0).translation
    # Planned in the virtual top-down view, reported in the real camera frame: near the object.
    assert np.linalg.norm(result.grasps[0].pose.translation - target) < 0.15
    assert np.allclose(result.initial_pose.matrix(), np.asarray(scene.initial_pose.matrix()
                       if isinstance(scene.initial_pose, Pose) else scene.initial_pose))
    assert result.timings["view"] > 0


def test_a_camera_image_as_millimetres_plans_exactly_as_the_same_image_in_metres(card):
    scene = load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])
    planner = GraspPlanner.from_config(card)
    mm = planner.plan(scene.depth_mm(), scene.camera, scene.initial_pose, time_budget_s=30.0)
    # the same float32 metres the one conversion gives (x * 1e-3 and x / 1000 differ in the last bit)
    metres = planner.plan(scene.depth_mm().astype(np.float32) * np.float32(1e-3), scene.camera,
                          scene.initial_pose, time_budget_s=30.0)
    assert mm.reason == metres.reason, (mm.message, metres.message)
    np.testing.assert_allclose(mm.grasps[0].pose.matrix(), metres.grasps[0].pose.matrix(), atol=1e-6)


def test_millimetres_on_the_direct_path_are_converted_to_metres_too(scene, card):
    """Issue 18: a uint16 image on the direct path skipped the mm -> m conversion."""
    depth, camera, _ = scene
    planner = GraspPlanner.from_config(card, DIRECT)
    mm = np.round(np.nan_to_num(depth) * 1000.0).astype(np.uint16)
    result = planner.plan(mm, camera, above(depth), time_budget_s=30.0)
    assert result.success, result.message
    assert np.linalg.norm(result.grasps[0].pose.translation - [0, 0, top_of(depth) - PEAK_ABOVE_TOP]) < 3e-3


def test_a_network_sized_image_is_a_camera_image_unless_the_config_says_direct(scene, card):
    """Issue 18: the mode was guessed from the size. A 128x128 view of an object with no table is not a
    table-top scene, so perception's view of it gives no usable grasp; only ``direct`` plans on it as it is."""
    depth, camera, _ = scene
    result = GraspPlanner.from_config(card).plan(depth, camera, above(depth))
    assert not result.success and result.timings.get("view", 0.0) > 0.0, result.message
    assert GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth)).success


def test_max_deviation_constraint_keeps_the_grasp_near_the_start(scene, card):
    from grasp_planner.planning.constraints import ConstraintSet, MaxDeviation
    depth, camera, _ = scene
    start = above(depth)   # about 4.7 cm from the network's peak
    limits = ConstraintSet((MaxDeviation(max_translation_m=0.01),))
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, start, constraints=limits)
    moved, _ = start.distance_to(result.grasps[0].pose)
    assert moved <= 0.01 + 1e-4 and result.reason != PlanStatus.OUT_OF_WORKSPACE, result.message
    plain = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, start)
    assert result.grasps[0].score > plain.grasps[0].score - 100


def test_max_deviation_without_an_initial_pose_is_not_measured_from_a_random_seed(scene, card):
    """Issue 18: with no initial pose the limit was measured from the first surface seed."""
    from grasp_planner.planning.constraints import ConstraintSet, MaxDeviation
    depth, camera, _ = scene
    tight = ConstraintSet((MaxDeviation(max_translation_m=0.001, max_angle_rad=0.01),))
    limited = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, None, constraints=tight)
    free = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, None)
    assert limited.success, limited.message
    np.testing.assert_allclose(limited.grasps[0].pose.matrix(), free.grasps[0].pose.matrix(), atol=1e-9)


def test_a_deviation_ball_that_misses_the_workspace_box_is_refused_before_planning(scene, card):
    """Issue 18: the pre-check ran before the deviation had its reference, so it never saw this."""
    from grasp_planner.planning.constraints import ConstraintSet, MaxDeviation, WorkspaceBox
    depth, camera, _ = scene
    far = ConstraintSet((WorkspaceBox([0.3, 0.3, 0.0], [0.4, 0.4, 1.0], "camera"), MaxDeviation(0.01)))
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth), constraints=far)
    assert result.reason == PlanStatus.INVALID_INPUT and "contradict" in result.message, result.message


def test_workspace_box_the_optimum_lies_outside_gives_out_of_workspace_or_a_grasp_inside(scene, card):
    from grasp_planner.planning.constraints import ConstraintSet, WorkspaceBox
    depth, camera, _ = scene
    box = WorkspaceBox(lo=[0.02, -0.1, 0.0], hi=[0.2, 0.1, 1.0], frame="camera")   # excludes x < 2 cm (the peak)
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth), constraints=ConstraintSet((box,)))
    if result.reason == PlanStatus.OUT_OF_WORKSPACE:
        assert "workspace" in result.message and not result.success
    else:
        assert result.grasps[0].pose.translation[0] >= 0.02 - 1e-4


def test_contradicting_constraints_are_invalid_input(scene, card):
    from grasp_planner.planning.constraints import ConstraintSet, WorkspaceBox
    depth, camera, _ = scene
    boxes = ConstraintSet((WorkspaceBox([0, 0, 0], [0.1, 0.1, 0.1], "camera"),
                           WorkspaceBox([0.5, 0.5, 0.5], [0.6, 0.6, 0.6], "camera")))
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth), constraints=boxes)
    assert result.reason == PlanStatus.INVALID_INPUT and "contradict" in result.message


def test_top_down_30_degree_cone_puts_the_result_approach_axis_inside_the_cone(scene, card):
    from grasp_planner.planning.constraints import ApproachCone, ConstraintSet
    depth, camera, _ = scene
    top = top_of(depth)
    sideways = Pose.from_xyzrpy([0.03, -0.02, top - 0.08, 0.0, 1.0, 0.3])   # approach axis 57 deg off straight down
    cone = ConstraintSet((ApproachCone(direction=[0.0, 0.0, 1.0], max_angle_rad=np.radians(30), frame="camera"),))
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, sideways, n_candidates=3, constraints=cone)
    assert result.success, result.message
    for grasp in result.grasps:   # every reported candidate, not only the best
        angle = np.degrees(np.arccos(np.clip(grasp.pose.rotation[2, 2], -1, 1)))
        assert angle <= 30.0 + 0.01


def test_a_workspace_box_far_from_the_object_is_out_of_workspace_never_a_success(scene, card):
    from grasp_planner.planning.constraints import ConstraintSet, WorkspaceBox
    depth, camera, _ = scene
    far = ConstraintSet((WorkspaceBox(lo=[2.0, 2.0, 2.0], hi=[2.1, 2.1, 2.1], frame="camera"),))
    result = GraspPlanner.from_config(card, DIRECT).plan(depth, camera, above(depth), constraints=far)
    assert not result.success
    assert result.reason == PlanStatus.OUT_OF_WORKSPACE
    assert "workspace box" in result.message
