"""The mesh loader: awkward closed meshes load closed, centred and within the face budget; open surfaces
and broken files are refused in one line naming the file; every file format round-trips; --mesh-scale auto."""
import logging

import numpy as np
import pytest
import trimesh

import awkward_meshes
from grasp_planner.cli import main
from grasp_planner.data.dataset_config import DatasetConfig
from grasp_planner.data.mesh_loader import (DEFAULT_MAX_FACES, MeshLoadError, auto_scale, load_mesh_dir,
                                            load_mesh_file)
from grasp_planner.data.objects import is_watertight, mesh_volume_centroid, procedural_object
from grasp_planner.data.shards import finished_shards, read_shard
from grasp_planner.resources import resource_path


#: name -> builder of a closed mesh (metres) that the loader must make simulator-ready
AWKWARD = {
    "torus": lambda: awkward_meshes.torus(2560),
    "l_block": lambda: awkward_meshes.l_block(2400),
    "plate_2mm": lambda: awkward_meshes.thin_plate(2352, thickness=0.002),
    "mug_with_handle": lambda: awkward_meshes.mug(2500),
    "banana": lambda: awkward_meshes.bent_cylinder(2600),
    "random_union": lambda: awkward_meshes.random_union(np.random.default_rng(3), 2700),
    # each triangle split in 16 flat ones: quadric collapse pinches the walls (manifold3d takes over)
    "mug_subdivided_40k": lambda: awkward_meshes.mug(2500).subdivide().subdivide(),
    "torus_500k": lambda: awkward_meshes.fine_torus(500_000),
}


def _assert_simulator_ready(mesh, source_volume, max_faces=DEFAULT_MAX_FACES, rtol=0.05):
    assert is_watertight(mesh.faces)
    assert trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).is_watertight
    volume, centroid = mesh_volume_centroid(mesh.vertices, mesh.faces)
    assert volume > 0
    np.testing.assert_allclose(centroid, 0.0, atol=1e-9)
    assert 4 <= len(mesh.faces) <= max_faces
    assert volume == pytest.approx(source_volume, rel=rtol)  # the decimated object is still the object


@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_awkward_closed_mesh_loads_closed_centred_within_the_budget(name, tmp_path):
    source = AWKWARD[name]()
    assert source.is_watertight
    source.export(tmp_path / f"{name}.ply")
    mesh = load_mesh_file(tmp_path / f"{name}.ply")
    assert mesh.name == name and mesh.kind == "file"
    _assert_simulator_ready(mesh, source.volume)


def test_every_everyday_shape_of_2_to_3k_faces_loads(tmp_path):
    for name, source in awkward_meshes.everyday_set(12, seed=1):
        assert 2000 <= len(source.faces) <= 3000
        source.export(tmp_path / f"{name}.stl")
        _assert_simulator_ready(load_mesh_file(tmp_path / f"{name}.stl"), source.volume)


def test_a_tetrahedron_the_smallest_closed_mesh_loads(tmp_path):
    tetra = trimesh.Trimesh([[0, 0, 0], [0.05, 0, 0], [0, 0.05, 0], [0, 0, 0.05]], [[0, 2, 1], [0, 1, 3],
                                                                                    [0, 3, 2], [1, 2, 3]])
    tetra.export(tmp_path / "tetra.obj")
    mesh = load_mesh_file(tmp_path / "tetra.obj")
    assert len(mesh.faces) == 4
    _assert_simulator_ready(mesh, 0.05 ** 3 / 6, rtol=1e-9)


@pytest.mark.parametrize("n_holes", [1, 3])
def test_small_holes_are_repaired(n_holes, tmp_path):
    intact = awkward_meshes.torus(1800)
    broken = awkward_meshes.with_hole(intact, n_holes)
    assert not broken.is_watertight
    broken.export(tmp_path / "torn.obj")
    _assert_simulator_ready(load_mesh_file(tmp_path / "torn.obj"), intact.volume, rtol=0.01)


