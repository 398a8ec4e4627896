"""One object in, its qualified grasps and their labels out, in the arrays the dataset shards store."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import SimOutcome
from grasp_planner.sim.qualify import sample_qualified_poses
from grasp_planner.sim.simulate import GraspSimulator


@dataclass(frozen=True)
class LabeledGrasps:
    """Shard-ready arrays (docs/architecture.md, ``grasps/*``) plus the full outcomes.

    ``T_obj_hand (G, 4, 4)`` float64, ``label (G,)`` int8 GraspLabel values,
    ``robust_after_1_shake (G,)`` bool, ``outcomes``: one SimOutcome per grasp.
    """

    T_obj_hand: np.ndarray
    label: np.ndarray
    robust_after_1_shake: np.ndarray
    outcomes: tuple[SimOutcome, ...]


def label_object(vertices, faces, n: int, rng: np.random.Generator, config: SimConfig | None = None,
                 quiet: bool = True) -> LabeledGrasps:
    """Sample up to ``n`` qualified poses on one object and label each by simulation.

    Parameters
    ----------
    vertices, faces : arrays
        Object mesh, object frame, metres (``(V, 3)`` and ``(F, 3)`` indices).
    n : int
        Qualified grasps wanted (fewer come back for objects the hand cannot grasp).
    rng : np.random.Generator
        Drives sampling and every simulation; same seed, same arrays.
    config : SimConfig, optional
        Default ``SimConfig.load()``.
    quiet : bool
        Silence Klamp't's C++ prints.
    """
    config = config if config is not None else SimConfig.load()
    poses = sample_qualified_poses(vertices, faces, rng, n, config)
    simulator = GraspSimulator(vertices, faces, config, quiet=quiet)
    outcomes = tuple(simulator.label(T, rng) for T in poses)
    return LabeledGrasps(
        T_obj_hand=poses.astype(np.float64),
        label=np.array([int(o.label) for o in outcomes], dtype=np.int8),
        robust_after_1_shake=np.array([o.robust_after_1_shake for o in outcomes], dtype=bool),
        outcomes=outcomes)
