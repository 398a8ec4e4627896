"""The planner's ROS side, in the shape of vgn's server: callbacks turn messages into a
planning/request.PlanRequest, call ``request.serve`` and turn the reply back into messages.

One ``PlanServer`` per configured node (both node variants own one). Subscribes ``depth/image`` and
``depth/camera_info`` (best effort, depth 1: a plan reads the latest pair under a lock, nothing
queues) and ``initial_pose`` (each message plans once); serves the ``plan_grasp`` action. One plan
at a time: a request arriving meanwhile ends BUSY. Parameters are read once per plan (one snapshot
of parameters and planner); a live change that cannot be applied is refused, never half-stored.
"""
from __future__ import annotations

import threading
import time

import rclpy
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import SetParametersResult
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from grasp_planner.planning import request as rq
from grasp_planner.pose import Pose
from grasp_planner.ros import conversions as conv
from grasp_planner.ros.diagnostics import DiagnosticsPublisher, PlannerStats
from grasp_planner.ros.frames import FrameError, FrameResolver
from grasp_planner.ros.outputs import Outputs, result_msg
from grasp_planner.ros.params import params_from_values, resolve_model_path, updated, with_goal_constraints
from grasp_planner_interfaces.action import PlanGrasp

#: the latest image only: a camera at 30 Hz never builds a backlog behind a plan
LATEST = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
#: outcome reasons that mean the request itself was refused (counted as rejected inputs)
REJECTED_INPUT_REASONS = {"NO_IMAGE", "STALE_IMAGE", "INVALID_INPUT", "TF_UNAVAILABLE", "BUSY"}


def make_planner(p, scorer=None):
    """The planner for parameters ``p`` (reusing a loaded ``scorer``); ValueError naming the model or config file."""
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.ros.adapters import import_interface

    if p.gripper_format == "gripper_action":
        try:
            import_interface(p.gripper_action_type)
        except ImportError as err:
            raise ValueError(f"gripper_format gripper_action: {err}") from None
    config = p.planner_config_object()
    if scorer is not None:
        return GraspPlanner(scorer, config)
    return GraspPlanner.from_config(model_card(p), config)


def model_card(p):
    """The model card the parameters name (ValueError listing where it was looked for)."""
    return resolve_model_path(p.model_path, share_directory())


