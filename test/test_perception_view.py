"""The virtual top-down view built from realistic camera scenes (grasp_planner.perception.view)."""
import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.perception.noise import SensorNoise
from grasp_planner.perception.scenes import (REALSENSE_640, bundled_scene_paths, load_scene, make_scene,
                                             pregrasp_pose)
from grasp_planner.perception.view import fill_enclosed_holes, fill_small_holes, normalize_view, normalize_views

# procedural ids (seed 9001): 3 = box, 4 = superquadric, 1 = cylinder, 2 = blob hull
BOX, SUPERQUADRIC, CYLINDER, BLOB = 3, 4, 1, 2


def lone_object_view(object_id, tilt_deg, noise=None, seed=3):
    scene = make_scene(np.random.default_rng(seed), tilt_deg=tilt_deg, distance=0.5, n_neighbours=0,
                       object_ids=[object_id], azimuth=-np.pi / 2, target_yaw=0.4, noise=noise)
    return scene, normalize_view(scene.depth, scene.camera, scene.initial_pose)


def mask_iou(a, b):
    ma, mb = a > 0, b > 0
    return (ma & mb).sum() / (ma | mb).sum()


def median_depth_gap(a, b):
    both = (a > 0) & (b > 0)
    return float(np.median(np.abs(a[both] - b[both])))


@pytest.mark.parametrize("object_id, min_iou, max_gap", [(BOX, 0.95, 0.001), (SUPERQUADRIC, 0.80, 0.003)])
def test_a_45_degree_tilted_camera_gives_the_top_down_virtual_image(object_id, min_iou, max_gap):
    # tolerance: silhouettes overlap by min_iou, depths agree to max_gap m (median over shared pixels);
    # a tilted camera sees one side and misses another, so curved objects differ more than boxes.
    _, top = lone_object_view(object_id, 0.0)
    _, tilted = lone_object_view(object_id, 45.0)
    assert mask_iou(top.depth, tilted.depth) >= min_iou
    assert median_depth_gap(top.depth, tilted.depth) <= max_gap
    assert tilted.camera.fx == pytest.approx(top.camera.fx, rel=0.1)


def test_the_virtual_image_looks_like_a_training_image():
    _, view = lone_object_view(BLOB, 30.0)
    assert view.depth.shape == (128, 128) and view.depth.dtype == np.float32
    # background is exactly 0 on the border, the object sits about 0.5 m below the camera as in training
    assert np.all(view.depth[0] == 0) and np.all(view.depth[:, -1] == 0)
    assert 0.45 < np.median(view.depth[view.depth > 0]) < 0.55
    assert view.camera.width == view.camera.height == 128


def test_20_percent_holes_and_sensor_noise_still_give_a_valid_view_of_the_target():
    _, clean = lone_object_view(CYLINDER, 30.0)
    scene, noisy = lone_object_view(CYLINDER, 30.0, noise=SensorNoise(hole_fraction=0.2))
    assert np.count_nonzero(scene.depth == 0) >= 0.2 * scene.depth.size
    assert mask_iou(clean.depth, noisy.depth) >= 0.85
    assert median_depth_gap(clean.depth, noisy.depth) <= 0.002


def test_with_two_objects_the_view_targets_the_one_under_the_initial_pose():
    scene = make_scene(np.random.default_rng(5), tilt_deg=30.0, distance=0.55, n_neighbours=1,
                       object_ids=[BOX, CYLINDER])
    for index in (0, 1):
        position = scene.T_world_objects[index].translation
        top = np.array([position[0], position[1], 0.05])
        initial = scene.T_camera_world @ pregrasp_pose(top, np.random.default_rng(index))
        view = normalize_view(scene.depth_mm(), scene.camera, initial)
        assert len(view.clusters) == 2
        truth = scene.T_camera_object(index).translation
        gap = view.target.centroid - truth
        gap -= (gap @ view.plane.normal) * view.plane.normal
        assert np.linalg.norm(gap) < 0.02  # m across the table


def test_without_an_initial_pose_every_object_gets_a_view_largest_first():
    scene = make_scene(np.random.default_rng(6), tilt_deg=20.0, distance=0.5, n_neighbours=2,
                       object_ids=[BOX, CYLINDER, BLOB])
    views = normalize_views(scene.depth, scene.camera)
    sizes = [v.target.size for v in views]
    assert len(views) == 3 and sizes == sorted(sizes, reverse=True)
    assert [v.target_index for v in views] == [0, 1, 2]
    assert normalize_view(scene.depth, scene.camera).target_index == 0


