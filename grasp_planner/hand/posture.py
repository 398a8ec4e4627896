"""What the gripper must do for a planned grasp: joint postures, Robotiq 3F registers, and the TCP offset.

Three views of the same command, all plain data (no ROS):

* ``HandPosture``: positions (rad) and efforts (N m) over the hand's four actuated joints, for a
  ``trajectory_msgs/JointTrajectory``, a ``moveit_msgs/Grasp`` posture or a ros2_control
  controller. The Robotiq 3F has four motors: one per finger (A, B, C) driving its three
  underactuated phalanges, and one for the scissor axis that turns B and C together. Each finger
  motor is named after the proximal joint it drives (``finger_x_joint_1``); the scissor after
  ``palm_finger_b_joint`` (C mirrors B). Joint names, limits and the mode angles come from
  hand/kinematics.py and hand/dimensions.py.
* ``Robotiq3FRegisters``: the output registers of the Robotiq 3F Modbus interface as the
  ros-industrial ``Robotiq3FGripperRobotOutput`` message lays them out (rACT ... rFRS; snake_case
  field names as in ``grasp_planner_interfaces/msg/Robotiq3FCommand``), 0..255 each.
* ``apply_tcp_offset``: the planner's pose is the hand frame (the TCP, docs/tcp_frame.png); a
  robot's tool frame usually sits elsewhere (the flange, a coupling plate), so a fixed
  ``T_hand_tool`` maps planned poses to the pose the arm must bring its tool frame to.

Pre-grasp = the open hand with the grasping mode set; grasp = closing with a force limit.
Force and speed are fractions 0..1 of the hand's range (Robotiq's register scale 0..255; for
joint efforts, of ``dimensions.JOINT_EFFORT`` N m per joint).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from grasp_planner.hand import dimensions as dim
from grasp_planner.pose import Pose

#: the hand's four motors, named after the joint each drives: fingers A, B, C and the scissor axis
ACTUATED_JOINTS = ("finger_a_joint_1", "finger_b_joint_1", "finger_c_joint_1", "palm_finger_b_joint")
#: the Robotiq 3F grasping modes and their rMOD register values (manual, "Grasping modes")
MODE_REGISTER = {"basic": 0, "pinch": 1, "wide": 2, "scissor": 3}
STAGES = ("pre_grasp", "grasp")


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    return value


def _check_mode(mode: str) -> str:
    if mode not in MODE_REGISTER:
        raise ValueError(f"hand mode must be one of {list(MODE_REGISTER)}, got {mode!r}")
    return mode


@dataclass(frozen=True)
class HandPosture:
    """One target of the four actuated joints.

    Attributes
    ----------
    joint_names : ACTUATED_JOINTS
    positions : (4,) rad; fingers at their proximal angle (open stop .. closed), scissor angle
        (positive = B and C spread apart).
    efforts : (4,) N m, the torque limit per motor (0 = not limited / not closing).
    mode : grasping mode, a key of MODE_REGISTER.
    stage : "pre_grasp" or "grasp".
    """

    joint_names: tuple
    positions: tuple
    efforts: tuple
    mode: str
    stage: str

    def as_dict(self) -> dict:
        """Plain dict (joint_names, positions, efforts, mode, stage) for logs and messages."""
        return {"joint_names": list(self.joint_names), "positions": list(self.positions),
                "efforts": list(self.efforts), "mode": self.mode, "stage": self.stage}


def _scissor_angles(mode: str) -> tuple[float, float]:
    """Scissor angle (rad) open and closed in a mode; only scissor mode moves it while grasping."""
    if mode == "scissor":                     # B and C close on each other like scissors
        return dim.SCISSOR_LIMITS[1], dim.SCISSOR_LIMITS[0]
    angle = dim.MODES[mode]
    return angle, angle


def pre_grasp_posture(mode: str = "basic") -> HandPosture:
    """The open hand with the scissor axis set for ``mode``; no closing effort."""
    _check_mode(mode)
    open_finger = dim.PROXIMAL_LIMITS[0]
    scissor, _ = _scissor_angles(mode)
    return HandPosture(ACTUATED_JOINTS, (open_finger, open_finger, open_finger, scissor), (0.0,) * 4,
                       mode, "pre_grasp")


def grasp_posture(mode: str = "basic", force: float = 0.5) -> HandPosture:
    """Closing: fingers driven to their closed stop (they stop on the object) with ``force`` of the max torque.

    In scissor mode the fingers stay open and the scissor axis closes B onto C instead.
    """
    _check_mode(mode)
    effort = _check_fraction("force", force) * dim.JOINT_EFFORT
    _, scissor = _scissor_angles(mode)
    if mode == "scissor":
        finger = dim.PROXIMAL_LIMITS[0]
        return HandPosture(ACTUATED_JOINTS, (finger, finger, finger, scissor), (0.0, 0.0, 0.0, effort),
                           mode, "grasp")
    finger = dim.PROXIMAL_LIMITS[1]
    return HandPosture(ACTUATED_JOINTS, (finger, finger, finger, scissor), (effort, effort, effort, 0.0),
                       mode, "grasp")


def posture(mode: str, stage: str, force: float = 0.5) -> HandPosture:
    """``pre_grasp_posture(mode)`` or ``grasp_posture(mode, force)`` by stage name."""
    if stage not in STAGES:
        raise ValueError(f"gripper stage must be one of {STAGES}, got {stage!r}")
    return pre_grasp_posture(mode) if stage == "pre_grasp" else grasp_posture(mode, force)


# --- Robotiq 3F registers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Robotiq3FRegisters:
    """The 19 output registers of the Robotiq 3F (0..255 each), named as in Robotiq3FCommand.msg.

    r_act activate, r_mod mode, r_gto go to, r_atr automatic release, r_glv glove mode,
    r_icf individual finger control, r_ics individual scissor control; then position request
    (0 open .. 255 closed), speed and force for finger A (all fingers when r_icf = 0), B, C and
    the scissor axis S.
    """

    r_act: int = 1
    r_mod: int = 0
    r_gto: int = 1
    r_atr: int = 0
    r_glv: int = 0
    r_icf: int = 0
    r_ics: int = 0
    r_pra: int = 0
    r_spa: int = 0
    r_fra: int = 0
    r_prb: int = 0
    r_spb: int = 0
    r_frb: int = 0
    r_prc: int = 0
    r_spc: int = 0
    r_frc: int = 0
    r_prs: int = 0
    r_sps: int = 0
    r_frs: int = 0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if int(value) != value or not 0 <= int(value) <= 255:
                raise ValueError(f"Robotiq register {f.name} must be an integer in 0..255, got {value}")
            object.__setattr__(self, f.name, int(value))

    def as_dict(self) -> dict:
        """Field name -> value, ready for ``Robotiq3FCommand(**registers.as_dict())``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def to_register(fraction: float) -> int:
    """A fraction 0..1 (open..closed, slow..fast, weak..strong) as a register value 0..255."""
    return int(round(255 * float(np.clip(fraction, 0.0, 1.0))))


