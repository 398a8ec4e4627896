"""Klamp't grasp labelling: qualified poses, closing on a free-floating object, shakes.

Public names: ``GraspLabel``, ``SimOutcome``, ``SimConfig``, ``sample_qualified_poses``,
``GraspSimulator``, ``label_object``, ``silenced_output``. Needs Klamp't and numpy, never rclpy.
"""
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel, SimOutcome
from grasp_planner.sim.quiet import silenced_output
from grasp_planner.sim.qualify import sample_qualified_poses
from grasp_planner.sim.simulate import GraspSimulator
from grasp_planner.sim.pipeline import LabeledGrasps, label_object  # noqa: I001 (after its imports)

__all__ = ["GraspLabel", "SimOutcome", "SimConfig", "sample_qualified_poses", "GraspSimulator",
           "LabeledGrasps", "label_object", "silenced_output"]
