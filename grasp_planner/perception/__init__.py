"""From a real depth camera to the network's view: table plane, clusters, virtual top-down view."""
from grasp_planner.perception.view import NormalizedView, analyse_scene, normalize_view, normalize_views

__all__ = ["NormalizedView", "analyse_scene", "normalize_view", "normalize_views"]