def test_the_virtual_to_camera_transform_round_trips_a_pose():
    scene, view = lone_object_view(BOX, 40.0)
    pose = scene.initial_pose
    back = view.to_camera(view.to_virtual(pose))
    dist, angle = back.distance_to(pose)
    assert dist < 1e-9 and angle < 1e-7
    batch = view.to_camera_matrices(np.stack([view.to_virtual(pose).matrix()] * 2))
    np.testing.assert_allclose(batch[1], pose.matrix(), atol=1e-9)


def test_the_scene_analysis_deprojects_only_what_it_needs_and_agrees_with_the_full_cloud():
    from grasp_planner.perception.view import analyse_scene

    scene = make_scene(np.random.default_rng(8), tilt_deg=30.0, distance=0.55, n_neighbours=2,
                       object_ids=[BOX, CYLINDER, BLOB], noise=SensorNoise())
    analysis = analyse_scene(scene.depth, scene.camera)
    full = scene.camera.deproject(analysis.depth)            # every valid pixel, the straightforward way
    heights = analysis.plane.height(full)
    np.testing.assert_allclose(analysis.points, full)
    np.testing.assert_allclose(analysis.heights[analysis.depth > 0], heights, atol=1e-9)
    assert np.isnan(analysis.heights[analysis.depth == 0]).all()
    np.testing.assert_allclose(analysis.object_points, full[heights > 0.005])
    np.testing.assert_allclose(analysis.points_above(0.004), full[heights > 0.004])
    assert analysis.plane.n_inliers == np.count_nonzero(np.abs(heights) < 0.004)


def test_the_virtual_camera_looks_down_the_table_normal_and_sees_the_whole_scene():
    scene = make_scene(np.random.default_rng(7), tilt_deg=35.0, distance=0.6, n_neighbours=2,
                       object_ids=[BOX, CYLINDER, BLOB])
    view = normalize_view(scene.depth, scene.camera, scene.initial_pose)
    # the table normal is the virtual camera's -z: the table is a plane of constant virtual depth
    np.testing.assert_allclose(view.plane_virtual.normal, [0, 0, -1], atol=1e-9)
    table_depth = view.plane_virtual.offset  # -z + offset = 0 on the table
    heights = view.plane_virtual.height(view.scene_points)
    # scene points cover the table and every object, in the virtual frame
    assert np.mean(np.abs(heights) < 0.003) > 0.5
    assert len(view.scene_points) == np.count_nonzero(scene.depth > 0)
    assert np.all(view.target_points[:, 2] < table_depth)
    # the target's points drawn back into the camera are the camera's own points
    back = view.T_camera_virtual.transform_points(view.target_points)
    u, v, z = scene.camera.project(back)
    np.testing.assert_allclose(scene.depth[np.rint(v).astype(int), np.rint(u).astype(int)], z, atol=1e-5)


def test_every_bundled_scene_gives_a_view_of_its_target_object():
    paths = bundled_scene_paths()
    assert len(paths) >= 3
    for path in paths:
        with np.load(path) as data:
            assert data["depth_mm"].dtype == np.uint16
            assert {"camera", "initial_pose", "T_camera_world", "description"} <= set(data.files)
        scene = load_scene(path)
        view = normalize_view(scene.depth_mm(), scene.camera, scene.initial_pose)
        gap = view.target.centroid - scene.T_camera_object(0).translation
        gap -= (gap @ view.plane.normal) * view.plane.normal
        assert np.linalg.norm(gap) < 0.03, path.name


def test_an_image_without_depth_is_refused_with_the_count_of_valid_pixels():
    with pytest.raises(ValueError, match=r"not enough valid depth: 0 of 307200 pixels"):
        normalize_view(np.zeros((480, 640), np.uint16), REALSENSE_640)
    nan_image = np.full((480, 640), np.nan, np.float32)
    nan_image[:10, :10] = 0.5
    with pytest.raises(ValueError, match=r"100 of 307200"):
        normalize_view(nan_image, REALSENSE_640)


def test_a_bare_table_is_refused_as_having_no_object_above_the_plane():
    scene = make_scene(np.random.default_rng(8), tilt_deg=30.0, distance=0.5, n_neighbours=0, object_ids=[BOX])
    table_only = scene.depth.copy()
    table_only[view_mask(scene)] = 0
    with pytest.raises(ValueError, match="no object above the table plane"):
        normalize_view(table_only, scene.camera)


def view_mask(scene):
    """Pixels of the scene's objects (plus a 3 px rim): where the table-only render differs."""
    from scipy.ndimage import binary_dilation
    from grasp_planner.perception.scenes import render_scene
    table = render_scene(scene.camera, scene.T_camera_world, [], [])
    return binary_dilation(np.abs(table - scene.depth) > 1e-4, iterations=3)


