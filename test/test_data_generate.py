"""End-to-end generation with real Klamp't: resume after a kill, process pool and Ray give the same shards."""
import dataclasses
import shutil

import numpy as np
import pytest

from grasp_planner.data.dataset_config import DatasetConfig
from grasp_planner.resources import resource_path
from grasp_planner.data.generate import generate_dataset
from grasp_planner.data.shards import LAYOUT, finished_shards, read_manifest, read_shard

TINY = DatasetConfig.load(resource_path("config", "dataset_tiny.yaml"))
OBJECTS = "procedural:3"


def _contents(out_dir):
    shards = {}
    for path in finished_shards(out_dir):
        shard = read_shard(path)
        shards[path.name] = {attr: getattr(shard, attr) for attr, _, _ in LAYOUT.values()}
    return shards


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        for attr in a[name]:
            np.testing.assert_array_equal(a[name][attr], b[name][attr], err_msg=f"{name} {attr}")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight")
    summary = generate_dataset(OBJECTS, out, workers=1, config=TINY, seed=5, progress=False)
    assert len(summary.written) == 3 and not summary.failures
    return out


def test_generation_writes_a_shard_per_object_and_a_manifest(uninterrupted):
    assert [p.name for p in finished_shards(uninterrupted)] == ["obj_00000.h5", "obj_00001.h5", "obj_00002.h5"]
    manifest = read_manifest(uninterrupted)
    assert manifest["seed"] == 5 and len(manifest["shards"]) == 3
    assert sum(manifest["counts"].values()) == sum(len(read_shard(p).label) for p in finished_shards(uninterrupted))
    shard = read_shard(finished_shards(uninterrupted)[0])
    assert shard.depth.shape == (2, 32, 32) and (shard.depth > 0).any()


def test_killed_and_resumed_generation_gives_the_same_shards(uninterrupted, tmp_path):
    generate_dataset(OBJECTS, tmp_path, workers=2, config=TINY, seed=5, progress=False)
    # what a kill leaves: one shard never renamed (a .tmp half file), one never started
    (tmp_path / "shards" / "obj_00001.h5").rename(tmp_path / "shards" / "obj_00001.h5.tmp")
    (tmp_path / "shards" / "obj_00002.h5").unlink()
    with pytest.raises(ValueError, match="--resume"):
        generate_dataset(OBJECTS, tmp_path, workers=2, config=TINY, seed=5, progress=False)
    summary = generate_dataset(OBJECTS, tmp_path, workers=2, config=TINY, seed=5, resume=True, progress=False)
    assert sorted(summary.written) == [1, 2] and summary.resumed == 1
    assert not list((tmp_path / "shards").glob("*.tmp"))
    _assert_same(_contents(uninterrupted), _contents(tmp_path))
    assert read_manifest(tmp_path)["counts"] == read_manifest(uninterrupted)["counts"]


def test_corrupt_mesh_in_an_object_directory_is_skipped_and_reported(tmp_path):
    import trimesh
    from grasp_planner.data.objects import procedural_object

    meshes = tmp_path / "meshes"
    meshes.mkdir()
    good = procedural_object(0, seed=5)
    trimesh.Trimesh(good.vertices, good.faces).export(meshes / "a_good.stl")
    (meshes / "b_broken.off").write_text("OFF\nthis is not a mesh\n")
    summary = generate_dataset(str(meshes), tmp_path / "out", workers=1, config=TINY, seed=5, progress=False)
    assert summary.written == [0]
    assert len(summary.failures) == 1 and "b_broken.off" in summary.failures[0]["error"]
    assert read_manifest(tmp_path / "out")["failures"][0]["object_index"] == 1


def test_ray_on_two_local_cpus_gives_the_same_shards_as_the_pool(uninterrupted, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        generate_dataset(OBJECTS, tmp_path, config=TINY, seed=5, cluster="auto", progress=False)
    finally:
        ray.shutdown()
    _assert_same(_contents(uninterrupted), _contents(tmp_path))


@pytest.mark.parametrize("change, message", [
    ({"seed": 6}, "seed 5"),
    ({"config": dataclasses.replace(TINY, grasps_per_object=4)}, "other dataset or sim settings"),
    ({"objects": "procedural:4"}, "procedural:3"),
])
def test_resume_with_another_seed_config_or_source_is_refused(uninterrupted, tmp_path, change, message):
    out = tmp_path / "copy"
    shutil.copytree(uninterrupted, out)
    kwargs = {"objects": OBJECTS, "config": TINY, "seed": 5, **change}
    with pytest.raises(ValueError, match=message):
        generate_dataset(kwargs.pop("objects"), out, workers=1, resume=True, progress=False, **kwargs)


def test_a_corrupt_shard_is_regenerated_on_resume(uninterrupted, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(uninterrupted, out)
    victim = finished_shards(out)[1]
    victim.write_bytes(victim.read_bytes()[:200])  # truncated
    summary = generate_dataset(OBJECTS, out, workers=1, config=TINY, seed=5, resume=True, progress=False)
    assert summary.written == [int(victim.stem.split("_")[1])]
    _assert_same(_contents(uninterrupted), _contents(out))


def test_the_cli_exits_non_zero_when_every_object_was_skipped(tmp_path):
    import subprocess
    import sys

    meshes = tmp_path / "meshes"
    meshes.mkdir()
    (meshes / "broken.off").write_text("OFF\nthis is not a mesh\n")
    out = subprocess.run([sys.executable, "-m", "grasp_planner.cli", "generate", "--objects", str(meshes),
                          "--skip-bad-meshes", "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress",
                          "--config", str(resource_path("config", "dataset_tiny.yaml"))],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "every object was skipped" in out.stderr and "Traceback" not in out.stderr
