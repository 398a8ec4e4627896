"""Optional adapters to the robot side: ``moveit_msgs/Grasp`` and a ``control_msgs/action/GripperCommand`` client.

Neither moveit_msgs nor control_msgs is on PyPI; on a robot they come with the ROS 2 install. So
the field computation is plain code (``moveit_grasp_fields``, ``gripper_command_fields``) tested
without them, and the message types are imported only inside the thin functions that copy fields
(``moveit_grasp_msg``, ``GripperCommandClient``), with an ImportError that says what to install.

Conventions (docs/moveit.md): the grasp pose is the hand frame (TCP, +z approach axis); the
pre-grasp approach is along the hand's +z, the retreat back along -z unless a direction is given,
both expressed in the grasp pose's frame; postures cover the four actuated joints of
hand/posture.py.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

from grasp_planner.hand.posture import HandPosture, apply_tcp_offset
from grasp_planner.pose import Pose

#: default ros2_control gripper action (gripper_action_controller's ``<controller>/gripper_cmd``)
DEFAULT_GRIPPER_ACTION = "/gripper_controller/gripper_cmd"
DEFAULT_GRIPPER_ACTION_TYPE = "control_msgs/action/GripperCommand"


# --- plain field computation ------------------------------------------------------------------
@dataclass(frozen=True)
class Translation:
    """A ``moveit_msgs/GripperTranslation``: move ``desired_distance`` (at least ``min_distance``) m along
    the unit ``direction`` given in ``frame_id``."""

    frame_id: str
    direction: tuple
    desired_distance: float
    min_distance: float


@dataclass(frozen=True)
class MoveItGraspFields:
    """Every field of a ``moveit_msgs/Grasp``, as plain values (see ``moveit_grasp_fields``)."""

    id: str
    frame_id: str
    grasp_pose: Pose
    pre_grasp_approach: Translation
    post_grasp_retreat: Translation
    pre_grasp_posture: HandPosture
    grasp_posture: HandPosture
    grasp_quality: float
    max_contact_force: float


def _unit(v, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=float).reshape(3)
    n = np.linalg.norm(v)
    if not np.isfinite(n) or n < 1e-9:
        raise ValueError(f"{name} must be a finite non-zero vector, got {v.tolist()}")
    return v / n


def moveit_grasp_fields(grasp_pose: Pose, frame_id: str, quality: float, pre_grasp: HandPosture,
                        grasp: HandPosture, approach_distance_m: float = 0.10, retreat_distance_m: float = 0.10,
                        min_fraction: float = 0.5, retreat_direction=None, grasp_id: str = "grasp_0",
                        max_contact_force_n: float = 0.0, T_hand_tool: Pose | None = None) -> MoveItGraspFields:
    """The fields of a moveit_msgs/Grasp for one planned grasp.

    Parameters
    ----------
    grasp_pose : Pose
        Hand (TCP) pose in ``frame_id``, as planned.
    frame_id : str
        Frame of the pose and of both translation directions.
    quality : float
        Grasp quality in [0, 1]: the network's success probability.
    pre_grasp, grasp : HandPosture
        Open (mode set) and closing postures.
    approach_distance_m, retreat_distance_m : float
        Desired distances, m; the minimum is ``min_fraction`` of each.
    retreat_direction : (3,) or None
        Direction in ``frame_id`` to lift the object (e.g. the table normal); None: back along
        the approach axis.
    max_contact_force_n : float
        MoveIt's ``max_contact_force`` (N); 0 disables its check.
    T_hand_tool : Pose or None
        The robot's tool frame in the hand frame (``tcp_offset``): the message's grasp_pose is
        then the tool pose, while approach and retreat stay along the hand's axis.
    """
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in [0, 1], got {min_fraction}")
    if approach_distance_m < 0 or retreat_distance_m < 0:
        raise ValueError(f"approach/retreat distances must be >= 0 m, got {approach_distance_m}, {retreat_distance_m}")
    approach = grasp_pose.rotation[:, 2]               # the hand's +z in frame_id
    retreat = -approach if retreat_direction is None else _unit(retreat_direction, "retreat_direction")
    target = grasp_pose if T_hand_tool is None else apply_tcp_offset(grasp_pose, T_hand_tool)
    return MoveItGraspFields(
        id=grasp_id, frame_id=frame_id, grasp_pose=target,
        pre_grasp_approach=Translation(frame_id, tuple(float(v) for v in approach), float(approach_distance_m),
                                       float(min_fraction * approach_distance_m)),
        post_grasp_retreat=Translation(frame_id, tuple(float(v) for v in retreat), float(retreat_distance_m),
                                       float(min_fraction * retreat_distance_m)),
        pre_grasp_posture=pre_grasp, grasp_posture=grasp,
        grasp_quality=float(np.clip(quality, 0.0, 1.0)), max_contact_force=float(max_contact_force_n))


def pre_grasp_pose(grasp_pose: Pose, approach_distance_m: float) -> Pose:
    """The hand pose ``approach_distance_m`` back along the approach axis: where the approach starts."""
    return Pose(grasp_pose.rotation, grasp_pose.translation - approach_distance_m * grasp_pose.rotation[:, 2])


def gripper_command_fields(posture: HandPosture, joint: str = "finger_a_joint_1",
                           open_effort_n_m: float = 0.0) -> dict:
    """``control_msgs/GripperCommand`` fields (``position`` rad, ``max_effort`` N m) for one posture.

    A GripperCommand drives one joint, so ``joint`` names the actuated joint the controller
    commands (the others follow through the hand's mimic/underactuation). Opening carries no
    closing effort, so ``open_effort_n_m`` is used there (0: the controller's own limit).
    """
    if joint not in posture.joint_names:
        raise ValueError(f"joint {joint!r} is not an actuated joint {list(posture.joint_names)}")
    i = posture.joint_names.index(joint)
    effort = posture.efforts[i] if posture.stage == "grasp" else open_effort_n_m
    return {"position": float(posture.positions[i]), "max_effort": float(effort)}


# --- message types, imported lazily ----------------------------------------------------------------
def import_interface(type_name: str):
    """The Python class of an interface named ``pkg/msg/Name`` or ``pkg/action/Name``.

    Raises ImportError saying which ROS package to install when it is absent.
    """
    parts = type_name.split("/")
    if len(parts) != 3 or parts[1] not in ("msg", "srv", "action") or not all(parts):
        raise ValueError(f"interface type must look like 'package/action/Name', got {type_name!r}")
    package, kind, name = parts
    try:
        module = importlib.import_module(f"{package}.{kind}")
    except ImportError:
        raise ImportError(f"{type_name} is not available: install the ROS 2 package {package} "
                          f"(apt: ros-$ROS_DISTRO-{package.replace('_', '-')}); it is not on PyPI") from None
    if not hasattr(module, name):
        raise ImportError(f"{package}.{kind} has no {name}")
    return getattr(module, name)


def moveit_available() -> bool:
    """Whether moveit_msgs can be imported here (the node then also publishes moveit_msgs/Grasp)."""
    try:
        import_interface("moveit_msgs/msg/Grasp")
        return True
    except ImportError:
        return False


def posture_msg(posture: HandPosture, header, duration_s: float = 1.0):
    """trajectory_msgs/JointTrajectory with one point: the posture's positions and efforts."""
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    sec = int(duration_s)
    point = JointTrajectoryPoint(positions=[float(v) for v in posture.positions],
                                 effort=[float(v) for v in posture.efforts],
                                 time_from_start=Duration(sec=sec, nanosec=int(round((duration_s - sec) * 1e9))))
    return JointTrajectory(header=header, joint_names=list(posture.joint_names), points=[point])


def moveit_grasp_msg(fields: MoveItGraspFields, stamp=None):
    """moveit_msgs/Grasp from the plain fields (ImportError without moveit_msgs)."""
    Grasp = import_interface("moveit_msgs/msg/Grasp")
    from geometry_msgs.msg import PoseStamped, Vector3, Vector3Stamped
    from std_msgs.msg import Header

    from grasp_planner.ros.conversions import pose_to_pose_msg

    header = Header(frame_id=fields.frame_id)
    if stamp is not None:
        header.stamp = stamp

    def translation(t: Translation):
        GripperTranslation = import_interface("moveit_msgs/msg/GripperTranslation")
        x, y, z = t.direction
        return GripperTranslation(direction=Vector3Stamped(header=Header(frame_id=t.frame_id, stamp=header.stamp),
                                                           vector=Vector3(x=x, y=y, z=z)),
                                  desired_distance=t.desired_distance, min_distance=t.min_distance)

    return Grasp(id=fields.id, grasp_pose=PoseStamped(header=header, pose=pose_to_pose_msg(fields.grasp_pose)),
                 pre_grasp_approach=translation(fields.pre_grasp_approach),
                 post_grasp_retreat=translation(fields.post_grasp_retreat),
                 pre_grasp_posture=posture_msg(fields.pre_grasp_posture, header),
                 grasp_posture=posture_msg(fields.grasp_posture, header),
                 grasp_quality=fields.grasp_quality, max_contact_force=fields.max_contact_force)


class GripperCommandClient:
    """Sends GripperCommand goals to a ros2_control gripper controller, an alternative to the topic command.

    Parameters
    ----------
    node : rclpy Node
    action_name : str
        e.g. ``/gripper_controller/gripper_cmd`` (gripper_action_controller).
    action_type : str
        ``control_msgs/action/GripperCommand`` or an action with the same ``command`` goal field.
    joint : str
        The actuated joint the controller drives (see ``gripper_command_fields``).
    """

    def __init__(self, node, action_name: str = DEFAULT_GRIPPER_ACTION,
                 action_type: str = DEFAULT_GRIPPER_ACTION_TYPE, joint: str = "finger_a_joint_1"):
        from rclpy.action import ActionClient

        self._type = import_interface(action_type)
        self._client = ActionClient(node, self._type, action_name)
        self.joint = joint

    def wait_for_server(self, timeout_s: float) -> bool:
        return self._client.wait_for_server(timeout_sec=timeout_s)

    def send(self, posture: HandPosture, open_effort_n_m: float = 0.0):
        """Send the posture as a goal; returns the rclpy future of the goal handle (never blocks)."""
        fields = gripper_command_fields(posture, self.joint, open_effort_n_m)
        goal = self._type.Goal()
        goal.command.position = fields["position"]
        goal.command.max_effort = fields["max_effort"]
        return self._client.send_goal_async(goal)

    def destroy(self):
        self._client.destroy()
