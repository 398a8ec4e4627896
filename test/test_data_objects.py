"""Procedural objects and the mesh loader."""
import numpy as np
import pytest
import trimesh

from grasp_planner.data.mesh_loader import load_mesh_dir, load_mesh_file, MeshLoadError
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


def _write_meshes(folder):
    good = procedural_object(3, seed=1)
    trimesh.Trimesh(good.vertices / 0.3, good.faces).export(folder / "good.off")
    trimesh.Trimesh(good.vertices / 0.3, good.faces).export(folder / "good_too.stl")
    (folder / "corrupt.off").write_text("OFF\n3 1 0\n0 0 0\n1 0 nan\n")
    ball = trimesh.creation.icosphere(subdivisions=2)
    bowl = ball.faces[ball.triangles_center[:, 2] < 0]  # a hemisphere: a hole too big to fill
    trimesh.Trimesh(ball.vertices, bowl).export(folder / "open.obj")
    return good


def test_corrupt_and_open_mesh_files_are_reported_and_skipped(tmp_path):
    good = _write_meshes(tmp_path)
    result = load_mesh_dir(tmp_path, scale=0.3)
    assert [m.name for m in result.meshes] == ["good", "good_too"]
    np.testing.assert_allclose(result.meshes[0].extents, good.extents, rtol=1e-6)
    skipped = dict(result.skipped)
    assert set(skipped) == {str(tmp_path / "corrupt.off"), str(tmp_path / "open.obj")}
    assert all(reason.startswith(path) for path, reason in skipped.items())


def test_large_mesh_is_decimated_to_the_face_budget_and_stays_closed(tmp_path):
    trimesh.creation.icosphere(subdivisions=5, radius=0.2).export(tmp_path / "ball.ply")  # 20,480 faces
    mesh = load_mesh_file(tmp_path / "ball.ply", scale=0.3, max_faces=2000)
    assert len(mesh.faces) <= 2000
    assert trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).is_watertight
    np.testing.assert_allclose(mesh.extents, 0.12, rtol=0.05)


def test_bad_scale_is_rejected_naming_the_file(tmp_path):
    _write_meshes(tmp_path)
    with pytest.raises(MeshLoadError, match="good.off: scale"):
        load_mesh_file(tmp_path / "good.off", scale=-1)
