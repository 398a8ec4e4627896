"""``grasp_planner_lifecycle_node``: the planner node as a managed (lifecycle) node.

Same topics, action, parameters and behaviour as ``grasp_planner_node`` (both use
``ros/serving.PlannerServing``), with its life driven by a lifecycle manager
(``lifecycle_msgs/srv/ChangeState`` on ``~/change_state``):

* configure: validate the parameters and load the model; a missing or broken model fails the
  transition with the reason logged ("configure failed: model file not found: ..."). The
  ``/diagnostics`` publisher starts here, so a configured but inactive planner is visible.
* activate: subscriptions, publishers and the ``plan_grasp`` action server are created: serving.
* deactivate: they are destroyed: no plans, no action server (clients see it disappear).
* cleanup / shutdown: the model and the diagnostics publisher are freed.
"""
from __future__ import annotations

import rclpy
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn

from grasp_planner.ros.params import declare_params
from grasp_planner.ros.serving import PlannerServing, spin_until_shutdown


class LifecycleGraspPlannerNode(PlannerServing, LifecycleNode):
    """Managed variant of ``GraspPlannerNode``: nothing is loaded or served before configure/activate."""

    def __init__(self, **kwargs):
        super().__init__("grasp_planner", **kwargs)
        try:
            self._init_serving(declare_params(self))
        except ValueError as err:          # reported by configure, so a manager sees the failure
            self._init_serving(None, str(err))

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            card = self._load()
        except ValueError as err:
            self.get_logger().error(f"configure failed: {err}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"configured: model {card}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self._start_serving()
        self.get_logger().info("active: serving plan_grasp")
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._stop_serving()
        self.get_logger().info("inactive: not serving")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._unload()
        self.get_logger().info("cleaned up: model unloaded")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._stop_serving()
        self._unload()
        return TransitionCallbackReturn.SUCCESS


def main(args=None):
    """Run the managed node until Ctrl-C; transitions come from a lifecycle manager."""
    rclpy.init(args=args)
    node = LifecycleGraspPlannerNode()
    spin_until_shutdown(node)


if __name__ == "__main__":
    main()
