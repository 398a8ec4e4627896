"""Procedural objects (the mesh loader: test_data_mesh_loader.py)."""
import numpy as np
import pytest
import trimesh

from grasp_planner.data.objects import KINDS, MAX_GRIP_DIAMETER, procedural_object, procedural_objects


@pytest.fixture(scope="module")
def thousand():
    return procedural_objects(1000, seed=7)


def test_one_seed_gives_at_least_1000_distinct_objects(thousand):
    fingerprints = {np.round(o.vertices, 9).tobytes() for o in thousand}
    assert len(fingerprints) == 1000
    assert len({o.name for o in thousand}) == 1000


def test_procedural_set_is_reproducible_from_its_seed(thousand):
    for index in (0, 123, 999):
        again = procedural_object(index, seed=7)
        assert again.name == thousand[index].name
        np.testing.assert_array_equal(again.vertices, thousand[index].vertices)
        np.testing.assert_array_equal(again.faces, thousand[index].faces)
    assert not np.array_equal(procedural_object(5, seed=8).vertices, thousand[5].vertices)


def test_every_kind_and_size_class_occurs(thousand):
    assert {o.kind for o in thousand} == {k for k, _ in KINDS}
    largest = np.array([o.extents.max() for o in thousand])
    assert (largest < 0.025).sum() > 50                       # too small for a stable grasp
    assert ((largest > 0.03) & (largest < MAX_GRIP_DIAMETER)).sum() > 500
    assert (largest > MAX_GRIP_DIAMETER).sum() > 50            # too large for the hand


def test_objects_are_closed_centred_and_small_enough(thousand):
    for o in thousand[::25]:
        mesh = trimesh.Trimesh(o.vertices, o.faces, process=False)
        assert mesh.is_watertight and mesh.volume > 0
        np.testing.assert_allclose(mesh.center_mass, 0.0, atol=1e-9)
    assert max(len(o.faces) for o in thousand) <= 2000
