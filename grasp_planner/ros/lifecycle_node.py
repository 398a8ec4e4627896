"""``grasp_planner_lifecycle_node``: the planner node as a managed (lifecycle) node, same topics and action.

configure reads the parameters as they are then and loads config and model (a failure leaves nothing
held, so configuring again after the fix works); activate/deactivate bring the endpoints up and down;
cleanup/shutdown release everything, the tf listener included.
"""
from __future__ import annotations

import rclpy
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn

from grasp_planner.ros.node import spin_until_shutdown
from grasp_planner.ros.params import current_values, declare_params
from grasp_planner.ros.server import PlanServer


class LifecycleGraspPlannerNode(LifecycleNode):
    """Managed variant of ``GraspPlannerNode``: nothing is loaded or served before configure/activate."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        self.server, self._declare_error = None, None
        try:   # static parameters stay settable: a configure reads them again
            declare_params(self, read_only=False)
        except ValueError as err:          # reported by configure, so a manager sees the failure
            self._declare_error = str(err)

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            if self._declare_error is not None:
                raise ValueError(self._declare_error)
            self.server = PlanServer(self, current_values(self))
        except ValueError as err:
            self.get_logger().error(f"configure failed: {err}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"configured: model {self.server.card}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self.server.activate()
        self.get_logger().info("active: serving plan_grasp")
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self.server.deactivate()
        self.get_logger().info("inactive: not serving")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up: model unloaded")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self):
        self._release()   # Ctrl-C while active: the tf listener, timer and parameter callbacks go too
        return super().destroy_node()

    def _release(self):
        if self.server is not None:
            self.server.destroy()
            self.server = None


def main(args=None):
    """Run the managed node until Ctrl-C; transitions come from a lifecycle manager."""
    rclpy.init(args=args)
    spin_until_shutdown(LifecycleGraspPlannerNode())


if __name__ == "__main__":
    main()
