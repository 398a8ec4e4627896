"""The stats command: numbers and a picture with grasps drawn where the pairing rule puts them."""
import argparse
import re

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data import cli_stats
from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import synthesize_views
from grasp_planner.data.shards import Shard, shard_path, write_shard


def test_grasp_is_drawn_at_its_projection_with_the_arrow_along_approach():
    views = synthesize_views(procedural_object(1, seed=0), 1, np.random.default_rng(1), resolution=64)
    T_obj_hand = np.eye(4)
    T_obj_hand[:3, 3] = [0.01, -0.02, 0.005]
    (u0, v0), (u1, v1) = cli_stats.grasp_in_image(views.T_cam_obj[0], T_obj_hand, views.cameras[0])
    T = views.T_cam_obj[0] @ T_obj_hand
    u, v, _ = PinholeCamera.from_array(views.cameras[0]).project(T[:3, 3])
    np.testing.assert_allclose([u0, v0], [u[0], v[0]], atol=1e-9)
    ua, va, _ = PinholeCamera.from_array(views.cameras[0]).project(T[:3, 3] + cli_stats.ARROW_M * T[:3, 2])
    np.testing.assert_allclose([u1, v1], [ua[0], va[0]], atol=1e-9)


def test_stats_prints_label_counts_and_writes_a_png(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for index in range(2):
        mesh = procedural_object(index, seed=0)
        views = synthesize_views(mesh, 2, rng, resolution=32)
        labels = np.array([0, 0, 2], dtype=np.int8)
        write_shard(shard_path(tmp_path, index),
                    Shard(index, mesh.name, mesh.kind, 0, "test", {}, mesh.vertices, mesh.faces, views.depth,
                          views.cameras, views.T_cam_obj, np.tile(np.eye(4), (3, 1, 1)), labels, labels == 2))
    parser = argparse.ArgumentParser()
    cli_stats.add_arguments(parser)
    png = tmp_path / "stats.png"
    assert cli_stats.run(parser.parse_args([str(tmp_path), "--png", str(png)])) == 0
    out = capsys.readouterr().out
    assert re.search(r"failed\s+4\s+66.7 %", out) and re.search(r"robust\s+2\s+33.3 %", out)
    assert png.stat().st_size > 10_000


def test_stats_names_a_shard_whose_image_bytes_are_corrupt_and_carries_on(tmp_path, capsys):
    from grasp_planner.data.shards import read_shard

    rng = np.random.default_rng(0)
    for index in range(2):
        mesh = procedural_object(index, seed=0)
        views = synthesize_views(mesh, 2, rng, resolution=96)
        depth = rng.uniform(0.3, 0.6, size=views.depth.shape).astype(np.float32)  # incompressible pixels
        labels = np.array([0, 2], dtype=np.int8)
        write_shard(shard_path(tmp_path, index),
                    Shard(index, mesh.name, mesh.kind, 0, "test", {}, mesh.vertices, mesh.faces, depth,
                          views.cameras, views.T_cam_obj, np.tile(np.eye(4), (2, 1, 1)), labels, labels == 2))
    victim = shard_path(tmp_path, 1)
    data = bytearray(victim.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(4096)  # zero 4 kB inside the image data
    victim.write_bytes(bytes(data))
    read_shard(victim, images=False)  # the labels still read: the shard counts
    parser = argparse.ArgumentParser()
    cli_stats.add_arguments(parser)
    assert cli_stats.run(parser.parse_args([str(tmp_path), "--png", str(tmp_path / "s.png"), "--examples", "2"])) == 0
    captured = capsys.readouterr()
    assert "2 shards, 4 grasps" in captured.out
    assert str(victim) in captured.err and "images unreadable" in captured.err
