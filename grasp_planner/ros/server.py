"""The planner's ROS side, in the shape of vgn's server: messages -> planning/request.PlanRequest ->
``request.serve`` -> messages, one plan at a time (request.OnePlanAtATime: BUSY, never queued).

``depth/image`` and ``depth/camera_info`` are best effort, depth 1, kept under a lock (a plan reads the
latest pair); each ``initial_pose`` plans once; ``plan_grasp`` is the action. A plan reads one snapshot
of parameters and planner; a live change that cannot be applied is refused, never half-stored.
"""
from __future__ import annotations

import threading
import time

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
from grasp_planner.ros.params import (make_planner, model_card, params_from_values, reconfigured,
                                      with_goal_constraints)
from grasp_planner_interfaces.action import PlanGrasp

#: the latest image only: a camera at 30 Hz never builds a backlog behind a plan
LATEST = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)


class PlanServer:
    """Loads the model for ``values`` (ValueError if it cannot) and serves it on ``node`` once ``activate``d."""

    def __init__(self, node, values: dict):
        self.node, self.params = node, params_from_values(values)
        self.planner, self.card = make_planner(self.params), model_card(self.params)
        self.stats = PlannerStats(clock=lambda: node.get_clock().now().nanoseconds * 1e-9)
        self.stats.model_loaded(self.card.name, dict(getattr(self.planner.scorer.card, "metrics", {}) or {}))
        self._lock, self._one = threading.Lock(), rq.OnePlanAtATime()
        self._image = self._info = self._outputs = self._action = None
        self._endpoints = []
        self.frames = FrameResolver(node)
        self._diagnostics = DiagnosticsPublisher(node, self.stats)
        node.add_on_set_parameters_callback(self._check_parameters)
        node.add_post_set_parameters_callback(self._apply_parameters)

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

    def _on_image(self, msg: Image):
        with self._lock:
            self._image = msg
        self.stats.image_received(conv.stamp_seconds(msg.header.stamp))

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
        error = rq.goal_error(goal.n_candidates, goal.time_budget)
        if error:
            self.node.get_logger().error(f"goal rejected: {error}")
        return GoalResponse.REJECT if error else GoalResponse.ACCEPT

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
            reply = rq.canceled(reply)
            goal_handle.canceled()
        else:
            goal_handle.succeed() if reply.success else goal_handle.abort()
        if self._outputs is not None:
            self._outputs.publish(reply, header, p, actuate=p.actuate_gripper == "always")
        return result_msg(reply, header, p)

    def _serve(self, planner, p, image, info, pose_msg, n, budget, constraint_values, source, callback=None):
        """(output header, PlanReply) of one request; every failure is a reply, logged."""
        header = Header()

        def build():    # messages -> PlanRequest, the frames looked up at the image stamp
            nonlocal header
            now = self.node.get_clock().now().nanoseconds * 1e-9
            rq.check_inputs(image is not None and bool(image.data), info is not None,
                            now - conv.stamp_seconds(image.header.stamp) if image is not None else 0.0,
                            p.max_image_age_s, source, self.node.resolve_topic_name(p.depth_topic),
                            self.node.resolve_topic_name(p.camera_info_topic))
            try:
                depth, camera, pose = conv.request_inputs(image, info, pose_msg)
            except ValueError as err:
                raise rq.RequestError("INVALID_INPUT", str(err)) from None
            frame, stamp = image.header.frame_id, image.header.stamp
            header = Header(stamp=stamp, frame_id=p.output_frame or frame)
            T_out_cam = self._lookup(header.frame_id, frame, stamp, p)
            T_cam_initial = Pose.identity() if pose_msg is None else self._lookup(frame, pose_msg.header.frame_id,
                                                                                  stamp, p)
            return rq.PlanRequest(rq.DepthImage.from_array(depth, camera), T_out_cam, p.T_hand_tool(), pose,
                                  T_cam_initial, constraint_values, n, budget, p.hand_mode, p.gripper_force, callback)

        reply = self._one(planner, build)
        if reply.reason in rq.REFUSED_REASONS:
            self.stats.input_rejected(reply.reason)
        self.stats.plan_finished(reply.reason, reply.message, reply.timings)
        if reply.success:    # one call site per severity: rclpy refuses to change it at one site
            self.node.get_logger().info(rq.log_line(reply))
        else:
            self.node.get_logger().error(rq.log_line(reply))
        return header, reply

    def _lookup(self, target, source, stamp, p):
        try:
            return self.frames.lookup(target, source, stamp, p.tf_timeout_s)
        except FrameError as err:
            raise rq.RequestError("TF_UNAVAILABLE", str(err)) from None

    def _check_parameters(self, parameters):
        try:   # the whole new set, and the planner config it gives, must hold before anything is stored
            reconfigured(self.params, {prm.name: prm.value for prm in parameters})
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        changes = {prm.name: prm.value for prm in parameters}
        try:
            new, planner = reconfigured(self.params, changes, self.planner.scorer)   # same model, new settings
        except ValueError as err:  # checked before, so only a file changed meanwhile gets here
            return self.node.get_logger().error(f"parameters {sorted(changes)} not applied: {err}")
        with self._lock:
            self.params, self.planner = new, planner
        self.node.get_logger().info(f"parameters changed: {changes}")
