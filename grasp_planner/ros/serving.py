"""Request handling shared by ``grasp_planner_node`` and ``grasp_planner_lifecycle_node``: the PlannerServing mixin.

A node class lists ``PlannerServing`` before its rclpy base and calls, in its own order:
``_init_serving(params)`` (state and parameter callbacks), ``_load()`` (model, tf, /diagnostics),
``_start_serving()`` (subscriptions, publishers, action server, gripper client),
``_stop_serving()`` and ``_unload()``. The mixin has no ``__init__``.

Topics (relative): subscribes ``depth/image``, ``depth/camera_info`` (sensor-data QoS, latest kept)
and ``initial_pose`` (each message plans once); publishes ``grasp``, ``grasp_score``,
``grasp_detailed``, ``grasp_candidates``, ``markers``, the gripper command (``gripper_format``),
``grasp_moveit`` (moveit_msgs/Grasp, only where moveit_msgs is installed) and ``/diagnostics``.
Action ``plan_grasp``. One plan at a time: a goal arriving meanwhile ends BUSY (not queued).
Every failure has a FailureReason name and a message that starts with ``REASON_TEXT[reason]``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import rclpy
from geometry_msgs.msg import PoseArray, PoseStamped
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.qos import qos_profile_sensor_data
from rcl_interfaces.msg import SetParametersResult
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Float32, Header
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from grasp_planner.hand import posture as hand
from grasp_planner.perception.depth_input import read_depth
from grasp_planner.pose import Pose
from grasp_planner.ros import adapters, markers, robotiq
from grasp_planner.ros import conversions as conv
from grasp_planner.ros.diagnostics import DiagnosticsPublisher, PlannerStats
from grasp_planner.ros.frames import FrameError, FrameResolver, initial_hand_pose
from grasp_planner.ros.params import resolve_model_path, updated, with_goal_constraints
from grasp_planner_interfaces.action import PlanGrasp
from grasp_planner_interfaces.msg import FailureReason, GraspArray, Robotiq3FCommand

#: parameters whose change rebuilds the planner
PLANNER_PARAMS = {"alpha", "eps", "starts", "max_iter", "time_budget_s"}
#: outcome reasons that mean the request itself was refused (counted as rejected inputs)
REJECTED_INPUT_REASONS = {"NO_IMAGE", "STALE_IMAGE", "INVALID_INPUT", "TF_UNAVAILABLE", "BUSY"}
#: what each FailureReason means, the first words of its message
REASON_TEXT = {
    "NO_IMAGE": "no depth image to plan on",
    "STALE_IMAGE": "the depth image is too old to plan on",
    "INVALID_INPUT": "the request is invalid",
    "TF_UNAVAILABLE": "the frames of the request cannot be related",
    "OUT_OF_WORKSPACE": "the best grasp breaks a task constraint (approach cone, workspace or deviation)",
    "NO_FEASIBLE_GRASP": "no grasp was found that clears the scene",
    "LOW_SCORE": "no grasp was found that is likely enough to succeed",
    "TIMEOUT": "the time budget ran out before a grasp was found",
    "CANCELED": "the goal was canceled",
    "MODEL_ERROR": "the grasp model failed",
    "INTERNAL_ERROR": "the planner failed unexpectedly",
    "BUSY": "another plan is running",
}


def failure_message(reason: str, detail: str) -> str:
    """The message of a failed request: what the reason means, then the specifics."""
    return f"{REASON_TEXT.get(reason, reason)}: {detail}"


class RequestError(Exception):
    """A request the node refuses: ``reason`` is a FailureReason name, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Request:
    """One plan request, from the ``initial_pose`` topic or an action goal."""

    image: Image | None
    info: CameraInfo | None
    pose_msg: PoseStamped | None
    n_candidates: int
    time_budget_s: float
    constraint_values: dict
    image_source: str = "latest"       # "latest" (topics) or "goal"
    callback: object = None


@dataclass
class Outcome:
    """One plan, in the output frame; ``grasps`` are (hand pose, PlannedGrasp), best first."""

    success: bool
    reason: str
    message: str
    header: Header = field(default_factory=Header)
    grasps: list = field(default_factory=list)
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


