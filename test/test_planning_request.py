"""The ROS-free request layer (planning/request.py): config mapping, frames, TCP offset, constraints, one reply.

No rclpy here: everything the node does with numbers is tested as plain code. Plans use the peaked
test model on the top-down network view (planner.view: direct), with no time budget, so they are
repeatable and a reply can be compared with the planner's own result.
"""
import math
import time

import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand import posture as hand
from grasp_planner.planning import request as rq
from grasp_planner.planning.config import PlannerConfig, load_planner_config
from grasp_planner.planning.planner import GraspPlanner
from grasp_planner.pose import Pose
from peaked_model import export_peaked_model


@pytest.fixture(scope="module")
def scene(top_down_scene):
    depth, camera, _, _ = top_down_scene
    return depth, camera


@pytest.fixture(scope="module")
def planner(scene, tmp_path_factory):
    depth, _ = scene
    top = float(depth[depth > 0].min())
    card = export_peaked_model(tmp_path_factory.mktemp("peak") / "grasp_cnn.onnx", top - 0.03)
    config = PlannerConfig().replace(planner={"view": "direct"}, optimizer={"time_budget_s": None})
    return GraspPlanner.from_config(card, config)


def start_of(depth) -> Pose:
    return Pose.from_xyzrpy([0.03, -0.02, float(depth[depth > 0].min()) - 0.08, 0.0, 0.0, 0.3])


# --- node parameters onto PlannerConfig ------------------------------------------------------------
def test_the_planner_yaml_holds_where_no_parameter_is_set(tmp_path):
    path = tmp_path / "planner.yaml"
    path.write_text("optimizer:\n  max_iter: 8\nmultistart:\n  n_starts: 2\n")
    config = rq.planner_config(load_planner_config(path), {"starts": None, "max_iter": None, "alpha": None})
    assert config.optimizer.max_iter == 8 and config.multistart.n_starts == 2


def test_a_set_parameter_overrides_only_its_own_field(tmp_path):
    path = tmp_path / "planner.yaml"
    path.write_text("optimizer:\n  max_iter: 8\nbarrier:\n  alpha: 0.02\n")
    config = rq.planner_config(load_planner_config(path), {"starts": 6, "max_iter": None, "eps": 2e-4})
    assert (config.multistart.n_starts, config.optimizer.max_iter) == (6, 8)
    assert (config.barrier.alpha, config.barrier.eps_m) == (0.02, 2e-4)


def test_a_name_that_is_not_a_planner_parameter_is_refused():
    with pytest.raises(ValueError, match="not planner parameters"):
        rq.planner_config(PlannerConfig(), {"strats": 8})


# --- the depth image ---------------------------------------------------------------------------------
def test_16uc1_millimetres_become_float32_metres_once():
    camera = PinholeCamera.from_fov(64, 48, math.radians(50.0))
    mm = np.full(camera.shape, 550, np.uint16)
    image = rq.DepthImage.from_array(mm, camera)
    assert image.depth.dtype == np.float32 and image.depth[0, 0] == pytest.approx(0.55)


@pytest.mark.parametrize("depth, camera, words", [
    (np.zeros((48, 64), np.float32), PinholeCamera.from_fov(64, 48, 1.0), "not enough valid depth"),
    (np.ones((40, 64), np.float32), PinholeCamera.from_fov(64, 48, 1.0), "64x40 .WxH. but the camera is 64x48"),
    (np.ones((48, 64), np.float32), None, "all-zero K"),
])
def test_a_bad_image_is_invalid_input_saying_why(depth, camera, words):
    with pytest.raises(rq.RequestError, match=words) as info:
        rq.DepthImage.from_array(depth, camera)
    assert info.value.reason == "INVALID_INPUT"


# --- frames and the TCP offset -----------------------------------------------------------------------
def test_an_initial_tool_pose_in_another_frame_becomes_the_hand_pose_in_the_camera_frame():
    T_cam_base = Pose.from_xyzrpy([0.1, 0.0, 0.5, math.pi, 0.0, 0.0])        # looked up at the image stamp
    T_base_tool = Pose.from_xyzrpy([0.2, 0.1, 0.3, 0.0, 0.0, 0.4])
    T_hand_tool = hand.tcp_offset_from_xyzrpy([0.0, 0.0, -0.092, 0.0, 0.0, 0.0])
    req = rq.PlanRequest(None, T_hand_tool=T_hand_tool, initial_tool=T_base_tool, T_camera_initial=T_cam_base)
    T_cam_hand = req.initial_hand_camera()
    back = T_cam_base.inverse() @ T_cam_hand @ T_hand_tool                   # the tool pose again, base frame
    assert back.distance_to(T_base_tool)[0] < 1e-12
    np.testing.assert_allclose(T_cam_hand.translation - (T_cam_base @ T_base_tool).translation,
                               0.092 * (T_cam_base @ T_base_tool).rotation[:, 2], atol=1e-12)


