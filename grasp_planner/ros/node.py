"""``grasp_planner_node``: depth image + initial pose in, ranked grasps, markers and a gripper command out.

The Node owns a ros/server.PlanServer (messages -> planning/request.py -> messages) and serves from
construction; ``grasp_planner_lifecycle_node`` (ros/lifecycle_node.py) is the managed variant.
"""
from __future__ import annotations

import rclpy
from rclpy.node import Node

from grasp_planner.ros.params import declare_params
from grasp_planner.ros.server import PlanServer


class GraspPlannerNode(Node):
    """The planner node; ValueError at construction if a parameter, the planner config or the model is bad."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        self.server = None
        self.server = PlanServer(self, declare_params(self))
        self.server.activate()
        self.get_logger().info(f"grasp_planner ready: model {self.server.card}, "
                               f"tf2_ros {'found' if self.server.frames.has_tf else 'absent (frames must match)'}")

    def destroy_node(self):
        if self.server is not None:
            self.server.destroy()
            self.server = None
        return super().destroy_node()


def spin_until_shutdown(node, threads: int = 4) -> None:
    """Spin ``node`` on a multi-threaded executor (cancels arrive mid-goal) until Ctrl-C or shutdown."""
    from rclpy.executors import ExternalShutdownException

    from grasp_planner.ros.executor import PlannerExecutor

    executor = PlannerExecutor(num_threads=threads)
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


def main(args=None):
    """Run the node until Ctrl-C; a bad parameter, planner config or model ends it with one line, exit 2."""
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
