"""The z-buffer depth renderer and the paper's view synthesis."""
import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import extrude_polygon, closed_mesh, procedural_objects
from grasp_planner.data.render import raycast_depth, render_depth, synthesize_views
from grasp_planner.pose import Pose


def _box(half):
    square = np.array([(-half, -half), (half, -half), (half, half), (-half, half)])
    vertices, faces = extrude_polygon(square, 2 * half)
    return closed_mesh("cube", vertices, faces, "box")


def test_box_face_at_known_distance_has_the_analytic_depth_and_size():
    cube = _box(0.05)                                   # 10 cm cube centred on its centroid
    camera = PinholeCamera.from_fov(128, 128, np.deg2rad(40.0))
    T_cam_obj = np.eye(4)
    T_cam_obj[2, 3] = 0.5                               # centre 0.5 m ahead: near face at 0.45 m
    depth = render_depth(cube.vertices, cube.faces, camera, T_cam_obj)
    assert depth.dtype == np.float32 and depth.shape == (128, 128)
    inside = depth > 0
    np.testing.assert_allclose(depth[inside], 0.45, atol=1e-6)
    # the face spans u in cx +- fx * 0.05 / 0.45; pixel centres are integers
    half = camera.fx * 0.05 / 0.45
    expected = len(np.arange(np.ceil(camera.cx - half), np.floor(camera.cx + half) + 1)) ** 2
    assert inside.sum() == expected


def test_rasteriser_matches_per_pixel_ray_casting_on_random_objects():
    rng = np.random.default_rng(3)
    for mesh in procedural_objects(6, seed=11):
        views = synthesize_views(mesh, 1, rng, resolution=40)
        camera = PinholeCamera.from_array(views.cameras[0])
        reference = raycast_depth(mesh.vertices, mesh.faces, camera, views.T_cam_obj[0])
        both = (reference > 0) & (views.depth[0] > 0)
        assert ((reference > 0) != (views.depth[0] > 0)).sum() <= 2, mesh.name  # edge pixels may differ
        np.testing.assert_allclose(views.depth[0][both], reference[both], atol=1e-5)


def test_plane_reaching_behind_the_camera_is_clipped_not_mirrored():
    floor = np.array([[-2, -2, 0], [2, -2, 0], [2, 2, 0], [-2, 2, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    T_cam_world = Pose.from_xyzrpy([0, 0, 0.8, np.deg2rad(130), 0, 0]).inverse().matrix()
    camera = PinholeCamera.from_fov(48, 36, np.deg2rad(60))
    depth = render_depth(floor, faces, camera, T_cam_world)
    reference = raycast_depth(floor, faces, camera, T_cam_world)
    assert (depth > 0).sum() > 0
    assert ((depth > 0) != (reference > 0)).sum() == 0
    np.testing.assert_allclose(depth, reference, atol=1e-5)


def test_synthesized_views_fit_the_object_and_store_its_pose():
    mesh = procedural_objects(1, seed=2)[0]
    views = synthesize_views(mesh, 4, np.random.default_rng(0), resolution=64)
    assert views.depth.shape == (4, 64, 64)
    for depth, cam, T in zip(views.depth, views.cameras, views.T_cam_obj):
        camera = PinholeCamera.from_array(cam)
        u, v, z = camera.project(mesh.vertices @ T[:3, :3].T + T[:3, 3])
        assert u.min() >= 0 and u.max() <= 63 and v.min() >= 0 and v.max() <= 63
        assert depth[depth > 0].min() == pytest.approx(z.min(), abs=2e-3)
    assert not np.allclose(views.T_cam_obj[0], views.T_cam_obj[1])


def test_bad_renderer_input_names_the_argument():
    camera = PinholeCamera.from_fov(8, 8, 1.0)
    with pytest.raises(ValueError, match="faces index"):
        render_depth(np.zeros((3, 3)), np.array([[0, 1, 5]]), camera)
    with pytest.raises(ValueError, match="T_cam_obj"):
        render_depth(np.zeros((3, 3)), np.array([[0, 1, 2]]), camera, np.eye(3))