def test_the_reply_holds_hand_and_tool_poses_in_the_output_frame(scene, planner):
    depth, camera = scene
    T_out_cam = Pose.from_xyzrpy([0.4, -0.1, 0.8, math.pi, 0.1, 0.5])
    T_hand_tool = hand.tcp_offset_from_xyzrpy([0.0, 0.01, -0.1, 0.0, 0.0, math.pi / 2])
    start = start_of(depth)
    req = rq.PlanRequest(rq.DepthImage.from_array(depth, camera), T_out_cam, T_hand_tool,
                         initial_tool=T_out_cam @ start @ T_hand_tool, T_camera_initial=T_out_cam.inverse(),
                         n_candidates=2)
    reply = rq.serve(planner, req)
    direct = planner.plan(depth, camera, start, n_candidates=2)
    assert reply.success and reply.reason == "NONE", reply.message
    assert len(reply.grasps) == len(direct.grasps)
    for g, d in zip(reply.grasps, direct.grasps):
        np.testing.assert_allclose(g.T_output_hand.matrix(), (T_out_cam @ d.pose).matrix(), atol=1e-9)
        np.testing.assert_allclose(g.T_output_tool.matrix(), (T_out_cam @ d.pose @ T_hand_tool).matrix(), atol=1e-9)
    np.testing.assert_allclose(reply.initial_hand.matrix(), (T_out_cam @ start).matrix(), atol=1e-9)
    assert reply.pre_grasp == hand.pre_grasp_posture("basic") and reply.grasp == hand.grasp_posture("basic", 0.5)


def test_a_workspace_box_in_the_output_frame_is_the_same_box_moved_to_the_camera_frame(scene, planner):
    depth, camera = scene
    T_out_cam = Pose.from_xyzrpy([0.0, 0.0, 1.0, math.pi, 0.0, 0.0])         # output z up, camera looking down
    image = rq.DepthImage.from_array(depth, camera)
    # camera x >= 2 cm (the peak is at x = 0): in the output frame x is the same, y and z flip
    lo_cam, hi_cam = np.array([0.02, -0.1, 0.0]), np.array([0.2, 0.1, 1.0])
    lo_out = (T_out_cam.rotation @ np.stack([lo_cam, hi_cam]).T).T.min(axis=0) + T_out_cam.translation
    hi_out = (T_out_cam.rotation @ np.stack([lo_cam, hi_cam]).T).T.max(axis=0) + T_out_cam.translation
    values = {"workspace.enabled": True, "workspace.frame": "output", "workspace.lo": tuple(lo_out),
              "workspace.hi": tuple(hi_out)}
    as_output = rq.serve(planner, rq.PlanRequest(image, T_out_cam, initial_tool=start_of(depth),
                                                 constraint_values=values))
    in_camera = planner.plan(depth, camera, start_of(depth), constraints=rq.PlanRequest(
        image, constraint_values={**values, "workspace.frame": "camera", "workspace.lo": tuple(lo_cam),
                                  "workspace.hi": tuple(hi_cam)}).constraints())
    assert as_output.reason == ("NONE" if in_camera.success else in_camera.reason.name)
    np.testing.assert_allclose(as_output.grasps[0].T_output_hand.matrix(),
                               (T_out_cam @ in_camera.grasps[0].pose).matrix(), atol=1e-6)


def test_bad_constraints_and_a_failed_plan_are_replies_with_a_reason_not_exceptions(scene, planner):
    depth, camera = scene
    image = rq.DepthImage.from_array(depth, camera)
    bad = rq.serve(planner, rq.PlanRequest(image, constraint_values={"approach_cone.enabled": True,
                                                                     "approach_cone.direction": (0, 0, 0)}))
    assert bad.reason == "INVALID_INPUT" and bad.message.startswith(rq.REASON_TEXT["INVALID_INPUT"])
    far = {"workspace.enabled": True, "workspace.frame": "camera", "workspace.lo": (2, 2, 2), "workspace.hi": (3, 3, 3)}
    out = rq.serve(planner, rq.PlanRequest(image, initial_tool=start_of(depth), constraint_values=far))
    assert not out.success and out.reason == "OUT_OF_WORKSPACE" and "workspace box" in out.message


def test_a_camera_image_is_converted_and_checked_once_from_the_request_to_the_plan(monkeypatch, tmp_path):
    """16UC1 millimetres are read by DepthImage.from_array; the planner and perception take them as they are."""
    from grasp_planner.perception import depth_input, view
    from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
    from grasp_planner.planning import planner as planner_module

    scene = load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])
    reads = []
    original = depth_input.read_depth
    monkeypatch.setattr(rq, "read_depth", lambda *a, **k: reads.append("request") or original(*a, **k))
    monkeypatch.setattr(view, "read_depth", lambda *a, **k: reads.append("perception") or original(*a, **k))
    monkeypatch.setattr(planner_module, "depth_to_metres", lambda d: reads.append("planner") or d)
    card = export_peaked_model(tmp_path / "grasp_cnn.onnx", 0.45)
    config = PlannerConfig().replace(optimizer={"max_iter": 2, "time_budget_s": None}, multistart={"n_starts": 1})
    image = rq.DepthImage.from_array(scene.depth_mm(), scene.camera)
    reply = rq.serve(GraspPlanner.from_config(card, config), rq.PlanRequest(image, initial_tool=scene.initial_pose))
    assert reads == ["request"] and reply.grasps, reply.message
    assert reply.reason in ("NONE", "LOW_SCORE", "NO_FEASIBLE_GRASP")


