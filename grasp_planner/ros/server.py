"""The planner's ROS side, in vgn's server's shape: messages -> planning/request.PlanRequest -> ``request.serve``
-> messages, one plan at a time, never queued. A plan reads the latest image and camera info (best effort, depth 1)
or the goal's; an ``initial_pose`` is a default ``plan_grasp`` goal; a parameter change is applied whole or refused.
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

from grasp_planner.planning import request as rq
from grasp_planner.ros import conversions as conv
from grasp_planner.ros.diagnostics import DiagnosticsPublisher, PlannerStats
from grasp_planner.ros.frames import FrameResolver
from grasp_planner.ros.outputs import Outputs
from grasp_planner.ros.params import make_planner, model_card, params_from_values, reconfigured
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
        self._lock, self._one = threading.Lock(), rq.OnePlanAtATime()   # the lock: params and planner change together
        self._endpoints, self._outputs, self._action, self._image, self._info = [], None, None, None, None
        self.frames, self._diagnostics = FrameResolver(node), DiagnosticsPublisher(node, self.stats)
        node.add_on_set_parameters_callback(self._check_parameters)
        node.add_post_set_parameters_callback(self._apply_parameters)

    def activate(self):
        n, p, group = self.node, self.params, ReentrantCallbackGroup()
        self._endpoints = [
            n.create_subscription(Image, p.depth_topic, self._on_image, LATEST, callback_group=group),
            n.create_subscription(CameraInfo, p.camera_info_topic, lambda msg: setattr(self, "_info", msg), LATEST,
                                  callback_group=group),
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
        self._endpoints, self._outputs, self._action, self._image, self._info = [], None, None, None, None

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
        self._image = msg
        self.stats.image_received(conv.stamp_seconds(msg.header.stamp))

    def _snapshot(self):
        """The latest image and camera info with the parameters and planner of this moment, together."""
        with self._lock:
            return self._image, self._info, self.params, self.planner

    def _on_initial_pose(self, msg: PoseStamped):
        """A default goal on the latest image (the parameters' candidates, budget and constraints). One that arrives
        during a plan waits for it unless a newer one does too (OnePlanAtATime.wait_turn: the newest is served)."""
        if not self._one.wait_turn(2.0 * (self.planner.config.optimizer.time_budget_s or 5.0) + 0.5):
            self.stats.input_rejected("BUSY")    # superseded: the newer request is served instead
            return self.node.get_logger().warn(rq.log_line(rq.refused("BUSY", "superseded by a newer initial_pose")))
        self._plan(PlanGrasp.Goal(use_latest_image=True, use_initial_pose=True, initial_pose=msg), ("topic", "always"))

    def _on_goal(self, goal):
        error = rq.goal_error(goal.n_candidates, goal.time_budget)
        if error:
            self.node.get_logger().error(f"goal rejected: {error}")
        return GoalResponse.REJECT if error else GoalResponse.ACCEPT

    def _execute(self, goal_handle):
        start = time.monotonic()

        def on_iteration(it):
            goal_handle.publish_feedback(PlanGrasp.Feedback(iteration=int(it.iteration), best_score=float(
                it.best_score), elapsed=float(time.monotonic() - start)))
            if goal_handle.is_cancel_requested:
                raise StopIteration

        def settle(reply):    # the goal's end state; one canceled while it planned keeps its grasps
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                return rq.canceled(reply)
            goal_handle.succeed() if reply.success else goal_handle.abort()
            return reply

        return conv.result_msg(*self._plan(goal_handle.request, ("always",), on_iteration, settle))

    def _plan(self, goal, actuate_on, callback=None, settle=lambda reply: reply):
        """Serve a PlanGrasp goal: the reply counted, logged, ``settle``d and published (the gripper command
        if ``actuate_gripper`` is one of ``actuate_on``); (reply, output header, parameters) for the result."""
        image, info, p, planner = self._snapshot()
        if not goal.use_latest_image:
            image, info = goal.depth, (goal.camera_info if any(goal.camera_info.k) else info)

        def build():    # the node's checks (clock, topic names), then messages -> PlanRequest
            now = self.node.get_clock().now().nanoseconds * 1e-9
            rq.check_inputs(image is not None and bool(image.data), info is not None,
                            now - conv.stamp_seconds(image.header.stamp) if image is not None else 0.0,
                            p.max_image_age_s, "latest" if goal.use_latest_image else "goal",
                            *map(self.node.resolve_topic_name, (p.depth_topic, p.camera_info_topic)))
            return conv.plan_request(goal, image, info, p, self.frames.lookup, callback)

        reply = self._one(planner, build)
        if reply.reason in rq.REFUSED_REASONS:
            self.stats.input_rejected(reply.reason)
        self.stats.plan_finished(reply.reason, reply.message, reply.timings)
        if reply.success:    # one call site per severity: rclpy refuses to change it at one site
            self.node.get_logger().info(rq.log_line(reply))
        else:
            self.node.get_logger().error(rq.log_line(reply))
        reply, header, outputs = settle(reply), conv.output_header(image, p.output_frame), self._outputs
        if outputs is not None:    # read once: a deactivate may clear it meanwhile
            outputs.publish(reply, header, p, actuate=p.actuate_gripper in actuate_on)
        return reply, header, p

    def _check_parameters(self, parameters):
        try:   # the whole new set, and the planner config it gives, must hold before anything is stored
            reconfigured(self.params, {prm.name: prm.value for prm in parameters})
            return SetParametersResult(successful=True)
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))

    def _apply_parameters(self, parameters):
        changes = {prm.name: prm.value for prm in parameters}
        try:
            new, planner = reconfigured(self.params, changes, self.planner.scorer)   # same model, new settings
        except ValueError as err:  # checked before, so only a file changed meanwhile gets here
            return self.node.get_logger().error(f"parameters {sorted(changes)} not applied: {err}")
        with self._lock:
            self.params, self.planner = new, planner
        self.node.get_logger().info(f"parameters changed: {changes}")
