"""rviz markers: the hand drawn from its link boxes, coloured by score, and the optimization path."""
from __future__ import annotations

import numpy as np

from grasp_planner.hand import kinematics
from grasp_planner.pose import Pose, matrix_to_quaternion

#: colour of the hand at the initial pose (grey, translucent)
INITIAL_RGBA = (0.6, 0.6, 0.6, 0.35)
#: colour of the optimization path
PATH_RGBA = (0.2, 0.4, 1.0, 1.0)


def score_colour(probability: float, alpha: float = 0.8) -> tuple[float, float, float, float]:
    """Red (0) through yellow (0.5) to green (1) for a success probability."""
    p = float(np.clip(probability, 0.0, 1.0))
    return (min(1.0, 2.0 * (1.0 - p)), min(1.0, 2.0 * p), 0.0, alpha)


def hand_configuration(posture) -> np.ndarray:
    """The 11 joint angles (kinematics.JOINT_NAMES) that draw a ``hand.posture.HandPosture``.

    The actuated joints take the posture's values (C's scissor joint follows B's, as in
    ``kinematics.open_configuration``); the medial and distal phalanges stay at their open angles.
    """
    q = kinematics.open_configuration("basic").copy()
    index = {name: i for i, name in enumerate(kinematics.JOINT_NAMES)}
    for name, value in zip(posture.joint_names, posture.positions):
        q[index[name]] = value
    q[index["palm_finger_c_joint"]] = q[index["palm_finger_b_joint"]]
    return q


def hand_boxes(T_frame_hand: Pose, q) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The links' collision boxes in the frame: centres ``(L, 3)``, quaternions ``(L, 4)`` xyzw and full
    sizes ``(L, 3)``, m (one array call for all links: markers are built after every plan)."""
    mats = kinematics.box_matrices(T_frame_hand.matrix(), q)
    return mats[:, :3, 3], matrix_to_quaternion(mats[:, :3, :3]), 2.0 * np.asarray(kinematics.BOX_HALF_EXTENTS)


def path_positions(trajectory) -> np.ndarray:
    """``(N, 3)`` positions from a sequence of ``Pose`` or 4x4 matrices (empty if none)."""
    points = [p.translation if isinstance(p, Pose) else np.asarray(p, float)[:3, 3] for p in (trajectory or [])]
    return np.asarray(points, dtype=float).reshape(-1, 3)


def _colour(rgba):
    from std_msgs.msg import ColorRGBA

    r, g, b, a = (float(v) for v in rgba)
    return ColorRGBA(r=r, g=g, b=b, a=a)


def _hand_markers(namespace: str, T_frame_hand: Pose, q, rgba, header) -> list:
    from geometry_msgs.msg import Point, Quaternion, Vector3
    from geometry_msgs.msg import Pose as PoseMsg
    from visualization_msgs.msg import Marker

    centres, quaternions, sizes = (a.tolist() for a in hand_boxes(T_frame_hand, q))   # plain floats
    colour = _colour(rgba)
    return [Marker(header=header, ns=namespace, id=i, type=Marker.CUBE, action=Marker.ADD, color=colour,
                   pose=PoseMsg(position=Point(x=c[0], y=c[1], z=c[2]),
                                orientation=Quaternion(x=o[0], y=o[1], z=o[2], w=o[3])),
                   scale=Vector3(x=s[0], y=s[1], z=s[2]))
            for i, (c, o, s) in enumerate(zip(centres, quaternions, sizes))]


def marker_array_msg(header, initial: Pose | None, grasp: Pose | None, probability: float, q,
                     trajectory=None):
    """MarkerArray: hands at the initial and optimized poses and the path between; old markers cleared."""
    from geometry_msgs.msg import Point
    from visualization_msgs.msg import Marker, MarkerArray

    markers = [Marker(header=header, action=Marker.DELETEALL)]
    if initial is not None:
        markers += _hand_markers("initial_hand", initial, q, INITIAL_RGBA, header)
    if grasp is not None:
        markers += _hand_markers("grasp_hand", grasp, q, score_colour(probability), header)
    points = path_positions(trajectory)
    if len(points) >= 2:
        path = Marker(header=header, ns="optimization_path", id=0, type=Marker.LINE_STRIP, action=Marker.ADD)
        path.pose.orientation.w = 1.0
        path.scale.x = 0.003
        path.color = _colour(PATH_RGBA)
        path.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in points]
        markers.append(path)
    return MarkerArray(markers=markers)
