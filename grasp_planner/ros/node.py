"""``grasp_planner_node``: depth image + initial pose in, ranked grasps, markers and a Robotiq command out.

Topics (relative, so a namespace or remapping places them): subscribes ``depth/image``,
``depth/camera_info`` (sensor-data QoS, only the latest pair is kept) and ``initial_pose`` (each
message triggers a plan); publishes ``grasp``, ``grasp_score``, ``grasp_detailed``,
``grasp_candidates``, ``markers`` and the gripper command. Action ``plan_grasp`` (PlanGrasp).
One plan runs at a time: a goal or pose arriving meanwhile is refused with reason BUSY.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import rclpy
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rcl_interfaces.msg import SetParametersResult
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32, Header
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from grasp_planner.perception.depth_input import read_depth
from grasp_planner.pose import Pose
from grasp_planner.ros import conversions as conv
from grasp_planner.ros import markers, robotiq
from grasp_planner.ros.frames import FrameError, FrameResolver
from grasp_planner.ros.params import declare_params, resolve_model_path, updated
from grasp_planner_interfaces.action import PlanGrasp
from grasp_planner_interfaces.msg import FailureReason, GraspArray, Robotiq3FCommand

#: parameters whose change rebuilds the planner
PLANNER_PARAMS = {"alpha", "eps", "starts", "max_iter", "time_budget_s"}


class RequestError(Exception):
    """A request the node refuses: ``reason`` is a FailureReason name, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class Outcome:
    """One plan, in the output frame."""

    success: bool
    reason: str
    message: str
    header: Header = field(default_factory=Header)
    grasps: list = field(default_factory=list)        # (Pose, PlannedGrasp), best first
    initial: Pose | None = None
    trajectory: tuple = ()