def share_directory() -> str | None:
    """The installed share/grasp_planner, or None in a source checkout without an ament index."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory("grasp_planner")
    except Exception:  # PackageNotFoundError or no ament_index_python
        return None


class PlanServer:
    """Loads the model for ``values`` (ValueError if it cannot) and serves it on ``node`` once ``activate``d."""

    def __init__(self, node, values: dict):
        self.node = node
        self.params = params_from_values(values)
        self.planner = make_planner(self.params)
        self.stats = PlannerStats(clock=lambda: node.get_clock().now().nanoseconds * 1e-9)
        self.card = model_card(self.params)
        self.stats.model_loaded(self.card.name, dict(getattr(self.planner.scorer.card, "metrics", {}) or {}))
        self._lock, self._busy = threading.Lock(), threading.Lock()
        self._image = self._info = None
        self._endpoints, self._outputs, self._action = [], None, None
        self.frames = FrameResolver(node)
        self._diagnostics = DiagnosticsPublisher(node, self.stats)
        node.add_on_set_parameters_callback(self._check_parameters)
        node.add_post_set_parameters_callback(self._apply_parameters)

    # --- life ------------------------------------------------------------------------------------
    def activate(self):
        n, p, group = self.node, self.params, ReentrantCallbackGroup()
        self._endpoints = [
            n.create_subscription(Image, p.depth_topic, self._on_image, LATEST, callback_group=group),
            n.create_subscription(CameraInfo, p.camera_info_topic, self._on_info, LATEST, callback_group=group),
            n.create_subscription(PoseStamped, p.initial_pose_topic, self._on_initial_pose, 1, callback_group=group)]
        self._outputs = Outputs(n, p)
        self._action = ActionServer(n, PlanGrasp, "plan_grasp", execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=lambda _: CancelResponse.ACCEPT,
                                    callback_group=group)

    def deactivate(self):
        if self._action is not None:
            self._action.destroy()
            self._outputs.destroy()
        for sub in self._endpoints:
            self.node.destroy_subscription(sub)
        self._endpoints, self._outputs, self._action = [], None, None
        with self._lock:
            self._image = self._info = None

    def destroy(self):
        """Release everything: endpoints, the tf listener, /diagnostics and the parameter callbacks."""
        self.deactivate()
        self._diagnostics.destroy()
        self.frames.close()
        self.node.remove_on_set_parameters_callback(self._check_parameters)
        self.node.remove_post_set_parameters_callback(self._apply_parameters)
        self.planner = None
        self.stats.model_loaded(None)

    # --- inputs ----------------------------------------------------------------------------------
    def _on_image(self, msg: Image):
        with self._lock:
            self._image = msg
        self.stats.image_received(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    def _on_info(self, msg: CameraInfo):
        with self._lock:
            self._info = msg

    def _snapshot(self):
        """The latest image and camera info with the parameters and planner of this moment, together."""
        with self._lock:
            return self._image, self._info, self.params, self.planner

    def _on_initial_pose(self, msg: PoseStamped):
        image, info, p, planner = self._snapshot()
        header, reply = self._serve(planner, p, image, info, msg, p.n_candidates, p.time_budget_s,
                                    p.constraint_values(), "latest")
        if self._outputs is not None:
            self._outputs.publish(reply, header, p, actuate=p.actuate_gripper != "never")

    def _on_goal(self, goal):
        if goal.n_candidates > 100 or not 0.0 <= goal.time_budget <= 60.0:
            self.node.get_logger().error(f"goal rejected: n_candidates must be <= 100 and time_budget in [0, 60] "
                                         f"s, got {goal.n_candidates} and {goal.time_budget}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _execute(self, goal_handle):
        goal, start = goal_handle.request, time.monotonic()
        image, info, p, planner = self._snapshot()
        if not goal.use_latest_image:
            image, info = goal.depth, (goal.camera_info if any(goal.camera_info.k) else info)

        def on_iteration(it):
            goal_handle.publish_feedback(PlanGrasp.Feedback(iteration=int(it.iteration), best_score=float(
                it.best_score), elapsed=float(time.monotonic() - start)))
            if goal_handle.is_cancel_requested:
                raise StopIteration

        header, reply = self._serve(
            planner, p, image, info, goal.initial_pose if goal.use_initial_pose else None,
            goal.n_candidates or p.n_candidates, goal.time_budget or p.time_budget_s,
            with_goal_constraints(p.constraint_values(), conv.goal_constraint_fields(goal)),
            "latest" if goal.use_latest_image else "goal", on_iteration)
        if goal_handle.is_cancel_requested:
            reply = rq.PlanReply(False, "CANCELED", rq.failure_message("CANCELED", "cancel requested by the client"),
                                 reply.grasps, pre_grasp=reply.pre_grasp, grasp=reply.grasp)
            goal_handle.canceled()
        elif reply.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        if self._outputs is not None:
            self._outputs.publish(reply, header, p, actuate=p.actuate_gripper == "always")
        return result_msg(reply, header, p)

    # --- one plan --------------------------------------------------------------------------------
    def _serve(self, planner, p, image, info, pose_msg, n, budget, constraint_values, source, callback=None):
        """(output header, PlanReply) of one request; every failure is a reply, logged."""
        header = Header()
        if not self._busy.acquire(blocking=False):
            reply = rq.refused("BUSY", "requests are not queued; retry when the running plan ends")
        else:
            try:
                req, header = self._request(p, image, info, pose_msg, n, budget, constraint_values, source, callback)
                reply = rq.serve(planner, req)
            except rq.RequestError as err:
                reply = rq.refused(err.reason, str(err))
            except Exception as err:  # the planner failed unexpectedly: report it, keep serving
                reply = rq.refused("INTERNAL_ERROR", f"{type(err).__name__}: {err}")
            finally:
                self._busy.release()
        if reply.reason in REJECTED_INPUT_REASONS:
            self.stats.input_rejected(reply.reason)
        self.stats.plan_finished(reply.reason, reply.message, reply.timings)
        log = self.node.get_logger()
        if reply.success:
            log.info(f"plan succeeded: {reply.message}")
        else:
            log.error(f"plan {'refused' if reply.reason in REJECTED_INPUT_REASONS else 'failed'} ({reply.reason}): "
                      f"{reply.message}")
        return header, reply

    def _request(self, p, image, info, pose_msg, n, budget, constraint_values, source, callback):
        """Messages -> PlanRequest: image age, tf lookups at the image stamp; RequestError if refused."""
        if image is None or not image.data:
            raise rq.RequestError("NO_IMAGE", "the goal has no depth image (fill depth or set use_latest_image)"
                                  if source == "goal" else
                                  f"no depth image received yet on {self.node.resolve_topic_name(p.depth_topic)}")
        if info is None:
            raise rq.RequestError("NO_IMAGE", "no camera info received yet on "
                                              f"{self.node.resolve_topic_name(p.camera_info_topic)}")
        age = (self.node.get_clock().now() - rclpy.time.Time.from_msg(image.header.stamp)).nanoseconds * 1e-9
        if p.max_image_age_s > 0 and age > p.max_image_age_s:
            raise rq.RequestError("STALE_IMAGE", f"the {source} depth image is {age:.2f} s old "
                                                 f"(max_image_age_s = {p.max_image_age_s})")
        try:
            depth = conv.image_to_array(image)
            pose = None if pose_msg is None else conv.pose_msg_to_pose(pose_msg.pose)
        except ValueError as err:
            raise rq.RequestError("INVALID_INPUT", str(err)) from None
        frame, stamp = image.header.frame_id, image.header.stamp
        out_frame = p.output_frame or frame
        T_out_cam = self._lookup(out_frame, frame, stamp, p)
        T_cam_initial = self._lookup(frame, pose_msg.header.frame_id, stamp, p) if pose_msg is not None else None
        req = rq.PlanRequest(rq.DepthImage.from_array(depth, conv.camera_info_to_camera(info)), T_out_cam,
                             p.T_hand_tool(), pose, T_cam_initial or Pose.identity(),
                             constraint_values, n, budget, p.hand_mode, p.gripper_force, callback)
        return req, Header(stamp=stamp, frame_id=out_frame)

    def _lookup(self, target, source, stamp, p):
        try:
            return self.frames.lookup(target, source, stamp, p.tf_timeout_s)
        except FrameError as err:
            raise rq.RequestError("TF_UNAVAILABLE", str(err)) from None

    # --- parameters ------------------------------------------------------------------------------
    def _check_parameters(self, parameters):
        try:   # the whole new set, and the planner config it gives, must hold before anything is stored
            updated(self.params, {prm.name: prm.value for prm in parameters}).planner_config_object()
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        changes = {prm.name: prm.value for prm in parameters}
        try:
            new = updated(self.params, changes)
            planner = make_planner(new, self.planner.scorer)      # same model: only the settings change
        except ValueError as err:  # checked before, so only a file changed meanwhile gets here
            self.node.get_logger().error(f"parameters {sorted(changes)} not applied: {err}")
            return
        with self._lock:
            self.params, self.planner = new, planner
        self.node.get_logger().info(f"parameters changed: {changes}")
