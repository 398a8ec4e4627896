"""Grasp labels and the per-grasp simulation outcome shared by the sim, data and learning stages."""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class GraspLabel(IntEnum):
    """The paper's three outcomes; the value is what shards store (``grasps/label``, int8)."""

    FAILED = 0  # object still moving after the closing time, or knocked out of the hand
    LOOSE = 1  # held after closing, but its COM left the hand during the shakes
    ROBUST = 2  # held through every shake


@dataclass(frozen=True)
class SimOutcome:
    """What one simulated grasp produced.

    Attributes
    ----------
    label : GraspLabel
        Final label after closing and up to ``shake.count`` shakes.
    robust_after_1_shake : bool
        True when the object was still in the hand after the first shake (the paper's second metric).
        False for FAILED grasps.
    object_displacement_m : float
        Distance (m) the object's COM moved, in the hand frame, between the start and the end of closing.
    closing_time_s : float
        Simulated time (s) spent closing (shorter than the configured time when an early exit fired).
    fingers_touching : int
        Number of fingers (0..3) whose links touched the object during closing.
    contact_count : int
        Number of (finger link, object) pairs that touched the object during closing.
    shakes_done : int
        Shakes simulated (0 for FAILED; fewer than configured when the object left early).
    sim_wall_time_s : float
        Wall-clock time (s) this label took, simulator construction included.
    """

    label: GraspLabel
    robust_after_1_shake: bool
    object_displacement_m: float
    closing_time_s: float
    fingers_touching: int
    contact_count: int
    shakes_done: int
    sim_wall_time_s: float
