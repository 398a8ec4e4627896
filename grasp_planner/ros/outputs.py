"""What the node publishes for a plan: ``grasp``, ``grasp_score``, ``grasp_detailed``, ``grasp_candidates``,
``markers``, the gripper command (``gripper_format``) and ``grasp_moveit`` (where moveit_msgs is installed).

Only copying: poses, postures and registers come ready from planning/request.PlanReply and hand/posture.py.
"""
from __future__ import annotations

from geometry_msgs.msg import PoseArray, PoseStamped
from std_msgs.msg import Float32
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from grasp_planner.hand import posture as hand
from grasp_planner.ros import adapters, conversions as conv, markers, robotiq
from grasp_planner_interfaces.msg import GraspArray, Robotiq3FCommand


class Outputs:
    """The node's publishers and gripper client, made for one parameter set (``gripper_format``)."""

    def __init__(self, node, p):
        fmt = p.gripper_format
        topics = {name: (kind, name) for name, kind in (("grasp", PoseStamped), ("grasp_score", Float32), (
            "grasp_detailed", GraspArray), ("grasp_candidates", PoseArray), ("markers", MarkerArray))}
        if fmt in ("registers", "both"):
            topics["registers"] = (Robotiq3FCommand, p.gripper_topic)
        if fmt in ("joint_trajectory", "both"):
            topics["trajectory"] = (JointTrajectory, p.gripper_topic + ("_trajectory" if fmt == "both" else ""))
        if adapters.moveit_available():
            topics["moveit"] = (adapters.import_interface("moveit_msgs/msg/Grasp"), "grasp_moveit")
        self._node, self._pubs = node, {key: node.create_publisher(*spec, 1) for key, spec in topics.items()}
        self._gripper = (adapters.GripperCommandClient(node, p.gripper_action_name, p.gripper_action_type)
                         if fmt == "gripper_action" else None)

    def destroy(self):
        if self._gripper is not None:
            self._gripper.destroy()
        for pub in self._pubs.values():
            self._node.destroy_publisher(pub)
        self._pubs, self._gripper = {}, None

    def publish(self, reply, header, p, actuate: bool):
        """On success ``grasp`` first (what a robot waits for), the gripper command if ``actuate``, the
        details; then markers, the slowest to build, for any grasp found (failed plans' too, to see why)."""
        if not reply.grasps or not self._pubs:
            return
        best, pubs = reply.grasps[0], self._pubs
        if reply.success:
            pubs["grasp"].publish(PoseStamped(header=header, pose=conv.pose_to_pose_msg(best.T_output_tool)))
            command = hand.posture(p.hand_mode, p.gripper_stage, p.gripper_force) if actuate else None
            if actuate and "registers" in pubs:
                pubs["registers"].publish(robotiq.register_msg(
                    hand.registers(p.hand_mode, p.gripper_stage, p.gripper_speed, p.gripper_force)))
            if actuate and "trajectory" in pubs:
                pubs["trajectory"].publish(adapters.posture_msg(command, header))
            if actuate and self._gripper is not None:
                self._gripper.send(command)
            pubs["grasp_score"].publish(Float32(data=float(best.score)))
            pubs["grasp_detailed"].publish(GraspArray(header=header, grasps=conv.grasp_msgs(reply, header, p)))
            pubs["grasp_candidates"].publish(PoseArray(header=header, poses=[conv.pose_to_pose_msg(g.T_output_tool)
                                                                             for g in reply.grasps]))
            if "moveit" in pubs:
                fields = adapters.moveit_grasp_fields(best.T_output_hand, header.frame_id, best.probability,
                                                      reply.pre_grasp, reply.grasp, p.approach_distance_m,
                                                      p.retreat_distance_m, T_hand_tool=p.T_hand_tool())
                pubs["moveit"].publish(adapters.moveit_grasp_msg(fields, header.stamp))
        pubs["markers"].publish(markers.marker_array_msg(
            header, reply.initial_hand, best.T_output_hand, best.probability,
            markers.hand_configuration(reply.pre_grasp), reply.trajectory))
