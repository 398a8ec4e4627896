"""``grasp_planner_node``: depth image + initial pose in, ranked grasps, markers and a gripper command out.

The request handling (topics, ``plan_grasp`` action, parameters, /diagnostics) is
``ros/serving.PlannerServing``, shared with the managed variant ``ros/lifecycle_node.py``; this
node loads the model and starts serving at construction.
"""
from __future__ import annotations

import rclpy
from rclpy.node import Node

from grasp_planner.ros.params import declare_params
from grasp_planner.ros.serving import PlannerServing, spin_until_shutdown


class GraspPlannerNode(PlannerServing, Node):
    """Thin ROS wrapper around ``GraspPlanner.plan``; ValueError at construction if it cannot start."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        self._init_serving(declare_params(self))
        card = self._load()
        self._start_serving()
        self.get_logger().info(f"grasp_planner ready: model {card}, "
                               f"tf2_ros {'found' if self._frames.has_tf else 'absent (frames must match)'}")


def main(args=None):
    """Run the node until Ctrl-C; a bad parameter or missing model ends it with a clear message."""
    rclpy.init(args=args)
    try:
        node = GraspPlannerNode()
    except ValueError as err:
        rclpy.logging.get_logger("grasp_planner").fatal(f"cannot start: {err}")
        rclpy.try_shutdown()
        raise SystemExit(2)
    spin_until_shutdown(node)


if __name__ == "__main__":
    main()
