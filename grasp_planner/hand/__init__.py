"""The Robotiq 3-Finger Adaptive Gripper: dimensions, kinematics, underactuated closing, collisions."""