def test_an_image_without_a_plane_is_refused_as_having_no_support_plane():
    rng = np.random.default_rng(9)
    camera = PinholeCamera(100.0, 100.0, 31.5, 31.5, 64, 64)
    scattered = rng.uniform(0.3, 1.5, size=(64, 64)).astype(np.float32)
    with pytest.raises(ValueError, match="no support plane"):
        normalize_view(scattered, camera)


def test_a_size_mismatch_between_image_and_camera_is_refused():
    with pytest.raises(ValueError, match="640x480"):
        normalize_view(np.ones((100, 100), np.float32), REALSENSE_640)


def test_small_hole_filling_closes_pinholes_and_keeps_the_silhouette():
    depth = np.zeros((20, 20), np.float32)
    depth[5:15, 5:15] = 0.5
    depth[8, 8] = depth[10, 11] = 0.0
    filled = fill_small_holes(depth)
    assert filled[8, 8] == filled[10, 11] == pytest.approx(0.5)
    assert np.count_nonzero(filled) == 100  # nothing outside the square


def test_enclosed_hole_filling_fills_sensor_holes_but_not_large_through_holes():
    depth = np.zeros((60, 60), np.float32)
    depth[5:55, 5:55] = 0.5
    depth[10:16, 10:16] = 0.0       # 36 px sensor hole
    depth[25:50, 25:50] = 0.0       # 625 px: a real opening
    filled = fill_enclosed_holes(depth, max_area=400)
    np.testing.assert_allclose(filled[10:16, 10:16], 0.5, rtol=1e-6)
    assert np.all(filled[25:50, 25:50] == 0)


def test_the_barrier_covers_the_hidden_table_and_the_neighbours():
    scene = make_scene(np.random.default_rng(7), tilt_deg=45.0, distance=0.6, n_neighbours=2,
                       object_ids=[BOX, CYLINDER, BLOB])
    view = normalize_view(scene.depth, scene.camera, scene.initial_pose)
    points = view.barrier_points(voxel=0.004, radius=0.25)
    from scipy.spatial import cKDTree
    tree = cKDTree(points)
    # the table under and behind the target, which the tilted camera cannot see, is covered to 4 mm
    centre = view.target_points.mean(axis=0)
    ring = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    for r in (0.0, 0.05, 0.15):
        probes = np.stack([centre[0] + r * np.cos(ring), centre[1] + r * np.sin(ring),
                           np.full(ring.size, view.plane_virtual.offset)], axis=1)
        assert tree.query(probes)[0].max() < 0.004
    # every neighbour's top is in it (virtual frame)
    T_virtual_camera = view.T_camera_virtual.inverse()
    for i in (1, 2):
        obj = scene.objects[i]
        top = (T_virtual_camera @ scene.T_camera_object(i)).transform_points(obj.vertices)
        top = top[np.argmin(top[:, 2])]  # nearest the virtual camera = highest above the table
        assert tree.query(top)[0] < 0.01


def test_scenes_from_one_seed_are_identical_and_keep_their_objects_on_the_table():
    from grasp_planner.perception.scenes import iter_scenes
    a = list(iter_scenes(2, 11, tilt_deg=20.0))
    b = list(iter_scenes(2, 11, tilt_deg=20.0))
    assert all(np.array_equal(x.depth, y.depth) for x, y in zip(a, b))
    for scene in a:
        assert scene.depth.shape == (480, 640) and 0.4 <= scene.depth[240, 320] <= 0.8
        for obj, pose in zip(scene.objects, scene.T_world_objects):
            assert pose.transform_points(obj.vertices)[:, 2].min() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("object_id, tilt_deg", [(BOX, 0.0), (CYLINDER, 30.0), (BLOB, 45.0)])
def test_the_virtual_view_matches_the_training_synthesis_of_the_same_resting_object(object_id, tilt_deg):
    # the training image: fit_top_down_view on the mesh's vertices (world +z up), rendered from the mesh
    from grasp_planner.camera import fit_top_down_view
    from grasp_planner.data.render import render_depth
    scene, view = lone_object_view(object_id, tilt_deg)
    obj, T_world_obj = scene.objects[0], scene.T_world_objects[0]
    ideal = fit_top_down_view(T_world_obj.transform_points(obj.vertices), 128)
    synth = render_depth(obj.vertices, obj.faces, ideal.camera, (ideal.T_world_camera.inverse() @ T_world_obj).matrix())
    # tolerance: silhouettes overlap >= 0.85, median depth gap <= 2 mm, same focal length to 5 %
    assert mask_iou(view.depth, synth) >= 0.85
    assert median_depth_gap(view.depth, synth) <= 0.002
    assert view.camera.fx == pytest.approx(ideal.camera.fx, rel=0.05)
