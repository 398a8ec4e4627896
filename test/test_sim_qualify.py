"""Qualified sampling (paper Sec. III-A): open hand clear of the object, closed hand would touch it."""
import numpy as np
import pytest
import trimesh

from grasp_planner.hand import closed_hand_would_collide, open_configuration
from grasp_planner.geometry import ObjectGeometry, hand_distance  # noqa: I001 (hand first: import cycle)
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.qualify import sample_qualified_poses

CONFIG = SimConfig.load()
SHAPES = {
    "box": trimesh.creation.box([0.05, 0.04, 0.07]),
    "cylinder": trimesh.creation.cylinder(radius=0.025, height=0.1, sections=24),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_qualified_poses_have_a_clear_open_hand_and_a_colliding_closed_hand(name):
    mesh = SHAPES[name]
    poses = sample_qualified_poses(mesh.vertices, mesh.faces, np.random.default_rng(4), 12, CONFIG)
    assert poses.shape == (12, 4, 4)
    geometry = ObjectGeometry.from_mesh(mesh.vertices, mesh.faces)
    q_open = open_configuration(CONFIG.hand.open_mode)
    for T in poses:
        np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-9)
        # tolerance 0.1 mm: Klamp't's withinDistance and distance use slightly different margins
        assert hand_distance(geometry, T, q_open) >= CONFIG.qualify.clearance_m - 1e-4
        assert closed_hand_would_collide(T, geometry, CONFIG.hand.open_mode)


def test_same_seed_gives_the_same_poses():
    mesh = SHAPES["box"]
    a = sample_qualified_poses(mesh.vertices, mesh.faces, np.random.default_rng(9), 5, CONFIG)
    b = sample_qualified_poses(mesh.vertices, mesh.faces, np.random.default_rng(9), 5, CONFIG)
    np.testing.assert_array_equal(a, b)


def test_bad_mesh_is_rejected_naming_the_input():
    with pytest.raises(ValueError, match="vertices"):
        sample_qualified_poses(np.zeros((5, 2)), np.zeros((4, 3), int), np.random.default_rng(0), 1, CONFIG)
