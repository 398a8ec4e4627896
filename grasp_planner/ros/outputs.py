"""A plan's reply as messages: the action result and what the node publishes (markers, grasps, gripper).

Only copying here: the poses, postures and registers come ready from planning/request.PlanReply and
hand/posture.py. Topics (relative): ``grasp``, ``grasp_score``, ``grasp_detailed``,
``grasp_candidates``, ``markers``, the gripper command (``gripper_format``) and ``grasp_moveit``
(moveit_msgs/Grasp, only where moveit_msgs is installed).
"""
from __future__ import annotations

from geometry_msgs.msg import PoseArray, PoseStamped
from std_msgs.msg import Float32
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from grasp_planner.hand import posture as hand
from grasp_planner.ros import adapters, markers, robotiq
from grasp_planner.ros import conversions as conv
from grasp_planner_interfaces.action import PlanGrasp
from grasp_planner_interfaces.msg import FailureReason, GraspArray, Robotiq3FCommand


def grasp_msgs(reply, header, p) -> list:
    """grasp_planner_interfaces/Grasp per grasp of the reply, best first."""
    pre, close = (adapters.posture_msg(q, header) for q in (reply.pre_grasp, reply.grasp))
    return [conv.grasp_msg(g, header, hand.MODE_REGISTER[p.hand_mode], p.approach_distance_m, p.retreat_distance_m,
                           pre, close) for g in reply.grasps]


def result_msg(reply, header, p):
    """The PlanGrasp result of a reply."""
    code = getattr(FailureReason, reply.reason, FailureReason.INTERNAL_ERROR)
    return PlanGrasp.Result(success=reply.success, reason=FailureReason(code=code), message=reply.message,
                            grasps=grasp_msgs(reply, header, p) if reply.pre_grasp is not None else [])


class Outputs:
    """The node's publishers and gripper client, made for one parameter set (``gripper_format``)."""

    def __init__(self, node, p):
        self._node = node
        topics = {"grasp": PoseStamped, "grasp_score": Float32, "grasp_detailed": GraspArray,
                  "grasp_candidates": PoseArray, "markers": MarkerArray}
        if p.gripper_format in ("registers", "both"):
            topics["registers"] = (Robotiq3FCommand, p.gripper_topic)
        if p.gripper_format in ("joint_trajectory", "both"):
            suffix = "_trajectory" if p.gripper_format == "both" else ""
            topics["trajectory"] = (JointTrajectory, p.gripper_topic + suffix)
        if adapters.moveit_available():
            topics["moveit"] = (adapters.import_interface("moveit_msgs/msg/Grasp"), "grasp_moveit")
        self._pubs = {}
        for key, spec in topics.items():
            kind, topic = spec if isinstance(spec, tuple) else (spec, key)
            self._pubs[key] = node.create_publisher(kind, topic, 1)
        self._gripper = (adapters.GripperCommandClient(node, p.gripper_action_name, p.gripper_action_type)
                         if p.gripper_format == "gripper_action" else None)

    def destroy(self):
        if self._gripper is not None:
            self._gripper.destroy()
        for pub in self._pubs.values():
            self._node.destroy_publisher(pub)
        self._pubs, self._gripper = {}, None

    def publish(self, reply, header, p, actuate: bool):
        """Markers for any grasp found (failed ones too, to see why); grasps on success; the gripper
        command on success when ``actuate``."""
        if not reply.grasps or not self._pubs:
            return
        frame, stamp, best = header.frame_id, header.stamp, reply.grasps[0]
        self._pubs["markers"].publish(markers.marker_array_msg(
            header, reply.initial_hand, best.T_output_hand, best.probability,
            markers.hand_configuration(reply.pre_grasp), reply.trajectory))
        if not reply.success:
            return
        self._pubs["grasp"].publish(conv.pose_to_pose_stamped_msg(best.T_output_tool, frame, stamp))
        self._pubs["grasp_score"].publish(Float32(data=float(best.score)))
        self._pubs["grasp_detailed"].publish(GraspArray(header=header, grasps=grasp_msgs(reply, header, p)))
        self._pubs["grasp_candidates"].publish(conv.poses_to_pose_array_msg(
            [g.T_output_tool for g in reply.grasps], frame, stamp))
        if "moveit" in self._pubs:
            fields = adapters.moveit_grasp_fields(best.T_output_hand, frame, best.probability, reply.pre_grasp,
                                                  reply.grasp, p.approach_distance_m, p.retreat_distance_m,
                                                  T_hand_tool=p.T_hand_tool())
            self._pubs["moveit"].publish(adapters.moveit_grasp_msg(fields, stamp))
        if actuate:
            command = hand.posture(p.hand_mode, p.gripper_stage, p.gripper_force)
            if "registers" in self._pubs:
                self._pubs["registers"].publish(robotiq.register_msg(
                    hand.registers(p.hand_mode, p.gripper_stage, p.gripper_speed, p.gripper_force)))
            if "trajectory" in self._pubs:
                self._pubs["trajectory"].publish(adapters.posture_msg(command, header))
            if self._gripper is not None:
                self._gripper.send(command)
