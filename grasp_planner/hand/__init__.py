"""The Robotiq 3-Finger Adaptive Gripper: dimensions, kinematics, underactuated closing, collisions.

Public names: ``urdf_path``, ``link_transforms``, ``open_configuration``,
``close_fingers``, ``closed_on_nothing``, ``open_hand_collides``, ``closed_hand_would_collide``,
``JOINT_NAMES``, ``LINK_NAMES``. Importing this package needs numpy and Klamp't, never rclpy.
"""
from grasp_planner.hand.closing import (close_fingers, closed_hand_would_collide, closed_on_nothing,
                                        open_hand_collides)
from grasp_planner.hand.kinematics import (JOINT_NAMES, LINK_NAMES, joint_limits, link_matrices,
                                           link_transforms, open_configuration)
from grasp_planner.hand.klampt_config import KLAMPT_PALM_INDEX
from grasp_planner.hand.kinematics import urdf_path

__all__ = ["urdf_path", "link_transforms", "link_matrices", "open_configuration",
           "joint_limits", "close_fingers", "closed_on_nothing", "open_hand_collides",
           "closed_hand_would_collide", "JOINT_NAMES", "LINK_NAMES", "KLAMPT_PALM_INDEX"]