def test_a_large_torn_mesh_is_decimated_and_repaired(tmp_path):
    intact = awkward_meshes.fine_sphere(6)  # 81,920 faces
    awkward_meshes.with_hole(intact, 3).export(tmp_path / "torn_ball.ply")
    _assert_simulator_ready(load_mesh_file(tmp_path / "torn_ball.ply"), intact.volume, rtol=0.01)


@pytest.mark.parametrize("surface", ["strip", "bowl"])
def test_an_open_surface_is_refused_in_one_line_naming_the_file_and_the_fix(surface, tmp_path):
    if surface == "strip":
        mesh = awkward_meshes.open_strip()
    else:
        ball = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
        mesh = trimesh.Trimesh(ball.vertices, ball.faces[ball.triangles_center[:, 2] < 0])
    path = tmp_path / f"{surface}.stl"
    mesh.export(path)
    with pytest.raises(MeshLoadError) as raised:
        load_mesh_file(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: open surface")
    assert "closed (watertight) solid" in message and "\n" not in message


@pytest.mark.parametrize("suffix", [".obj", ".stl", ".ply", ".off", ".glb"])
def test_each_file_format_round_trips(suffix, tmp_path):
    source = awkward_meshes.mug(1800)
    source.apply_translation((0.3, -0.2, 0.1))  # the loader moves the origin to the centroid
    path = tmp_path / f"mug{suffix}"
    source.export(path)
    mesh = load_mesh_file(path)
    assert len(mesh.faces) == len(source.faces)  # within the budget: not decimated
    np.testing.assert_allclose(mesh.extents, source.extents, rtol=1e-6)
    _assert_simulator_ready(mesh, source.volume, rtol=1e-6)


def test_a_glb_scene_becomes_one_mesh_with_its_parts_where_the_nodes_put_them(tmp_path):
    ring = awkward_meshes.torus(1000)
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box((0.04, 0.04, 0.04)), node_name="a",
                       transform=trimesh.transformations.translation_matrix((0.1, 0, 0)))
    scene.add_geometry(ring, node_name="b")
    scene.export(tmp_path / "two_parts.glb")
    mesh = load_mesh_file(tmp_path / "two_parts.glb")
    assert len(mesh.faces) == 12 + len(ring.faces)
    assert mesh.extents[0] == pytest.approx(0.065 + 0.12, rel=1e-5)  # ring from x = -0.065, box to 0.12
    _assert_simulator_ready(mesh, 0.04 ** 3 + ring.volume, rtol=1e-5)


def test_millimetre_files_are_scaled_by_auto_and_the_run_says_so(tmp_path, caplog):
    source = awkward_meshes.mug(1800)  # within the budget: not decimated, so sizes compare exactly
    in_mm = source.copy()
    in_mm.apply_scale(1000.0)
    in_mm.export(tmp_path / "mug_mm.stl")
    source.export(tmp_path / "mug_m.stl")
    with caplog.at_level(logging.INFO, logger="grasp_planner.data.mesh_loader"):
        mm = load_mesh_file(tmp_path / "mug_mm.stl", scale="auto")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == [str(tmp_path / "mug_mm.stl")]
    assert "millimetres" in caplog.records[0].getMessage()
    np.testing.assert_allclose(mm.extents, source.extents, rtol=1e-6)
    _assert_simulator_ready(mm, source.volume)
    explicit = load_mesh_file(tmp_path / "mug_mm.stl", scale=0.001)
    np.testing.assert_allclose(explicit.extents, source.extents, rtol=1e-6)
    loaded = load_mesh_dir(tmp_path, scale="auto")
    assert [m.name for m in loaded.meshes] == ["mug_m", "mug_mm"]
    np.testing.assert_allclose(loaded.meshes[0].extents, loaded.meshes[1].extents, rtol=1e-5)
    assert [path for path, _ in loaded.notes] == [str(tmp_path / "mug_mm.stl")]
    assert auto_scale(2.0) == 1.0 and auto_scale(2.001) == 0.001