def registers(mode: str, stage: str, speed: float = 0.5, force: float = 0.5) -> Robotiq3FRegisters:
    """Registers that activate the hand, set ``mode`` and open (pre_grasp) or close (grasp) it.

    Fingers move together (r_icf = 0: finger A's registers drive all three). In scissor mode the
    scissor axis is driven individually (r_ics = 1, r_prs/r_sps/r_frs) and the fingers stay open.
    """
    _check_mode(mode)
    if stage not in STAGES:
        raise ValueError(f"gripper stage must be one of {STAGES}, got {stage!r}")
    sp = to_register(_check_fraction("speed", speed))
    fr = to_register(_check_fraction("force", force))
    closed = 255 if stage == "grasp" else 0
    if mode == "scissor":
        return Robotiq3FRegisters(r_mod=MODE_REGISTER[mode], r_ics=1, r_pra=0, r_spa=sp, r_fra=fr,
                                  r_prs=closed, r_sps=sp, r_frs=fr)
    return Robotiq3FRegisters(r_mod=MODE_REGISTER[mode], r_pra=closed, r_spa=sp, r_fra=fr)


# --- TCP offset ----------------------------------------------------------------------------------
def tcp_offset_from_xyzrpy(xyzrpy) -> Pose:
    """``T_hand_tool`` from ``[x, y, z, roll, pitch, yaw]`` (m, rad; the ``tcp_offset`` parameter)."""
    values = np.asarray(xyzrpy, dtype=float).reshape(-1)
    if values.shape != (6,):
        raise ValueError(f"tcp_offset must have 6 numbers [x, y, z, roll, pitch, yaw], got {values.tolist()}")
    return Pose.from_xyzrpy(values)


def apply_tcp_offset(T_frame_hand, T_hand_tool: Pose):
    """Where the robot's tool frame must be for the hand frame to reach ``T_frame_hand``.

    Parameters
    ----------
    T_frame_hand : Pose or (..., 4, 4)
        Planned hand (TCP) poses in any frame.
    T_hand_tool : Pose
        The robot's tool frame in the hand frame (fixed by how the hand is mounted).

    Returns
    -------
    ``T_frame_tool = T_frame_hand @ T_hand_tool``, a Pose for a Pose input, else an array.
    """
    if isinstance(T_frame_hand, Pose):
        return T_frame_hand @ T_hand_tool
    return np.asarray(T_frame_hand, dtype=float) @ T_hand_tool.matrix()


def remove_tcp_offset(T_frame_tool, T_hand_tool: Pose):
    """The inverse of :func:`apply_tcp_offset`: hand poses from tool-frame poses (e.g. an initial pose)."""
    return apply_tcp_offset(T_frame_tool, T_hand_tool.inverse())