# --- what the node checks and says, as plain code ------------------------------------------------------
@pytest.mark.parametrize("present, age, limit, source, reason, words", [
    ((False, True), 0.0, 0.0, "latest", "NO_IMAGE", "no depth image received yet on /cam/depth"),
    ((False, True), 0.0, 0.0, "goal", "NO_IMAGE", "the goal has no depth image"),
    ((True, False), 0.0, 0.0, "latest", "NO_IMAGE", "no camera info received yet on /cam/info"),
    ((True, True), 0.25, 0.1, "latest", "STALE_IMAGE", "the latest depth image is 0.25 s old"),
])
def test_missing_or_stale_inputs_are_refused_with_their_reason(present, age, limit, source, reason, words):
    with pytest.raises(rq.RequestError, match=words) as info:
        rq.check_inputs(*present, age, limit, source, "/cam/depth", "/cam/info")
    assert info.value.reason == reason


def test_an_old_image_is_planned_on_when_no_age_limit_is_set():
    rq.check_inputs(True, True, 30.0, 0.0)
    rq.check_inputs(True, True, 0.09, 0.1)


def test_goals_asking_too_much_are_rejected_saying_the_limits():
    assert rq.goal_error(5, 1.0) is None and rq.goal_error(100, 60.0) is None
    assert "n_candidates must be <= 100" in rq.goal_error(101, 1.0)
    assert "got 5 and -1" in rq.goal_error(5, -1)


def test_a_request_arriving_while_a_plan_runs_is_refused_busy_not_queued(scene, planner):
    import threading

    depth, camera = scene
    one, inside, release, replies = rq.OnePlanAtATime(), threading.Event(), threading.Event(), []

    def slow_build():   # the first request holds the planner until released
        inside.set()
        release.wait(10)
        return rq.PlanRequest(rq.DepthImage.from_array(depth, camera), initial_tool=start_of(depth))
    first = threading.Thread(target=lambda: replies.append(one(planner, slow_build)))
    first.start()
    assert inside.wait(10)
    busy = one(planner, lambda: rq.PlanRequest(rq.DepthImage.from_array(depth, camera)))
    release.set()
    first.join(60)
    assert busy.reason == "BUSY" and busy.message.startswith(rq.REASON_TEXT["BUSY"])
    assert replies[0].success, replies[0].message
    assert one(planner, lambda: (_ for _ in ()).throw(rq.RequestError("TF_UNAVAILABLE", "no tf"))).reason == \
        "TF_UNAVAILABLE"     # refused in the build: the next request is served again


def test_a_waiting_request_is_served_after_the_running_plan_and_only_the_newest_waiter_is():
    import threading

    one, inside, release, turns = rq.OnePlanAtATime(), threading.Event(), threading.Event(), {}

    def hold():   # a plan that runs until released
        inside.set()
        release.wait(10)
        raise rq.RequestError("NO_IMAGE", "held")
    running = threading.Thread(target=lambda: one(None, hold))
    running.start()
    assert inside.wait(10)
    started = time.monotonic()
    one.wait_turn(0.05)
    assert time.monotonic() - started >= 0.045             # while the plan runs, a turn waits
    older = threading.Thread(target=lambda: turns.setdefault("older", one.wait_turn(10)))
    older.start()
    time.sleep(0.05)
    newer = threading.Thread(target=lambda: turns.setdefault("newer", one.wait_turn(10)))
    newer.start()
    time.sleep(0.05)
    assert not turns                                       # both wait while the plan runs: nothing was refused
    release.set()
    for t in (running, older, newer):
        t.join(10)
    assert turns == {"older": False, "newer": True}        # the newest is served next, the older one dropped
    assert one.wait_turn(1.0)                              # nothing running: a turn at once


def test_a_canceled_goal_keeps_its_grasps_and_says_canceled_and_the_log_line_names_the_reason():
    reply = rq.PlanReply(True, "NONE", "best of 1 start(s)", grasps=("g",))
    canceled = rq.canceled(reply)
    assert (canceled.success, canceled.reason, canceled.grasps) == (False, "CANCELED", ("g",))
    assert rq.log_line(reply) == "plan succeeded: best of 1 start(s)"
    assert rq.log_line(canceled).startswith("plan failed (CANCELED): the goal was canceled")
    assert rq.log_line(rq.refused("BUSY", "x")).startswith("plan refused (BUSY)")