def _write_meshes(folder):
    good = procedural_object(3, seed=1)
    trimesh.Trimesh(good.vertices / 0.3, good.faces).export(folder / "good.off")
    trimesh.Trimesh(good.vertices / 0.3, good.faces).export(folder / "good_too.stl")
    (folder / "corrupt.off").write_text("OFF\n3 1 0\n0 0 0\n1 0 nan\n")
    awkward_meshes.open_strip().export(folder / "open.obj")
    return good


def test_corrupt_and_open_mesh_files_are_reported_and_skipped(tmp_path):
    good = _write_meshes(tmp_path)
    result = load_mesh_dir(tmp_path, scale=0.3)
    assert [m.name for m in result.meshes] == ["good", "good_too"]
    np.testing.assert_allclose(result.meshes[0].extents, good.extents, rtol=1e-6)
    skipped = dict(result.skipped)
    assert set(skipped) == {str(tmp_path / "corrupt.off"), str(tmp_path / "open.obj")}
    assert all(reason.startswith(path) and "\n" not in reason for path, reason in skipped.items())


@pytest.mark.parametrize("scale", [-1, 0, float("nan"), "metres", True])
def test_bad_scale_is_rejected_naming_the_file(scale, tmp_path):
    _write_meshes(tmp_path)
    with pytest.raises(MeshLoadError, match="good.off: mesh scale must be a positive number or 'auto'"):
        load_mesh_file(tmp_path / "good.off", scale=scale)


def test_dataset_config_takes_auto_or_a_positive_mesh_scale():
    assert DatasetConfig(1, 1, mesh_scale="auto").mesh_scale == "auto"
    with pytest.raises(ValueError, match="mesh_scale"):
        DatasetConfig(1, 1, mesh_scale="metres")


def test_generate_refuses_an_unusable_mesh_in_one_line_and_exits_2(tmp_path, capsys):
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    mug_mm = awkward_meshes.mug(1500)
    mug_mm.apply_scale(1000.0)
    mug_mm.export(meshes / "mug_mm.obj")
    awkward_meshes.open_strip().export(meshes / "strip.stl")
    code = main(["generate", "--objects", str(meshes), "--out", str(tmp_path / "out"), "--mesh-scale", "auto",
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"generate: {meshes / 'mug_mm.obj'}: largest extent") and "millimetres" in lines[0]
    assert lines[1].startswith(f"generate: {meshes / 'strip.stl'}: open surface")
    assert "--skip-bad-meshes" in lines[1]
    assert not (tmp_path / "out").exists()
    assert main(["generate", "--objects", str(meshes), "--out", str(tmp_path / "out"), "--mesh-scale", "-3"]) == 2
    assert "--mesh-scale: mesh scale must be a positive number or 'auto'" in capsys.readouterr().err


def test_generate_with_auto_scale_and_skipping_simulates_the_millimetre_mesh_in_metres(tmp_path, capsys):
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    mug = awkward_meshes.mug(1500)
    in_mm = mug.copy()
    in_mm.apply_scale(1000.0)
    in_mm.export(meshes / "a_mug_mm.obj")
    awkward_meshes.open_strip().export(meshes / "b_strip.stl")
    code = main(["generate", "--objects", str(meshes), "--out", str(tmp_path / "out"), "--mesh-scale", "auto",
                 "--skip-bad-meshes", "--workers", "1", "--no-progress",
                 "--config", str(resource_path("config", "dataset_tiny.yaml"))])
    err = capsys.readouterr().err
    assert code == 0
    assert f"generate: skipping {meshes / 'b_strip.stl'}: open surface" in err
    [shard_file] = finished_shards(tmp_path / "out")
    shard = read_shard(shard_file)
    assert shard.object_name == "a_mug_mm"
    np.testing.assert_allclose(shard.vertices.max(axis=0) - shard.vertices.min(axis=0), mug.extents, rtol=1e-5)
