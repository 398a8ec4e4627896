"""``HandModel``: one object giving other stages the hand's kinematics, boxes, URDF and Klamp't layout."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.hand import closing
from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.kinematics import urdf_path

#: Klamp't link index of the palm when the URDF is loaded with a floating base (base0..base4 first)
KLAMPT_PALM_INDEX = 5


@dataclass(frozen=True)
class LinkBox:
    """A link's collision box: ``half_extents`` (3,) metres, placed by ``T_link_box`` (4, 4)."""

    name: str
    half_extents: np.ndarray
    T_link_box: np.ndarray


class HandModel:
    """The Robotiq 3-finger hand: forward kinematics, collision boxes, closing and collision checks.

    Stateless apart from constants; the functions in hand/kinematics.py and hand/closing.py are the
    same operations without the object.
    """

    link_names = kin.LINK_NAMES
    joint_names = kin.JOINT_NAMES
    fingers = dim.FINGERS
    modes = tuple(dim.MODES)

    @property
    def link_boxes(self) -> list[LinkBox]:
        """Collision box of every link, in ``link_names`` order."""
        return [LinkBox(name, kin.BOX_HALF_EXTENTS[i].copy(), kin.BOX_TRANSFORMS[i].copy())
                for i, name in enumerate(kin.LINK_NAMES)]

    @staticmethod
    def urdf_path() -> str:
        return urdf_path()

    @staticmethod
    def joint_limits() -> tuple[np.ndarray, np.ndarray]:
        return kin.joint_limits()

    @staticmethod
    def open_configuration(mode: str = "basic") -> np.ndarray:
        return kin.open_configuration(mode)

    @staticmethod
    def closed_on_nothing(mode: str = "basic", grip: str = "encompassing") -> np.ndarray:
        return closing.closed_on_nothing(mode, grip)

    @staticmethod
    def link_transforms(T_world_hand, q) -> dict[str, np.ndarray]:
        return kin.link_transforms(T_world_hand, q)

    @staticmethod
    def link_matrices(T_world_hand, q) -> np.ndarray:
        return kin.link_matrices(T_world_hand, q)

    @staticmethod
    def fingertip_positions(T_world_hand, q) -> np.ndarray:
        return kin.fingertip_positions(T_world_hand, q)

    @staticmethod
    def close_fingers(T_world_hand, geometry, mode: str = "basic", grip: str = "encompassing") -> np.ndarray:
        return closing.close_fingers(T_world_hand, geometry, mode, grip)

    @staticmethod
    def open_hand_collides(T_world_hand, geometry, mode: str = "basic") -> bool:
        return closing.open_hand_collides(T_world_hand, geometry, mode)

    @staticmethod
    def closed_hand_would_collide(T_world_hand, geometry, mode: str = "basic",
                                  grip: str = "encompassing") -> bool:
        return closing.closed_hand_would_collide(T_world_hand, geometry, mode, grip)

    @staticmethod
    def klampt_config(T_world_hand, q) -> list[float]:
        """Klamp't configuration (18 values) of the URDF loaded with a floating base.

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

    @staticmethod
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
