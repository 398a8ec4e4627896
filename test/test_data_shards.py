"""HDF5 shards: round trip, validation, corrupt files named."""
import h5py
import numpy as np
import pytest

from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import synthesize_views
from grasp_planner.data.shards import Shard, ShardError, read_shard, shard_path, write_shard


def _shard(grasps=5, images=3):
    mesh = procedural_object(4, seed=0)
    rng = np.random.default_rng(0)
    views = synthesize_views(mesh, images, rng, resolution=24)
    T = np.tile(np.eye(4), (grasps, 1, 1))
    T[:, :3, 3] = rng.normal(0, 0.05, (grasps, 3))
    return Shard(4, mesh.name, mesh.kind, 0, "test", {"dataset": {"grasps_per_object": grasps}},
                 mesh.vertices, mesh.faces, views.depth, views.cameras, views.T_cam_obj, T,
                 rng.integers(0, 3, grasps).astype(np.int8), rng.random(grasps) < 0.5)


def test_shard_round_trip_keeps_every_field(tmp_path):
    shard = _shard()
    path = write_shard(shard_path(tmp_path, 4), shard)
    assert path.name == "obj_00004.h5" and not path.with_name("obj_00004.h5.tmp").exists()
    back = read_shard(path)
    for name in ("depth", "cameras", "T_cam_obj", "T_obj_hand", "label", "robust_after_1_shake", "faces"):
        np.testing.assert_array_equal(getattr(back, name), getattr(shard, name))
    np.testing.assert_allclose(back.vertices, shard.vertices, atol=1e-7)   # stored as float32
    assert back.config == shard.config and back.object_name == shard.object_name
    with h5py.File(path) as f:  # the contract's dtypes
        assert f["images/depth"].dtype == np.float32 and f["grasps/label"].dtype == np.int8
        assert f["mesh/faces"].dtype == np.int32 and f["grasps/robust_after_1_shake"].dtype == bool


def test_truncated_shard_raises_an_error_naming_the_file(tmp_path):
    path = write_shard(tmp_path / "obj_00004.h5", _shard())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ShardError, match="obj_00004.h5"):
        read_shard(path)


def test_shard_with_an_inconsistent_field_raises_naming_file_and_field(tmp_path):
    path = write_shard(tmp_path / "obj_00004.h5", _shard())
    with h5py.File(path, "a") as f:
        del f["grasps/label"]
        f["grasps/label"] = np.full(2, 7, dtype=np.int8)
    with pytest.raises(ShardError, match=r"obj_00004.h5: grasps/label"):
        read_shard(path)


def test_writer_refuses_mismatched_pairs():
    shard = _shard()
    bad = Shard(**{**shard.__dict__, "T_cam_obj": shard.T_cam_obj[:1]})
    with pytest.raises(ShardError, match="images/T_cam_obj"):
        write_shard("/nonexistent/never_written.h5", bad)