def share_directory() -> str | None:
    """The installed share/grasp_planner, or None in a source checkout without an ament index."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory("grasp_planner")
    except Exception:  # PackageNotFoundError or no ament_index_python
        return None


def make_planner(params):
    """The planner facade for these parameters; ValueError if the model cannot be loaded."""
    from grasp_planner.planning.planner import GraspPlanner

    card = resolve_model_path(params.model_path, share_directory())
    return GraspPlanner.from_config(card, params.planner_config_object())


class GraspPlannerNode(Node):
    """Thin ROS wrapper around ``GraspPlanner.plan``."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        self.params = declare_params(self)
        self._planner = make_planner(self.params)
        self._frames = FrameResolver(self)
        self._image: Image | None = None
        self._info: CameraInfo | None = None
        self._busy = threading.Lock()
        group = ReentrantCallbackGroup()
        p = self.params
        self.create_subscription(Image, p.depth_topic, self._on_image, qos_profile_sensor_data, callback_group=group)
        self.create_subscription(CameraInfo, p.camera_info_topic, self._on_info, qos_profile_sensor_data,
                                 callback_group=group)
        self.create_subscription(PoseStamped, p.initial_pose_topic, self._on_initial_pose, 1, callback_group=group)
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
        self._action = ActionServer(self, PlanGrasp, "plan_grasp", execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=group)
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.get_logger().info(f"grasp_planner ready: model {resolve_model_path(p.model_path, share_directory())}, "
                               f"tf2_ros {'found' if self._frames.has_tf else 'absent (frames must match)'}")

    # --- inputs --------------------------------------------------------------------------------
    def _on_image(self, msg: Image):
        self._image = msg

    def _on_info(self, msg: CameraInfo):
        self._info = msg

    def _on_initial_pose(self, msg: PoseStamped):
        if not self._busy.acquire(blocking=False):
            self.get_logger().warn("initial pose dropped: a plan is already running (BUSY)")
            return
        try:
            outcome = self._plan(self._image, self._info, msg, self.params.n_candidates,
                                 self.params.time_budget_s, None)
        finally:
            self._busy.release()
        self._publish(outcome)

    # --- action --------------------------------------------------------------------------------
    def _on_goal(self, goal: PlanGrasp.Goal):
        if goal.n_candidates > 100 or not (0.0 <= goal.time_budget <= 60.0):
            self.get_logger().error(f"goal rejected: n_candidates must be <= 100 and time_budget in [0, 60] s, "
                                    f"got {goal.n_candidates} and {goal.time_budget}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle):
        return CancelResponse.ACCEPT

    def _execute(self, goal_handle):
        goal = goal_handle.request
        if not self._busy.acquire(blocking=False):
            goal_handle.abort()
            return self._result(Outcome(False, "BUSY", "another plan is running; goals are not queued, retry"))
        start = time.monotonic()

        def on_iteration(info):
            feedback = PlanGrasp.Feedback(iteration=int(info.iteration), best_score=float(info.best_score),
                                          elapsed=float(time.monotonic() - start))
            goal_handle.publish_feedback(feedback)
            if goal_handle.is_cancel_requested:
                raise StopIteration

        try:
            image = self._image if goal.use_latest_image else goal.depth
            info = self._info if goal.use_latest_image or not any(goal.camera_info.k) else goal.camera_info
            outcome = self._plan(image, info, goal.initial_pose if goal.use_initial_pose else None,
                                 goal.n_candidates or self.params.n_candidates,
                                 goal.time_budget or self.params.time_budget_s, on_iteration)
        finally:
            self._busy.release()
        if goal_handle.is_cancel_requested:
            outcome = Outcome(False, "CANCELED", "goal canceled", outcome.header, outcome.grasps)
            goal_handle.canceled()
        elif outcome.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        self._publish(outcome)
        return self._result(outcome)

    # --- planning ------------------------------------------------------------------------------
    def _plan(self, image, info, pose_msg, n_candidates, time_budget_s, callback) -> Outcome:
        """Check inputs, bring frames together, plan; every failure comes back as an Outcome."""
        try:
            depth, camera, header = self._read_image(image, info)
            out_frame = self.params.output_frame or header.frame_id
            T_out_cam = self._lookup(out_frame, header.frame_id, header.stamp)
            initial = None
            if pose_msg is not None:
                T_cam_pose = self._lookup(header.frame_id, pose_msg.header.frame_id, header.stamp)
                initial = conv.compose(T_cam_pose, self._read_pose(pose_msg))
            result = self._planner.plan(depth, camera, initial, n_candidates=n_candidates,
                                        time_budget_s=time_budget_s, callback=callback)
        except RequestError as err:
            self.get_logger().error(f"plan refused ({err.reason}): {err}")
            return Outcome(False, err.reason, str(err))
        except Exception as err:  # the planner failed unexpectedly: report it, keep serving
            self.get_logger().error(f"plan failed (INTERNAL_ERROR): {type(err).__name__}: {err}")
            return Outcome(False, "INTERNAL_ERROR", f"{type(err).__name__}: {err}")
        out_header = Header(stamp=header.stamp, frame_id=out_frame)
        grasps = [(conv.compose(T_out_cam, g.pose), g) for g in result.grasps]
        reason = getattr(result.reason, "name", str(result.reason))
        outcome = Outcome(bool(result.success), "NONE" if result.success else reason, result.message, out_header,
                          grasps,
                          None if result.initial_pose is None else conv.compose(T_out_cam, result.initial_pose),
                          tuple(conv.compose(T_out_cam, p) for p in (result.trajectory or ())))
        if outcome.success:
            self.get_logger().info(f"plan succeeded: {result.message}")
        else:
            self.get_logger().error(f"plan failed ({reason}): {result.message}")
        return outcome

    def _read_image(self, image, info):
        if image is None or not image.data:
            raise RequestError("NO_IMAGE", "no depth image received yet on "
                                           f"{self.resolve_topic_name(self.params.depth_topic)}")
        if info is None:
            raise RequestError("NO_IMAGE", "no camera info received yet on "
                                           f"{self.resolve_topic_name(self.params.camera_info_topic)}")
        age = (self.get_clock().now() - rclpy.time.Time.from_msg(image.header.stamp)).nanoseconds * 1e-9
        if self.params.max_image_age_s > 0 and age > self.params.max_image_age_s:
            raise RequestError("STALE_IMAGE", f"latest depth image is {age:.2f} s old "
                                              f"(max_image_age_s = {self.params.max_image_age_s})")
        try:
            camera = conv.camera_info_to_camera(info)
            if camera is None:
                raise ValueError("camera info has an all-zero K matrix")
            depth = read_depth(conv.image_to_array(image), camera)
        except ValueError as err:
            raise RequestError("INVALID_INPUT", str(err)) from None
        return depth, camera, image.header

    def _read_pose(self, pose_msg) -> Pose:
        try:
            return conv.pose_msg_to_pose(pose_msg.pose)
        except ValueError as err:
            raise RequestError("INVALID_INPUT", f"initial_pose: {err}") from None

    def _lookup(self, target, source, stamp) -> Pose:
        try:
            return self._frames.lookup(target, source, stamp, self.params.tf_timeout_s)
        except FrameError as err:
            raise RequestError("TF_UNAVAILABLE", str(err)) from None

    # --- outputs -------------------------------------------------------------------------------
    def _grasp_msgs(self, outcome: Outcome):
        p = self.params
        mode = robotiq.MODE_REGISTER[p.hand_mode]
        names, q_open = robotiq.posture(p.hand_mode, "pre_grasp")
        _, q_closed = robotiq.posture(p.hand_mode, "grasp")
        pre = robotiq.joint_trajectory_msg(names, q_open, outcome.header)
        close = robotiq.joint_trajectory_msg(names, q_closed, outcome.header, effort=p.gripper_force)
        return [conv.grasp_msg(pose, outcome.header, g.score, g.probability, g.distance, g.n_iter, mode,
                               p.approach_distance_m, p.retreat_distance_m, pre, close)
                for pose, g in outcome.grasps]

    def _result(self, outcome: Outcome):
        code = getattr(FailureReason, outcome.reason, FailureReason.INTERNAL_ERROR)
        return PlanGrasp.Result(success=outcome.success, reason=FailureReason(code=code), message=outcome.message,
                                grasps=self._grasp_msgs(outcome))

    def _publish(self, outcome: Outcome):
        """Markers for any grasp found (also failed ones, to see why); grasp and command only on success."""
        if not outcome.grasps:
            return
        p = self.params
        best_pose, best = outcome.grasps[0]
        _, q_open = robotiq.posture(p.hand_mode, "pre_grasp")
        self._markers_pub.publish(markers.marker_array_msg(outcome.header, outcome.initial, best_pose,
                                                           best.probability, q_open, outcome.trajectory))
        if not outcome.success:
            return
        self._grasp_pub.publish(conv.pose_to_pose_stamped_msg(best_pose, outcome.header.frame_id,
                                                              outcome.header.stamp))
        self._score_pub.publish(Float32(data=float(best.score)))
        self._detailed_pub.publish(GraspArray(header=outcome.header, grasps=self._grasp_msgs(outcome)))
        self._candidates_pub.publish(conv.poses_to_pose_array_msg([g[0] for g in outcome.grasps],
                                                                  outcome.header.frame_id, outcome.header.stamp))
        if self._registers_pub is not None:
            cmd = robotiq.register_command(p.hand_mode, p.gripper_stage, p.gripper_speed, p.gripper_force)
            self._registers_pub.publish(robotiq.register_msg(cmd))
        if self._trajectory_pub is not None:
            names, q = robotiq.posture(p.hand_mode, p.gripper_stage)
            self._trajectory_pub.publish(robotiq.joint_trajectory_msg(names, q, outcome.header,
                                                                      effort=p.gripper_force))

    # --- parameters ----------------------------------------------------------------------------
    def _check_parameters(self, parameters):
        try:
            updated(self.params, {prm.name: prm.value for prm in parameters})
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        changes = {prm.name: prm.value for prm in parameters}
        new = updated(self.params, changes)
        if PLANNER_PARAMS & set(changes):
            try:
                self._planner = make_planner(new)
            except ValueError as err:
                self.get_logger().error(f"planner not rebuilt, keeping the previous settings for planning: {err}")
        self.params = new
        self.get_logger().info(f"parameters changed: {changes}")


def main(args=None):
    """Run the node until Ctrl-C; a bad parameter or missing model ends it with a clear message."""
    rclpy.init(args=args)
    try:
        node = GraspPlannerNode()
    except ValueError as err:
        rclpy.logging.get_logger("grasp_planner").fatal(f"cannot start: {err}")
        rclpy.try_shutdown()
        raise SystemExit(2)
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
