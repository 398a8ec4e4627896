"""The Robotiq 3-Finger Adaptive Gripper: dimensions, kinematics, underactuated closing, collisions.

Public names: ``urdf_path``, ``link_transforms``, ``open_configuration``,
``close_fingers``, ``closed_on_nothing``, ``open_hand_collides``, ``closed_hand_would_collide``,
``JOINT_NAMES``, ``LINK_NAMES``. Never needs rclpy. The closing and collision names load Klamp't
on first use only: the planner's barrier needs the kinematics alone, and a node that never imports
Klamp't is about 30 MB smaller.
"""
from grasp_planner.hand.kinematics import (JOINT_NAMES, LINK_NAMES, joint_limits, link_matrices,
                                           link_transforms, open_configuration)
from grasp_planner.hand.klampt_config import KLAMPT_PALM_INDEX
from grasp_planner.hand.kinematics import urdf_path

_CLOSING = ("close_fingers", "closed_hand_would_collide", "closed_on_nothing", "open_hand_collides")

__all__ = ["urdf_path", "link_transforms", "link_matrices", "open_configuration",
           "joint_limits", "close_fingers", "closed_on_nothing", "open_hand_collides",
           "closed_hand_would_collide", "JOINT_NAMES", "LINK_NAMES", "KLAMPT_PALM_INDEX"]


def __getattr__(name):
    if name in _CLOSING:
        from grasp_planner.hand import closing
        return getattr(closing, name)
    raise AttributeError(f"module 'grasp_planner.hand' has no attribute {name!r}")
