"""grasp_planner: 6-DOF grasps for the Robotiq 3-finger hand from one depth image.

The pipeline reads from the subpackages: ``hand`` (the gripper model), ``sim`` (Klamp't grasp
labels), ``data`` (objects, depth synthesis, shards), ``learning`` (the mix-in CNN),
``planning`` (grasp optimization), ``perception`` (real camera -> network view) and ``ros``
(the node). Everything but ``ros`` imports without ROS.
"""
__version__ = "0.1.0"
