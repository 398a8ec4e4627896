"""Messages <-> core types, and the frame arithmetic the node needs.

The arithmetic (``compose``, ``transform_to_pose``) takes plain numbers and core types so
it is tested without ROS; the ``*_msg`` functions only copy fields. Every converter raises
ValueError with a message a person can act on; the node logs it and keeps serving.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand.posture import MODE_REGISTER
from grasp_planner.planning import request as rq
from grasp_planner.pose import Pose
from grasp_planner.ros.adapters import posture_msg
from grasp_planner.ros.params import with_goal_constraints

#: depth encodings the node reads, with their numpy type; 32FC1 is metres, 16UC1 millimetres
DEPTH_ENCODINGS = {"32FC1": np.float32, "16UC1": np.uint16, "mono16": np.uint16}


# --- plain arithmetic --------------------------------------------------------------------------
def transform_to_pose(translation_xyz, rotation_xyzw) -> Pose:
    """A ``Pose`` from a translation (m) and a quaternion ``(x, y, z, w)``; ValueError if it is zero."""
    return Pose.from_position_quaternion(np.asarray(translation_xyz, float), np.asarray(rotation_xyzw, float))


def compose(T_a_b: Pose, T_b_c: Pose) -> Pose:
    """``T_a_c``: re-express a pose given in frame b in frame a."""
    return T_a_b @ T_b_c


# --- images ------------------------------------------------------------------------------------
def image_to_array(msg) -> np.ndarray:
    """The pixels of a sensor_msgs/Image depth image as a ``(H, W)`` array (float32 m or uint16 mm).

    Raises ValueError for an encoding other than 32FC1/16UC1 or a buffer that does not fit.
    """
    dtype = DEPTH_ENCODINGS.get(msg.encoding)
    if dtype is None:
        raise ValueError(f"depth image encoding {msg.encoding!r} is not supported; "
                         f"send 32FC1 (metres) or 16UC1 (millimetres)")
    dtype = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height < 1 or width < 1:
        raise ValueError(f"depth image is empty ({width}x{height})")
    row_bytes = width * dtype.itemsize
    if step < row_bytes or len(msg.data) < step * height:
        raise ValueError(f"depth image buffer does not fit: {width}x{height} {msg.encoding} needs step >= "
                         f"{row_bytes} and {step * height} bytes, got step {step} and {len(msg.data)} bytes")
    raw = np.frombuffer(bytes(msg.data), dtype=np.uint8, count=step * height).reshape(height, step)
    return raw[:, :row_bytes].copy().view(dtype).reshape(height, width).astype(dtype.newbyteorder("="))


def array_to_image_msg(depth: np.ndarray, frame_id: str = "", stamp=None):
    """A sensor_msgs/Image from a float32 (32FC1, m) or uint16 (16UC1, mm) array."""
    from sensor_msgs.msg import Image

    depth = np.ascontiguousarray(depth)
    encoding = {np.dtype(np.float32): "32FC1", np.dtype(np.uint16): "16UC1"}.get(depth.dtype)
    if encoding is None:
        raise ValueError(f"depth array must be float32 or uint16, got {depth.dtype}")
    msg = Image()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.height, msg.width = depth.shape
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = depth.shape[1] * depth.itemsize
    msg.data = depth.astype(depth.dtype.newbyteorder("<")).tobytes()
    return msg


def camera_info_to_camera(msg) -> PinholeCamera | None:
    """Intrinsics from a sensor_msgs/CameraInfo; None for an empty message (K all zero)."""
    k = np.asarray(msg.k, dtype=float)
    if not np.any(k):
        return None
    return PinholeCamera(k[0], k[4], k[2], k[5], int(msg.width), int(msg.height))


def camera_to_camera_info_msg(camera: PinholeCamera, frame_id: str = "", stamp=None):
    """A sensor_msgs/CameraInfo (no distortion) for a pinhole camera."""
    from sensor_msgs.msg import CameraInfo

    msg = CameraInfo()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.width, msg.height = camera.width, camera.height
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


# --- poses -------------------------------------------------------------------------------------
def pose_msg_to_pose(msg) -> Pose:
    """A ``Pose`` from geometry_msgs/Pose; ValueError for a zero or non-finite quaternion."""
    p, q = msg.position, msg.orientation
    try:
        return transform_to_pose((p.x, p.y, p.z), (q.x, q.y, q.z, q.w))
    except ValueError as err:
        raise ValueError(f"invalid pose: {err}") from None


def transform_msg_to_pose(msg) -> Pose:
    """``T_parent_child`` from geometry_msgs/Transform (e.g. a tf2 lookup result's ``.transform``)."""
    t, q = msg.translation, msg.rotation
    return transform_to_pose((t.x, t.y, t.z), (q.x, q.y, q.z, q.w))


def pose_to_pose_msg(pose: Pose):
    """geometry_msgs/Pose from a ``Pose``."""
    from geometry_msgs.msg import Pose as PoseMsg

    msg = PoseMsg()
    msg.position.x, msg.position.y, msg.position.z = (float(v) for v in pose.translation)
    msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = (float(v) for v in pose.quaternion())
    return msg


def pose_to_pose_stamped_msg(pose: Pose, frame_id: str, stamp=None):
    """geometry_msgs/PoseStamped from a ``Pose`` in ``frame_id``."""
    from geometry_msgs.msg import PoseStamped

    msg = PoseStamped()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.pose = pose_to_pose_msg(pose)
    return msg


def poses_to_pose_array_msg(poses, frame_id: str, stamp=None):
    """geometry_msgs/PoseArray, in the given order."""
    from geometry_msgs.msg import PoseArray

    msg = PoseArray()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    msg.poses = [pose_to_pose_msg(p) for p in poses]
    return msg


def vector_msg(xyz):
    """geometry_msgs/Vector3."""
    from geometry_msgs.msg import Vector3

    x, y, z = (float(v) for v in xyz)
    return Vector3(x=x, y=y, z=z)


def approach_axis(pose: Pose) -> np.ndarray:
    """The hand's approach axis (its +z, the palm normal) in the pose's parent frame."""
    return pose.rotation[:, 2].copy()


def grasp_msg(grasp, header, mode_register: int, approach_distance: float, retreat_distance: float,
              pre_grasp_posture, grasp_posture):
    """grasp_planner_interfaces/Grasp for one ``request.ReplyGrasp`` in ``header.frame_id``.

    The message's pose is the tool frame's (``T_output_tool``); the approach stays the hand's +z and
    the retreat goes back along it.
    """
    from geometry_msgs.msg import PoseStamped
    from grasp_planner_interfaces.msg import Grasp

    axis = approach_axis(grasp.T_output_hand)
    distance = grasp.distance
    return Grasp(pose=PoseStamped(header=header, pose=pose_to_pose_msg(grasp.T_output_tool)), score=float(grasp.score),
                 probability=float(grasp.probability), distance=float(distance) if np.isfinite(distance) else 0.0,
                 iterations=int(grasp.n_iter), mode=int(mode_register),
                 approach_direction=vector_msg(axis), approach_distance=float(approach_distance),
                 retreat_direction=vector_msg(-axis), retreat_distance=float(retreat_distance),
                 pre_grasp_posture=pre_grasp_posture, grasp_posture=grasp_posture)


# --- action goals, requests and replies -------------------------------------------------------------
GOAL_CONSTRAINT_FIELDS = ("use_approach_cone", "approach_cone_direction", "approach_cone_max_angle",
                          "approach_cone_frame", "use_workspace", "workspace_min", "workspace_max",
                          "max_translation", "max_angle")


def goal_constraint_fields(goal) -> dict:
    """A PlanGrasp goal's constraint fields as plain values (vectors as 3-tuples), for
    ``params.with_goal_constraints``."""
    out = {name: getattr(goal, name) for name in GOAL_CONSTRAINT_FIELDS}
    for name in ("approach_cone_direction", "workspace_min", "workspace_max"):
        v = out[name]
        out[name] = (float(v.x), float(v.y), float(v.z))
    return out


def stamp_seconds(stamp) -> float:
    """A builtin_interfaces/Time as seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def output_header(image, output_frame: str):
    """The header of what a plan on ``image`` gives: its stamp, in ``output_frame`` or else the image's frame."""
    from std_msgs.msg import Header

    if image is None:
        return Header()
    return Header(stamp=image.header.stamp, frame_id=output_frame or image.header.frame_id)


def plan_request(goal, image, info, p, lookup, callback=None):
    """The PlanRequest of a PlanGrasp goal on ``image``/``info`` (the goal's or the latest) under parameters ``p``.

    A goal field left 0 or unset takes the parameter's value. ``lookup(target, source, stamp, timeout_s)``
    (``FrameResolver.lookup``) relates frames at the image stamp. RequestError INVALID_INPUT names a
    message that cannot be read.
    """
    pose_msg = goal.initial_pose if goal.use_initial_pose else None
    try:
        pose = None if pose_msg is None else pose_msg_to_pose(pose_msg.pose)
        depth, camera = image_to_array(image), camera_info_to_camera(info)
    except ValueError as err:
        raise rq.RequestError("INVALID_INPUT", str(err)) from None
    frame, out = image.header.frame_id, output_header(image, p.output_frame)
    T_output_camera = lookup(out.frame_id, frame, out.stamp, p.tf_timeout_s)
    T_camera_initial = (Pose.identity() if pose_msg is None
                        else lookup(frame, pose_msg.header.frame_id, out.stamp, p.tf_timeout_s))
    return rq.PlanRequest(rq.DepthImage.from_array(depth, camera), T_output_camera, p.T_hand_tool(), pose,
                          T_camera_initial, with_goal_constraints(p.constraint_values(), goal_constraint_fields(goal)),
                          goal.n_candidates or p.n_candidates, goal.time_budget or p.time_budget_s, p.hand_mode,
                          p.gripper_force, callback)


def grasp_msgs(reply, header, p) -> list:
    """grasp_planner_interfaces/Grasp per grasp of a ``request.PlanReply``, best first, with parameters ``p``."""
    if not reply.grasps:
        return []
    pre, close = (posture_msg(q, header) for q in (reply.pre_grasp, reply.grasp))
    return [grasp_msg(g, header, MODE_REGISTER[p.hand_mode], p.approach_distance_m, p.retreat_distance_m, pre, close)
            for g in reply.grasps]


def result_msg(reply, header, p):
    """The PlanGrasp result of a ``request.PlanReply`` (an unknown reason reads INTERNAL_ERROR)."""
    from grasp_planner_interfaces.action import PlanGrasp
    from grasp_planner_interfaces.msg import FailureReason

    code = getattr(FailureReason, reply.reason, FailureReason.INTERNAL_ERROR)
    return PlanGrasp.Result(success=reply.success, reason=FailureReason(code=code), message=reply.message,
                            grasps=grasp_msgs(reply, header, p))
