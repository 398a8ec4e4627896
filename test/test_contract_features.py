"""Network input features (numpy only): depth normalisation and pose features and their inverse."""
import subprocess
import sys

import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.contract.features import (DepthNormalization, PoseEncoding, features_to_pose, normalize_depth,
                                             pose_features)
from grasp_planner.pose import rpy_to_matrix

CAMERA = PinholeCamera.from_fov(128, 128, np.deg2rad(40.0))


def random_poses(n, rng):
    """Hand poses in front of the camera (z 0.3..0.7 m), within the image, any orientation."""
    T = np.zeros((n, 4, 4))
    T[:, :3, :3] = rpy_to_matrix(rng.uniform(-np.pi, np.pi, (n, 3)))
    T[:, 2, 3] = rng.uniform(0.3, 0.7, n)
    T[:, :2, 3] = rng.uniform(-0.3, 0.3, (n, 2)) * T[:, 2:3, 3]
    T[:, 3, 3] = 1.0
    return T


def test_depth_is_offset_from_the_view_distance_in_scale_units_and_background_is_far():
    params = DepthNormalization(reference_m=0.5, scale_m=0.1, clip=3.0, background=3.0)
    depth = np.array([[0.5, 0.6, 0.45], [0.0, np.nan, np.inf], [2.0, 0.05, 0.55]], dtype=np.float32)
    out = normalize_depth(depth, params)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], [0.0, 1.0, -0.5], atol=1e-6)
    np.testing.assert_array_equal(out[1], [3.0, 3.0, 3.0])  # no return -> background
    np.testing.assert_allclose(out[2], [3.0, -3.0, 0.5], atol=1e-6)  # clipped at +-3


def test_depth_normalisation_accepts_a_stack_and_rejects_a_vector():
    stack = np.full((2, 4, 4), 0.5, dtype=np.float32)
    assert normalize_depth(stack, DepthNormalization()).shape == (2, 4, 4)
    with pytest.raises(ValueError, match="depth must be"):
        normalize_depth(np.zeros(5), DepthNormalization())


@pytest.mark.parametrize("representation,dim", [("rpy", 6), ("rot6d", 9), ("quat", 7)])
def test_pose_features_invert_to_the_same_pose(representation, dim):
    rng = np.random.default_rng(0)
    T = random_poses(50, rng)
    encoding = PoseEncoding(representation)
    feats = pose_features(T, CAMERA, encoding)
    assert feats.shape == (50, dim) and feats.dtype == np.float32
    back = features_to_pose(feats, CAMERA, encoding)
    # float32 features: ~1e-7 relative, i.e. < 1e-5 m at 0.7 m and < 1e-5 in rotation entries
    np.testing.assert_allclose(back, T, atol=2e-5)


def test_position_features_are_the_hand_origins_image_position_in_half_widths():
    rng = np.random.default_rng(1)
    T = random_poses(20, rng)
    feats = pose_features(T, CAMERA, PoseEncoding("rpy"))
    u, v, z = CAMERA.project(T[:, :3, 3])
    np.testing.assert_allclose(feats[:, 0], (u - CAMERA.cx) / 64.0, atol=1e-5)
    np.testing.assert_allclose(feats[:, 1], (v - CAMERA.cy) / 64.0, atol=1e-5)
    np.testing.assert_allclose(feats[:, 2], (z - 0.5) / 0.1, atol=1e-5)


def test_hand_height_and_surface_depth_share_units():
    """A hand touching a surface pixel has w equal to that pixel's normalised depth."""
    T = np.eye(4)
    T[2, 3] = 0.47
    w = pose_features(T, CAMERA, PoseEncoding("rpy"))[0, 2]
    pixel = normalize_depth(np.full((1, 1), 0.47, dtype=np.float32), DepthNormalization())[0, 0]
    assert abs(w - pixel) < 1e-5


def test_rot6d_is_continuous_where_yaw_wraps_but_rpy_jumps():
    poses = np.stack([np.eye(4)] * 2)
    poses[0, :3, :3] = rpy_to_matrix([0.0, 0.0, np.pi - 1e-4])
    poses[1, :3, :3] = rpy_to_matrix([0.0, 0.0, -np.pi + 1e-4])
    poses[:, 2, 3] = 0.5
    rpy = pose_features(poses, CAMERA, PoseEncoding("rpy"))
    rot6d = pose_features(poses, CAMERA, PoseEncoding("rot6d"))
    assert abs(rpy[0, 5] - rpy[1, 5]) > 6.0  # the wrap
    assert np.abs(rot6d[0] - rot6d[1]).max() < 1e-3  # 2e-4 rad apart


def test_pose_features_reject_wrong_shapes_naming_the_input():
    with pytest.raises(ValueError, match="T_cam_hand must be"):
        pose_features(np.zeros((3, 3, 3)), CAMERA, PoseEncoding())
    with pytest.raises(ValueError, match=r"pose features must be \(N, 9\)"):
        features_to_pose(np.zeros((2, 6)), CAMERA, PoseEncoding("rot6d"))
    with pytest.raises(ValueError, match="representation"):
        PoseEncoding("euler")


def test_numpy_side_imports_without_torch_and_training_data_without_klampt():
    code = ("import sys; import grasp_planner.contract.features, grasp_planner.contract.model_card, "
            "grasp_planner.contract.onnx_models, grasp_planner.learning.dataset; "
            "assert 'torch' not in sys.modules, 'torch imported'; "
            "assert 'klampt' not in sys.modules, 'klampt imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
