"""ROS 2 face of the planner: the node, message conversions, markers and the action server."""
