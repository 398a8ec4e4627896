"""Pinhole camera: deprojection and projection agree, the fitted top-down view contains the object."""
import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera, fit_top_down_view, valid_depth_mask


@pytest.fixture
def camera():
    return PinholeCamera(fx=615.0, fy=612.0, cx=319.5, cy=239.5, width=640, height=480)


def test_deproject_then_render_gives_back_the_image(camera):
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.4, 0.8, camera.shape).astype(np.float32)
    depth[rng.random(camera.shape) < 0.2] = 0.0
    points = camera.deproject(depth)
    assert len(points) == np.count_nonzero(depth)
    np.testing.assert_allclose(camera.render_points(points), depth, atol=1e-6)


def test_holes_nan_and_inf_are_skipped(camera):
    depth = np.full(camera.shape, 0.5, np.float32)
    depth[0, :5] = [0.0, np.nan, np.inf, -1.0, 0.5]
    assert len(camera.deproject(depth)) == depth.size - 4
    assert not valid_depth_mask(depth)[0, :4].any()


def test_principal_point_pixel_looks_straight_ahead(camera):
    depth = np.zeros(camera.shape)
    depth[240, 320] = 1.0
    x, y, z = camera.deproject(depth)[0]
    assert z == 1.0
    assert x == pytest.approx((320 - 319.5) / 615.0)
    assert y == pytest.approx((240 - 239.5) / 612.0)


def test_nearest_point_wins_the_z_buffer(camera):
    pts = np.array([[0.0, 0.0, 0.7], [0.0, 0.0, 0.5], [0.0, 0.0, 0.9]])
    img = camera.render_points(pts)
    assert img.max() == pytest.approx(0.5)
    assert np.count_nonzero(img) == 1


def test_image_of_wrong_size_is_rejected_with_both_sizes(camera):
    with pytest.raises(ValueError, match="640x480"):
        camera.deproject(np.zeros((10, 10)))


def test_bad_intrinsics_are_rejected():
    with pytest.raises(ValueError, match="fx"):
        PinholeCamera(0.0, 1.0, 0.0, 0.0, 10, 10)


@pytest.mark.parametrize("size", [0.02, 0.1, 0.4])
def test_fitted_view_keeps_every_point_inside_with_margin(size):
    rng = np.random.default_rng(1)
    pts = rng.uniform(-size, size, (2000, 3)) + [0.3, -0.2, 0.1]
    view = fit_top_down_view(pts, resolution=128, margin=0.1)
    u, v, z = view.camera.project(view.world_to_camera(pts))
    assert np.all(z > 0)
    lo, hi = 0.05 * 127 / 2, 127 - 0.05 * 127 / 2
    assert u.min() >= lo and v.min() >= lo and u.max() <= hi and v.max() <= hi
    # the tightest side touches the margin: the view is fitted, not merely large enough
    assert min(u.min(), v.min()) < 127 * 0.05 + 1 or max(u.max(), v.max()) > 127 * 0.95 - 1


def test_fitted_view_looks_down_world_minus_z():
    view = fit_top_down_view(np.array([[0.0, 0.0, 0.0], [0.05, 0.05, 0.05]]))
    np.testing.assert_allclose(view.T_world_camera.rotation @ [0, 0, 1], [0, 0, -1])
    np.testing.assert_allclose(view.T_world_camera.rotation @ [1, 0, 0], [1, 0, 0])


def test_camera_array_round_trip(camera):
    assert PinholeCamera.from_array(camera.as_array()) == camera
