"""Grasp optimization: ONNX scoring, distance barrier, BFGS, multi-start, baselines, the planner facade.

The node and the demo use ``GraspPlanner.from_config(card, config).plan(depth, camera, initial_pose)``.
Importing this package loads neither torch nor rclpy (the scorer needs only onnxruntime).
"""
from grasp_planner.planning.config import PlannerConfig
from grasp_planner.planning.minimize import OptimizationStatus
from grasp_planner.planning.optimize import IterationInfo, OptimizationResult, optimize
from grasp_planner.planning.planner import GraspPlanner, PlannedGrasp, PlanResult, PlanStatus
from grasp_planner.planning.scorer import GraspScorer

__all__ = ["GraspPlanner", "GraspScorer", "IterationInfo", "OptimizationResult", "OptimizationStatus",
           "PlanResult", "PlanStatus", "PlannedGrasp", "PlannerConfig", "optimize"]
