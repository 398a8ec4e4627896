"""The hand as Klamp't loads its URDF: the floating base's layout and the joint vector inside it.

The root link ``palm`` has no parent joint, so Klamp't adds a floating base (virtual links
base0..base4) and the hand's links follow from index 5 in link order. A test drives Klamp't with
:func:`klampt_config` and checks its forward kinematics against hand/kinematics.py.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.hand import kinematics as kin

#: Klamp't link index of the palm when the URDF is loaded with a floating base (base0..base4 first)
KLAMPT_PALM_INDEX = 5


def klampt_config(T_world_hand, q) -> list[float]:
    """Klamp't configuration (18 values) of the hand at ``T_world_hand`` with joints ``q`` (11).

    Klamp't orders the floating base as x, y, z, then yaw (z), pitch (y), roll (x), which is
    pose.py's roll-pitch-yaw read backwards; the finger joints follow in link order.
    """
    from grasp_planner.pose import matrix_to_xyzrpy
    q = kin.check_configuration(q)
    x, y, z, roll, pitch, yaw = matrix_to_xyzrpy(np.asarray(T_world_hand, dtype=float))
    config = [x, y, z, yaw, pitch, roll] + [0.0] * (len(kin.LINKS) - 1)
    for i, link in enumerate(kin.LINKS):
        if link.q_index is not None:
            config[KLAMPT_PALM_INDEX + i] = float(q[link.q_index])
    return [float(v) for v in config]


def joint_vector_from_klampt(config) -> np.ndarray:
    """The 11-value joint vector from a Klamp't configuration of the hand."""
    config = np.asarray(config, dtype=float)
    if config.shape != (KLAMPT_PALM_INDEX + len(kin.LINKS),):
        raise ValueError(f"Klamp't hand config must have {KLAMPT_PALM_INDEX + len(kin.LINKS)} values, "
                         f"got shape {config.shape}")
    q = np.empty(kin.N_JOINTS)
    for i, link in enumerate(kin.LINKS):
        if link.q_index is not None:
            q[link.q_index] = config[KLAMPT_PALM_INDEX + i]
    return q
