"""``grasp_planner_lifecycle_node``: the planner node as a managed (lifecycle) node.

Same topics, action, parameters and behaviour as ``grasp_planner_node`` (ros/node.py), with its
life driven by a lifecycle manager (``lifecycle_msgs/srv/ChangeState`` on ``~/change_state``):

* configure: validate the parameters and load the model; a missing or broken model fails the
  transition with the reason logged ("configure failed: model file not found: ..."). The
  ``/diagnostics`` publisher starts here, so a configured but inactive planner is visible.
* activate: subscriptions, publishers and the ``plan_grasp`` action server are created: serving.
* deactivate: they are destroyed: no plans, no action server (clients see it disappear).
* cleanup / shutdown: the model and the diagnostics publisher are freed.

The request handling is the regular node's (its methods are reused, not copied); this class only
adds the transitions and feeds ``ros/diagnostics.py``.
"""
from __future__ import annotations

import threading

import rclpy
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.action import ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from grasp_planner.ros import node as regular
from grasp_planner.ros.diagnostics import DiagnosticsPublisher, PlannerStats
from grasp_planner.ros.frames import FrameResolver
from grasp_planner.ros.params import declare_params, resolve_model_path
from grasp_planner_interfaces.action import PlanGrasp
from grasp_planner_interfaces.msg import GraspArray, Robotiq3FCommand

#: outcome reasons that mean the request itself was refused (counted as rejected inputs)
REJECTED_INPUT_REASONS = {"NO_IMAGE", "STALE_IMAGE", "INVALID_INPUT", "TF_UNAVAILABLE", "BUSY"}
#: the regular node's request handling, reused as is
_SERVING_METHODS = ("_on_info", "_on_initial_pose", "_on_goal", "_on_cancel", "_execute", "_read_image",
                    "_read_pose", "_lookup", "_grasp_msgs", "_result", "_publish", "_check_parameters",
                    "_apply_parameters")


class _RecordingPlanner:
    """The planner facade, with each plan's reason and per-stage times recorded for diagnostics."""

    def __init__(self, planner, stats: PlannerStats):
        self._planner, self._stats = planner, stats

    def plan(self, *args, **kwargs):
        result = self._planner.plan(*args, **kwargs)
        reason = "NONE" if result.success else getattr(result.reason, "name", str(result.reason))
        self._stats.plan_finished(reason, result.message, result.timings)
        return result

    def __getattr__(self, name):
        return getattr(self._planner, name)


class LifecycleGraspPlannerNode(LifecycleNode):
    """Managed variant of ``GraspPlannerNode``: nothing is loaded or served before configure/activate."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        self._param_error: str | None = None
        try:
            self.params = declare_params(self)
        except ValueError as err:          # reported by configure, so a manager sees the failure
            self.params, self._param_error = None, str(err)
        self._stats = PlannerStats(clock=lambda: self.get_clock().now().nanoseconds * 1e-9)
        self._planner = None
        self._frames = None
        self._diagnostics = None
        self._endpoints: list = []          # subscriptions made by activate
        self._publishers_made: list = []    # publishers made by activate
        self._action = None
        self._image: Image | None = None
        self._info: CameraInfo | None = None
        self._busy = threading.Lock()
        self._param_callback = None

    # --- transitions -------------------------------------------------------------------------------
    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            if self._param_error is not None:
                raise ValueError(self._param_error)
            card = resolve_model_path(self.params.model_path, regular.share_directory())
            self._planner = _RecordingPlanner(regular.make_planner(self.params), self._stats)
        except ValueError as err:
            self.get_logger().error(f"configure failed: {err}")
            return TransitionCallbackReturn.FAILURE
        self._stats.model_loaded(card.name, getattr(self._planner.scorer.card, "metrics", {}))
        self._frames = FrameResolver(self)
        self._diagnostics = DiagnosticsPublisher(self, self._stats)
        self.get_logger().info(f"configured: model {card}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        p = self.params
        group = ReentrantCallbackGroup()
        self._endpoints = [
            self.create_subscription(Image, p.depth_topic, self._on_image, qos_profile_sensor_data,
                                     callback_group=group),
            self.create_subscription(CameraInfo, p.camera_info_topic, self._on_info, qos_profile_sensor_data,
                                     callback_group=group),
            self.create_subscription(PoseStamped, p.initial_pose_topic, self._on_initial_pose, 1,
                                     callback_group=group)]
        self._grasp_pub = self.create_publisher(PoseStamped, "grasp", 1)
        self._score_pub = self.create_publisher(Float32, "grasp_score", 1)
        self._detailed_pub = self.create_publisher(GraspArray, "grasp_detailed", 1)
        self._candidates_pub = self.create_publisher(PoseArray, "grasp_candidates", 1)
        self._markers_pub = self.create_publisher(MarkerArray, "markers", 1)
        self._registers_pub = (self.create_publisher(Robotiq3FCommand, p.gripper_topic, 1)
                               if p.gripper_format in ("registers", "both") else None)
        traj_topic = p.gripper_topic + ("_trajectory" if p.gripper_format == "both" else "")
        self._trajectory_pub = (self.create_publisher(JointTrajectory, traj_topic, 1)
                                if p.gripper_format in ("joint_trajectory", "both") else None)
        self._publishers_made = [pub for pub in (self._grasp_pub, self._score_pub, self._detailed_pub,
                                                 self._candidates_pub, self._markers_pub, self._registers_pub,
                                                 self._trajectory_pub) if pub is not None]
        self._action = ActionServer(self, PlanGrasp, "plan_grasp", execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=group)
        self._param_callback = self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.get_logger().info("active: serving plan_grasp")
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_serving()
        self.get_logger().info("inactive: not serving")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._free()
        self.get_logger().info("cleaned up: model unloaded")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._stop_serving()
        self._free()
        return TransitionCallbackReturn.SUCCESS

    def _stop_serving(self):
        if self._action is not None:
            self._action.destroy()
            self._action = None
        for sub in self._endpoints:
            self.destroy_subscription(sub)
        for pub in self._publishers_made:
            self.destroy_publisher(pub)
        self._endpoints, self._publishers_made = [], []
        if self._param_callback is not None:
            self.remove_on_set_parameters_callback(self._param_callback)
            self.remove_post_set_parameters_callback(self._apply_parameters)
            self._param_callback = None
        self._image = self._info = None

    def _free(self):
        if self._diagnostics is not None:
            self._diagnostics.destroy()
            self._diagnostics = None
        self._planner = None
        self._frames = None
        self._stats.model_loaded(None)

    # --- serving (the regular node's handlers, plus diagnostics) ----------------------------------------
    def _on_image(self, msg: Image):
        self._image = msg
        self._stats.image_received(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    def _plan(self, image, info, pose_msg, n_candidates, time_budget_s, callback):
        outcome = regular.GraspPlannerNode._plan(self, image, info, pose_msg, n_candidates, time_budget_s, callback)
        if outcome.reason in REJECTED_INPUT_REASONS:
            self._stats.input_rejected(outcome.reason)
            self._stats.plan_finished(outcome.reason, outcome.message, {})
        return outcome


for _name in _SERVING_METHODS:
    setattr(LifecycleGraspPlannerNode, _name, getattr(regular.GraspPlannerNode, _name))


def main(args=None):
    """Run the managed node until Ctrl-C; transitions come from a lifecycle manager."""
    rclpy.init(args=args)
    node = LifecycleGraspPlannerNode()
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
