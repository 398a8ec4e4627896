"""Robotiq 3-Finger register commands as messages.

The registers and postures themselves are computed once, in ``grasp_planner/hand/posture.py``
(``registers``, ``posture``; scissor mode as it defines it); this module only copies them into
``grasp_planner_interfaces/Robotiq3FCommand`` (postures become JointTrajectory messages with
``ros/adapters.posture_msg``).
Register layout: the ros-industrial ``Robotiq3FGripperRobotOutput`` (rACT ... rFRS), in snake_case.
"""
from __future__ import annotations

from grasp_planner.hand.posture import Robotiq3FRegisters


def register_msg(registers: Robotiq3FRegisters):
    """grasp_planner_interfaces/Robotiq3FCommand carrying every register of ``registers``."""
    from grasp_planner_interfaces.msg import Robotiq3FCommand

    return Robotiq3FCommand(**registers.as_dict())
