"""Mass, centre of mass and inertia of an object mesh for the free-floating simulated object."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from grasp_planner.sim.config import ObjectConfig


@dataclass(frozen=True)
class MassProperties:
    """Rigid-body properties, object frame: ``mass_kg``, ``com_m (3,)``, ``inertia_kg_m2 (3, 3)`` about the COM."""

    mass_kg: float
    com_m: np.ndarray
    inertia_kg_m2: np.ndarray


def object_mass_properties(vertices: np.ndarray, faces: np.ndarray, config: ObjectConfig) -> MassProperties:
    """Uniform-density mass properties, mass clamped to ``[min_mass_kg, max_mass_kg]``.

    A watertight mesh uses its exact volume integrals; any other mesh (open scans, soups) is treated
    as its solid axis-aligned bounding box, which keeps the simulation stable where trimesh's
    integrals would give a negative or zero volume.
    """
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    if mesh.is_watertight and mesh.volume > 1e-12:
        if mesh.volume < 0:
            mesh.invert()
        volume = float(mesh.volume)
        com = np.asarray(mesh.center_mass, dtype=float)
        inertia_per_density = np.asarray(mesh.moment_inertia, dtype=float)  # about the COM, density 1
    else:
        lo, hi = vertices.min(0), vertices.max(0)
        size = np.maximum(hi - lo, 1e-3)
        volume = float(np.prod(size))
        com = (lo + hi) / 2.0
        inertia_per_density = volume / 12.0 * np.diag([size[1] ** 2 + size[2] ** 2, size[0] ** 2 + size[2] ** 2,
                                                       size[0] ** 2 + size[1] ** 2])
    mass = float(np.clip(config.density_kg_m3 * volume, config.min_mass_kg, config.max_mass_kg))
    inertia = inertia_per_density * (mass / volume)
    return MassProperties(mass, com, inertia)
