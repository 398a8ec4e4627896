"""Depth input, table plane, clusters and the sensor noise model (grasp_planner.perception)."""
import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.perception.depth_input import count_valid_pixels, depth_to_metres, read_depth
from grasp_planner.perception.noise import SensorNoise, add_sensor_noise, edge_pixels, random_holes
from grasp_planner.perception.plane import fit_table_plane
from grasp_planner.perception.segment import cluster_points, nearest_cluster

CAMERA = PinholeCamera(60.0, 60.0, 39.5, 29.5, 80, 60)


def test_16uc1_millimetres_and_32fc1_metres_read_as_the_same_metres():
    mm = np.array([[0, 500], [1234, 65535]], dtype=np.uint16)
    metres = np.array([[np.nan, 0.5], [1.234, 65.535]], dtype=np.float32)
    np.testing.assert_allclose(depth_to_metres(mm), [[0, 0.5], [1.234, 0]], atol=1e-6)  # 65.5 m > max range
    np.testing.assert_allclose(depth_to_metres(metres), depth_to_metres(mm), atol=1e-6)
    assert depth_to_metres(metres).dtype == np.float32


def test_inf_negative_and_nan_pixels_are_holes():
    depth = np.array([[np.inf, -1.0, np.nan, 0.7]], dtype=np.float32)
    out = depth_to_metres(depth)
    assert out.tolist() == [[0.0, 0.0, 0.0, pytest.approx(0.7)]]
    assert count_valid_pixels(out) == 1


def test_a_sparse_image_is_refused_with_how_many_pixels_were_valid():
    depth = np.zeros(CAMERA.shape, np.uint16)
    depth[0, :7] = 600
    with pytest.raises(ValueError, match="7 of 4800 pixels"):
        read_depth(depth, CAMERA, min_valid_pixels=100)
    assert read_depth(depth, CAMERA, min_valid_pixels=7)[0, 0] == pytest.approx(0.6)


def test_an_integer_image_that_is_not_16_bit_is_refused():
    with pytest.raises(ValueError, match="uint16"):
        depth_to_metres(np.zeros((4, 4), np.int32))


