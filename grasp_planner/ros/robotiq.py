"""Robotiq 3-Finger commands: the register message of the Robotiq 3F drivers and finger-joint postures.

Register layout: the ros-industrial ``Robotiq3FGripperRobotOutput`` (rACT, rMOD, rGTO, ... rFRS),
fields in snake_case (``r_act``) because ROS 2 field names are lower case. Positions 0 = open,
255 = closed; with ``r_icf = 0`` finger A's position/speed/force drive all three fingers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.hand import kinematics

#: Robotiq's rMOD values
MODE_REGISTER = {"basic": 0, "pinch": 1, "wide": 2, "scissor": 3}
#: stages the node can command
STAGES = ("pre_grasp", "grasp")


@dataclass(frozen=True)
class RegisterCommand:
    """The 19 output registers, 0..255 each."""

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
        for name, value in vars(self).items():
            if not 0 <= int(value) <= 255:
                raise ValueError(f"Robotiq register {name} must be in 0..255, got {value}")


def fraction_to_register(fraction: float) -> int:
    """0..1 (open..closed, slow..fast, weak..strong) to a register value 0..255."""
    return int(round(255 * float(np.clip(fraction, 0.0, 1.0))))


def register_command(mode: str, stage: str, speed: float, force: float) -> RegisterCommand:
    """Activate, set the mode and go to open (pre_grasp) or closed (grasp), all fingers together."""
    if mode not in MODE_REGISTER:
        raise ValueError(f"hand mode must be one of {sorted(MODE_REGISTER)}, got {mode!r}")
    if stage not in STAGES:
        raise ValueError(f"gripper stage must be one of {STAGES}, got {stage!r}")
    return RegisterCommand(r_mod=MODE_REGISTER[mode], r_pra=255 if stage == "grasp" else 0,
                           r_spa=fraction_to_register(speed), r_fra=fraction_to_register(force))


def posture(mode: str, stage: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Joint names and positions (rad) of the hand's 11 joints, open in ``mode`` or fully closed."""
    q = kinematics.open_configuration("basic" if mode == "scissor" else mode)
    if stage == "grasp":
        _, upper = kinematics.joint_limits()
        q = q.copy()
        q[2:] = upper[2:]
    return kinematics.JOINT_NAMES, q


def register_msg(cmd: RegisterCommand):
    """grasp_planner_interfaces/Robotiq3FCommand from the registers."""
    from grasp_planner_interfaces.msg import Robotiq3FCommand

    return Robotiq3FCommand(**{k: int(v) for k, v in vars(cmd).items()})


def joint_trajectory_msg(names, positions, header, effort: float | None = None, duration_s: float = 1.0):
    """trajectory_msgs/JointTrajectory with one point reaching ``positions`` after ``duration_s``."""
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    point = JointTrajectoryPoint(positions=[float(v) for v in positions])
    if effort is not None:
        point.effort = [float(effort)] * len(point.positions)
    sec = int(duration_s)
    point.time_from_start = Duration(sec=sec, nanosec=int(round((duration_s - sec) * 1e9)))
    return JointTrajectory(header=header, joint_names=list(names), points=[point])