class PlannerServing:
    """Serving methods of the planner nodes (mixin for rclpy ``Node``/``LifecycleNode``; no ``__init__``)."""

    # --- life --------------------------------------------------------------------------------------
    def _init_serving(self, params, param_error: str | None = None):
        """Set up the state and the parameter callbacks; ``params`` None with ``param_error`` if invalid."""
        self.params, self._param_error = params, param_error
        self._planner = None
        self._frames = None
        self._diagnostics = None
        self._stats = PlannerStats(clock=lambda: self.get_clock().now().nanoseconds * 1e-9)
        self._image: Image | None = None
        self._info: CameraInfo | None = None
        self._busy = threading.Lock()
        self._endpoints: list = []
        self._pubs: dict = {}
        self._action = None
        self._gripper_client = None
        self.add_on_set_parameters_callback(self._check_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

    def _load(self):
        """Load the model, start tf and /diagnostics; ValueError with the reason. Returns the model card."""
        if self._param_error is not None:
            raise ValueError(self._param_error)
        p = self.params
        card = resolve_model_path(p.model_path, share_directory())
        if p.gripper_format == "gripper_action":
            try:
                adapters.import_interface(p.gripper_action_type)
            except ImportError as err:
                raise ValueError(f"gripper_format gripper_action: {err}") from None
        self._planner = make_planner(p)
        self._stats.model_loaded(card.name, dict(getattr(self._planner.scorer.card, "metrics", {}) or {}))
        self._frames = FrameResolver(self)
        self._diagnostics = DiagnosticsPublisher(self, self._stats)
        return card

    def _unload(self):
        if self._diagnostics is not None:
            self._diagnostics.destroy()
        self._diagnostics = self._planner = self._frames = None
        self._stats.model_loaded(None)

    def _start_serving(self):
        """Create the subscriptions, publishers, action server and gripper client."""
        p = self.params
        group = ReentrantCallbackGroup()
        self._endpoints = [
            self.create_subscription(Image, p.depth_topic, self._on_image, qos_profile_sensor_data,
                                     callback_group=group),
            self.create_subscription(CameraInfo, p.camera_info_topic, self._on_info, qos_profile_sensor_data,
                                     callback_group=group),
            self.create_subscription(PoseStamped, p.initial_pose_topic, self._on_initial_pose, 1,
                                     callback_group=group)]
        topics = {"grasp": PoseStamped, "grasp_score": Float32, "grasp_detailed": GraspArray,
                  "grasp_candidates": PoseArray, "markers": MarkerArray}
        if p.gripper_format in ("registers", "both"):
            topics["registers"] = (Robotiq3FCommand, p.gripper_topic)
        if p.gripper_format in ("joint_trajectory", "both"):
            topics["trajectory"] = (JointTrajectory, p.gripper_topic + ("_trajectory" if p.gripper_format == "both"
                                                                        else ""))
        if adapters.moveit_available():
            topics["moveit"] = (adapters.import_interface("moveit_msgs/msg/Grasp"), "grasp_moveit")
        for key, spec in topics.items():
            kind, topic = spec if isinstance(spec, tuple) else (spec, key)
            self._pubs[key] = self.create_publisher(kind, topic, 1)
        if p.gripper_format == "gripper_action":
            self._gripper_client = adapters.GripperCommandClient(self, p.gripper_action_name, p.gripper_action_type)
        self._action = ActionServer(self, PlanGrasp, "plan_grasp", execute_callback=self._execute,
                                    goal_callback=self._on_goal, cancel_callback=self._on_cancel,
                                    callback_group=group)

    def _stop_serving(self):
        """Destroy what ``_start_serving`` made and forget the latest image."""
        if self._action is not None:
            self._action.destroy()
        if self._gripper_client is not None:
            self._gripper_client.destroy()
        for sub in self._endpoints:
            self.destroy_subscription(sub)
        for pub in self._pubs.values():
            self.destroy_publisher(pub)
        self._action = self._gripper_client = None
        self._endpoints, self._pubs = [], {}
        self._image = self._info = None

    # --- inputs ------------------------------------------------------------------------------------
    def _on_image(self, msg: Image):
        self._image = msg
        self._stats.image_received(msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9)

    def _on_info(self, msg: CameraInfo):
        self._info = msg

    def _on_initial_pose(self, msg: PoseStamped):
        if not self._busy.acquire(blocking=False):
            self.get_logger().warn("initial pose dropped: a plan is already running (BUSY)")
            self._stats.input_rejected("BUSY")
            return
        p = self.params
        try:
            outcome = self._plan(Request(self._image, self._info, msg, p.n_candidates, p.time_budget_s,
                                         p.constraint_values()))
        finally:
            self._busy.release()
        self._publish(outcome)

    # --- action ------------------------------------------------------------------------------------
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
            self._stats.input_rejected("BUSY")
            goal_handle.abort()
            return self._result(self._failed("BUSY", "goals are not queued; retry when the running plan ends"))
        start = time.monotonic()

        def on_iteration(info):
            goal_handle.publish_feedback(PlanGrasp.Feedback(iteration=int(info.iteration),
                                                            best_score=float(info.best_score),
                                                            elapsed=float(time.monotonic() - start)))
            if goal_handle.is_cancel_requested:
                raise StopIteration

        p = self.params
        try:
            latest = goal.use_latest_image
            outcome = self._plan(Request(
                image=self._image if latest else goal.depth,
                info=self._info if latest or not any(goal.camera_info.k) else goal.camera_info,
                pose_msg=goal.initial_pose if goal.use_initial_pose else None,
                n_candidates=goal.n_candidates or p.n_candidates, time_budget_s=goal.time_budget or p.time_budget_s,
                constraint_values=with_goal_constraints(p.constraint_values(), conv.goal_constraint_fields(goal)),
                image_source="latest" if latest else "goal", callback=on_iteration))
        finally:
            self._busy.release()
        if goal_handle.is_cancel_requested:
            outcome = Outcome(False, "CANCELED", failure_message("CANCELED", "cancel requested by the client"),
                              outcome.header, outcome.grasps)
            goal_handle.canceled()
        elif outcome.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        self._publish(outcome)
        return self._result(outcome)

    # --- planning ----------------------------------------------------------------------------------
    def _failed(self, reason: str, detail: str, header=None, grasps=()) -> Outcome:
        message = failure_message(reason, detail)
        self.get_logger().error(f"plan {'refused' if reason in REJECTED_INPUT_REASONS else 'failed'} "
                                f"({reason}): {message}")
        return Outcome(False, reason, message, header or Header(), list(grasps))

    def _plan(self, req: Request) -> Outcome:
        """Check inputs, bring frames together, plan; every failure comes back as an Outcome."""
        p = self.params
        try:
            depth, camera, header = self._read_image(req.image, req.info, req.image_source)
            out_frame = p.output_frame or header.frame_id
            # every transform of a request is looked up at the depth image's stamp, not "latest"
            T_out_cam = self._lookup(out_frame, header.frame_id, header.stamp)
            initial = None
            if req.pose_msg is not None:
                T_cam_src = self._lookup(header.frame_id, req.pose_msg.header.frame_id, header.stamp)
                initial = initial_hand_pose(T_cam_src, self._read_pose(req.pose_msg), p.T_hand_tool())
            constraints = self._constraints(req.constraint_values, T_out_cam)
            result = self._planner.plan(depth, camera, initial, n_candidates=req.n_candidates,
                                        time_budget_s=req.time_budget_s, callback=req.callback,
                                        constraints=constraints or None)
        except RequestError as err:
            self._stats.input_rejected(err.reason)
            self._stats.plan_finished(err.reason, str(err), {})
            return self._failed(err.reason, str(err))
        except Exception as err:  # the planner failed unexpectedly: report it, keep serving
            self._stats.plan_finished("INTERNAL_ERROR", str(err), {})
            return self._failed("INTERNAL_ERROR", f"{type(err).__name__}: {err}")
        reason = "NONE" if result.success else getattr(result.reason, "name", str(result.reason))
        detail = result.message
        self._stats.plan_finished(reason, detail, result.timings or {})
        out_header = Header(stamp=header.stamp, frame_id=out_frame)
        grasps = [(conv.compose(T_out_cam, g.pose), g) for g in result.grasps]
        initial_out = None if result.initial_pose is None else conv.compose(T_out_cam, result.initial_pose)
        trajectory = tuple(conv.compose(T_out_cam, q) for q in (result.trajectory or ()))
        if reason != "NONE":
            outcome = self._failed(reason, detail, out_header, grasps)
        else:
            self.get_logger().info(f"plan succeeded: {detail}")
            outcome = Outcome(True, "NONE", detail, out_header, grasps)
        outcome.initial, outcome.trajectory = initial_out, trajectory
        return outcome

    def _read_image(self, image, info, source: str):
        if image is None or not image.data:
            where = ("the goal has no depth image (fill depth or set use_latest_image)" if source == "goal" else
                     f"no depth image received yet on {self.resolve_topic_name(self.params.depth_topic)}")
            raise RequestError("NO_IMAGE", where)
        if info is None:
            raise RequestError("NO_IMAGE", "no camera info received yet on "
                                           f"{self.resolve_topic_name(self.params.camera_info_topic)}")
        max_age = self.params.max_image_age_s
        age = (self.get_clock().now() - rclpy.time.Time.from_msg(image.header.stamp)).nanoseconds * 1e-9
        if max_age > 0 and age > max_age:
            raise RequestError("STALE_IMAGE", f"the {source} depth image is {age:.2f} s old "
                                              f"(max_image_age_s = {max_age})")
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

    def _constraints(self, values: dict, T_out_cam: Pose):
        from grasp_planner.planning.constraints import constraints_from_params

        try:
            return constraints_from_params(values, T_camera_output=T_out_cam.inverse())
        except ValueError as err:
            raise RequestError("INVALID_INPUT", f"task constraints: {err}") from None

    # --- outputs -----------------------------------------------------------------------------------
    def _grasp_msgs(self, outcome: Outcome):
        p = self.params
        pre = adapters.posture_msg(hand.pre_grasp_posture(p.hand_mode), outcome.header)
        close = adapters.posture_msg(hand.grasp_posture(p.hand_mode, p.gripper_force), outcome.header)
        return [conv.grasp_msg(pose, outcome.header, g.score, g.probability, g.distance, g.n_iter,
                               hand.MODE_REGISTER[p.hand_mode], p.approach_distance_m, p.retreat_distance_m,
                               pre, close, p.T_hand_tool())
                for pose, g in outcome.grasps]

    def _result(self, outcome: Outcome):
        code = getattr(FailureReason, outcome.reason, FailureReason.INTERNAL_ERROR)
        return PlanGrasp.Result(success=outcome.success, reason=FailureReason(code=code), message=outcome.message,
                                grasps=self._grasp_msgs(outcome))

    def _publish(self, outcome: Outcome):
        """Markers for any grasp found (also failed ones, to see why); grasp and commands only on success."""
        if not outcome.grasps or not self._pubs:
            return
        p = self.params
        header, frame, stamp = outcome.header, outcome.header.frame_id, outcome.header.stamp
        best_pose, best = outcome.grasps[0]
        q_open = markers.hand_configuration(hand.pre_grasp_posture(p.hand_mode))
        self._pubs["markers"].publish(markers.marker_array_msg(header, outcome.initial, best_pose, best.probability,
                                                               q_open, outcome.trajectory))
        if not outcome.success:
            return
        T_hand_tool = p.T_hand_tool()
        self._pubs["grasp"].publish(conv.pose_to_pose_stamped_msg(best_pose @ T_hand_tool, frame, stamp))
        self._pubs["grasp_score"].publish(Float32(data=float(best.score)))
        self._pubs["grasp_detailed"].publish(GraspArray(header=header, grasps=self._grasp_msgs(outcome)))
        self._pubs["grasp_candidates"].publish(conv.poses_to_pose_array_msg(
            [pose @ T_hand_tool for pose, _ in outcome.grasps], frame, stamp))
        command = hand.posture(p.hand_mode, p.gripper_stage, p.gripper_force)
        if "registers" in self._pubs:
            self._pubs["registers"].publish(robotiq.register_msg(
                hand.registers(p.hand_mode, p.gripper_stage, p.gripper_speed, p.gripper_force)))
        if "trajectory" in self._pubs:
            self._pubs["trajectory"].publish(adapters.posture_msg(command, header))
        if self._gripper_client is not None:
            self._gripper_client.send(command)
        if "moveit" in self._pubs:
            fields = adapters.moveit_grasp_fields(
                best_pose, frame, best.probability, hand.pre_grasp_posture(p.hand_mode),
                hand.grasp_posture(p.hand_mode, p.gripper_force), p.approach_distance_m, p.retreat_distance_m,
                T_hand_tool=T_hand_tool)
            self._pubs["moveit"].publish(adapters.moveit_grasp_msg(fields, stamp))

    # --- parameters --------------------------------------------------------------------------------
    def _check_parameters(self, parameters):
        if self.params is None:
            return SetParametersResult(successful=False, reason=f"parameters are invalid: {self._param_error}")
        try:
            updated(self.params, {prm.name: prm.value for prm in parameters})
        except ValueError as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        changes = {prm.name: prm.value for prm in parameters}
        new = updated(self.params, changes)
        if self._planner is not None and PLANNER_PARAMS & set(changes):
            try:
                self._planner = make_planner(new)
            except ValueError as err:
                self.get_logger().error(f"planner not rebuilt, keeping the previous settings for planning: {err}")
        self.params = new
        self.get_logger().info(f"parameters changed: {changes}")


def spin_until_shutdown(node, threads: int = 4) -> None:
    """Spin ``node`` on a multi-threaded executor (cancels arrive mid-goal) until Ctrl-C or shutdown.

    The executor is shut down before the node and rclpy, so the interpreter exits cleanly.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    executor = MultiThreadedExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