def tilted_table_with_clutter(rng, n_table=3000, n_clutter=1500):
    normal = np.array([0.0, -np.sin(0.6), -np.cos(0.6)])  # faces a camera at the origin
    base = np.array([0.0, 0.0, 0.6])
    u = np.cross(normal, [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    ab = rng.uniform(-0.3, 0.3, size=(n_table, 2))
    table = base + ab[:, :1] * u + ab[:, 1:] * v + rng.normal(0, 0.001, (n_table, 1)) * normal
    clutter = base + rng.uniform(-0.1, 0.1, (n_clutter, 3)) + 0.12 * normal  # 40 % outliers above it
    return normal, base, np.vstack([table, clutter])


def test_ransac_recovers_a_tilted_table_under_40_percent_clutter():
    rng = np.random.default_rng(0)
    normal, base, points = tilted_table_with_clutter(rng)
    plane = fit_table_plane(points, np.random.default_rng(1))
    angle = np.degrees(np.arccos(np.clip(plane.normal @ normal, -1, 1)))
    assert angle < 0.5                              # degrees; and it faces the camera
    assert abs(plane.height(base[None])[0]) < 0.001  # m
    assert plane.n_inliers >= 2900


def test_a_plane_fit_with_the_same_seed_is_repeatable():
    _, _, points = tilted_table_with_clutter(np.random.default_rng(0))
    a = fit_table_plane(points, np.random.default_rng(4))
    b = fit_table_plane(points, np.random.default_rng(4))
    assert np.array_equal(a.normal, b.normal) and a.offset == b.offset


def test_a_plane_written_in_another_frame_keeps_its_points_on_it():
    from grasp_planner.pose import Pose
    _, base, points = tilted_table_with_clutter(np.random.default_rng(0))
    plane = fit_table_plane(points, np.random.default_rng(1))
    T = Pose.from_xyzrpy([0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
    moved = plane.transformed(T)
    np.testing.assert_allclose(moved.height(T.transform_points(points)), plane.height(points), atol=1e-12)


def test_two_separated_objects_make_two_clusters_and_specks_are_dropped():
    rng = np.random.default_rng(2)
    a = rng.uniform([0.0, 0.0, 0.5], [0.05, 0.05, 0.55], (2000, 3))
    b = rng.uniform([0.08, 0.0, 0.5], [0.11, 0.03, 0.53], (800, 3))   # 3 cm gap
    speck = rng.uniform([0.3, 0.3, 0.5], [0.302, 0.302, 0.502], (20, 3))
    clusters = cluster_points(np.vstack([a, b, speck]))
    assert [c.size for c in clusters] == [2000, 800]
    np.testing.assert_allclose(clusters[1].centroid, b.mean(axis=0))
    up = np.array([0.0, 0.0, -1.0])
    assert nearest_cluster(clusters, [0.095, 0.015, 0.3], up) == 1  # above b, 20 cm up


def test_the_dense_and_the_sparse_labelling_find_the_same_clusters(monkeypatch):
    from grasp_planner.perception import segment

    rng = np.random.default_rng(5)
    parts = [rng.uniform(lo, np.add(lo, size), (n, 3)) for lo, size, n in
             [([0.0, 0.0, 0.5], 0.05, 1500), ([0.07, 0.0, 0.5], 0.03, 600), ([0.0, 0.09, 0.52], 0.04, 900)]]
    points = np.vstack(parts + [rng.uniform([0.3, 0.3, 0.5], [0.302, 0.302, 0.502], (20, 3))])
    dense = cluster_points(points)
    monkeypatch.setattr(segment, "MAX_DENSE_VOXELS", 0)       # force the occupied-voxel graph
    sparse = cluster_points(points)
    assert [c.size for c in dense] == [1500, 900, 600]
    assert len(dense) == len(sparse)
    for a, b in zip(dense, sparse):
        np.testing.assert_array_equal(a.indices, b.indices)


def test_noise_grows_as_depth_squared():
    rng = np.random.default_rng(3)
    for z in (0.5, 1.0):
        flat = np.full((200, 200), z)
        noisy = add_sensor_noise(flat, rng, SensorNoise(k=0.002, edge_dropout=0.0, quantum=0.0))
        assert np.std(noisy - z) == pytest.approx(0.002 * z * z, rel=0.05)


def test_the_noise_model_is_repeatable_with_a_seed_and_quantises_to_millimetres():
    depth = np.full((60, 80), 0.6)
    depth[20:40, 30:50] = 0.5
    noise = SensorNoise(hole_fraction=0.1)
    a = add_sensor_noise(depth, np.random.default_rng(5), noise)
    b = add_sensor_noise(depth, np.random.default_rng(5), noise)
    assert np.array_equal(a, b)
    mm = a[a > 0] * 1000
    np.testing.assert_allclose(mm, np.round(mm), atol=1e-3)


def test_random_holes_cover_the_requested_fraction_in_blobs():
    mask = random_holes((120, 160), 0.2, 12.0, np.random.default_rng(6))
    assert mask.mean() == pytest.approx(0.2, abs=1 / mask.size)
    # blobs, not salt: most hole pixels have a hole to their right
    assert (mask[:, :-1] & mask[:, 1:]).sum() > 0.8 * mask[:, :-1].sum()


def test_edges_of_a_depth_step_are_found_and_dropped_half_the_time():
    depth = np.full((100, 100), 0.6)
    depth[:, 50:] = 0.5
    edges = edge_pixels(depth, 0.01)
    assert edges.sum() == 200 and edges[:, 49].all() and edges[:, 50].all()
    noisy = add_sensor_noise(depth, np.random.default_rng(7), SensorNoise(k=0.0, edge_dropout=0.5))
    dropped = (noisy[:, 49:51] == 0).mean()
    assert 0.35 < dropped < 0.65
    assert np.all(noisy[:, :48] > 0)
