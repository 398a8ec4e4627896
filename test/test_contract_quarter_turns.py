"""The views of the network's image (quarter turns, mirror images): geometry, hand symmetry, card, scorer, batches."""
import json

import numpy as np
import pytest
import torch

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand import kinematics as kin
from grasp_planner.learning.dataset import ObjectData, make_batch
from grasp_planner.learning.export import export_model
from grasp_planner.contract.features import PoseEncoding, pose_features
from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ModelCard, ModelCardError
from grasp_planner.contract.quarter_turns import (HAND_MIRROR, MIRROR, check_turnable, turn_transform, turned_images,
                                                  turned_poses, view_image, view_poses)
from grasp_planner.planning.scorer import GraspScorer
from grasp_planner.pose import rpy_to_matrix

CAMERA = PinholeCamera.from_fov(128, 128, np.radians(20.0))


def make_transform(rotation, translation):
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = rotation, translation
    return T


def _pixel(camera, p):
    return int(round(camera.fy * p[1] / p[2] + camera.cy)), int(round(camera.fx * p[0] / p[2] + camera.cx))


def test_turns_need_the_fitted_square_centred_view():
    check_turnable(CAMERA)
    off_centre = PinholeCamera(CAMERA.fx, CAMERA.fy, CAMERA.cx + 5, CAMERA.cy, 128, 128)
    with pytest.raises(ValueError, match="principal point at the centre"):
        check_turnable(off_centre)
    with pytest.raises(ValueError, match="square image"):
        check_turnable(PinholeCamera(500.0, 500.0, 79.5, 63.5, 160, 128))
    with pytest.raises(ValueError, match="quarter_turns must be one of"):
        turned_images(np.zeros((4, 4)), 3)


@pytest.fixture(scope="module")
def cards(tmp_path_factory):
    """The same untrained rot6d network exported twice: plain, and with 4 quarter turns in its card."""
    out = tmp_path_factory.mktemp("turns")
    torch.manual_seed(0)
    model = GraspCNN("rot6d")
    return (export_model(model, out / "plain" / "m.onnx").path,
            export_model(model, out / "turned" / "m.onnx", quarter_turns=4).path)


def test_card_records_quarter_turns_and_old_cards_default_to_one(cards, tmp_path):
    plain, turned = cards
    assert ModelCard.load(plain).quarter_turns == 1 and ModelCard.load(turned).quarter_turns == 4
    data = json.loads(turned.read_text())
    del data["quarter_turns"]
    assert ModelCard.from_dict(data).quarter_turns == 1
    data["quarter_turns"] = 3
    with pytest.raises(ModelCardError, match="'quarter_turns' must be one of"):
        ModelCard.from_dict(data, source="x.json")


def test_turned_scorer_returns_the_mean_of_the_four_turned_views(cards):
    plain, turned = GraspScorer(cards[0]), GraspScorer(cards[1])
    rng = np.random.default_rng(0)
    depth = np.where(rng.random((128, 128)) < 0.3, 0.5 + 0.02 * rng.random((128, 128)), 0.0)
    poses = np.stack([make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), [*rng.uniform(-0.04, 0.04, 2), 0.45])
                      for _ in range(5)])
    expected = np.mean([plain.logits(plain.image_features(np.ascontiguousarray(image), CAMERA), T)
                        for image, T in zip(turned_images(depth, 4), turned_poses(poses, 4))], axis=0)
    got = turned.logits(turned.image_features(depth, CAMERA), poses)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert not np.allclose(got, plain.logits(plain.image_features(depth, CAMERA), poses), atol=1e-4)
    assert turned.uses_split_head  # the fast head still applies
    off_centre = PinholeCamera(CAMERA.fx, CAMERA.fy, CAMERA.cx + 5, CAMERA.cy, 128, 128)
    with pytest.raises(ValueError, match="principal point"):
        turned.image_features(depth, off_centre)


def test_a_card_with_eight_views_scores_the_mean_over_the_turns_and_their_mirror_images(cards, tmp_path):
    torch.manual_seed(0)
    card = export_model(GraspCNN("rot6d"), tmp_path / "m.onnx", quarter_turns=8)  # the cards' network
    plain, eight = GraspScorer(cards[0]), GraspScorer(card.path)
    rng = np.random.default_rng(4)
    depth = np.where(rng.random((128, 128)) < 0.3, 0.5 + 0.02 * rng.random((128, 128)), 0.0)
    poses = np.stack([make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), [*rng.uniform(-0.04, 0.04, 2), 0.45])
                      for _ in range(3)])
    expected = np.mean([plain.logits(plain.image_features(np.ascontiguousarray(view_image(depth, v)), CAMERA),
                                     view_poses(poses, v)) for v in range(8)], axis=0)
    np.testing.assert_allclose(eight.logits(eight.image_features(depth, CAMERA), poses), expected, atol=1e-4)
    four = GraspScorer(cards[1])
    assert not np.allclose(expected, four.logits(four.image_features(depth, CAMERA), poses), atol=1e-4)


def _hand_box_corners(T_world_hand, q):
    """Every corner of every collision box of the hand, (L * 8, 3), rounded for set comparison."""
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    corners = []
    for T, link in zip(kin.box_matrices(T_world_hand, q), kin.LINKS):
        local = signs * np.asarray(link.box_half_extents)
        corners.append(local @ T[:3, :3].T + T[:3, 3])
    return np.round(np.concatenate(corners), 9)


@pytest.mark.parametrize("mode", ["basic", "wide", "pinch"])
def test_the_hand_is_its_own_mirror_image_about_its_x_z_plane(mode):
    """Mirrored views rest on this: the reflected hand occupies what the hand itself occupies."""
    rng = np.random.default_rng(0)
    lower, upper = kin.joint_limits()
    for _ in range(5):
        q = kin.open_configuration(mode)
        finger = rng.uniform(lower[2:5], upper[2:5])
        q[5:8] = q[8:11] = finger  # B and C closed alike (one actuator command drives all three fingers)
        corners = _hand_box_corners(np.eye(4), q)
        mirrored = corners @ HAND_MIRROR[:3, :3].T
        assert sorted(map(tuple, mirrored)) == sorted(map(tuple, corners))
        q[5] += 0.2  # B closed further than C: no longer symmetric, and the same check sees it
        corners = _hand_box_corners(np.eye(4), q)
        assert sorted(map(tuple, corners @ HAND_MIRROR[:3, :3].T)) != sorted(map(tuple, corners))


@pytest.mark.parametrize("view", range(1, 8))
def test_a_view_moves_the_hand_to_the_pixel_the_viewed_image_moved_its_point_to(view):
    """Views 1-3 turn the image, 4-7 mirror it first; the pose must follow the pixels either way."""
    k, mirrored = view % 4, view >= 4
    rng = np.random.default_rng(view)
    for _ in range(20):
        p = np.array([*rng.uniform(-0.05, 0.05, 2), rng.uniform(0.4, 0.6)])
        image = np.zeros((128, 128))
        image[_pixel(CAMERA, p)] = 1.0
        T = make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), p)
        moved = view_poses(T, view)
        assert view_image(image, view)[_pixel(CAMERA, moved[:3, 3])] == 1.0
        assert moved[2, 3] == pytest.approx(p[2])  # turning or mirroring about the optical axis keeps the depth
        assert np.linalg.det(moved[:3, :3]) == pytest.approx(1.0)  # a proper pose, never a reflection
        np.testing.assert_allclose(moved[:3, :3].T @ moved[:3, :3], np.eye(3), atol=1e-12)
        # the approach axis (+z) and the direction to finger A (+x) are carried as the image's points are
        image_map = (turn_transform(k) @ (MIRROR if mirrored else np.eye(4)))[:3, :3]
        np.testing.assert_allclose(moved[:3, [0, 2]], image_map @ T[:3, [0, 2]], atol=1e-12)


def test_views_0_to_3_are_the_quarter_turns_and_bad_views_are_refused():
    rng = np.random.default_rng(3)
    image = rng.random((128, 128))
    T = make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), [0.01, 0.02, 0.5])
    for k in range(4):
        np.testing.assert_array_equal(view_image(image, k), turned_images(image, 4)[k])
        np.testing.assert_allclose(view_poses(T, k), turned_poses(T, 4)[k, 0])
    with pytest.raises(ValueError, match="view must be in 0..7"):
        view_image(image, 8)


def test_training_batches_with_a_view_per_image_match_the_view_helpers():
    rng = np.random.default_rng(2)
    T_cam_obj = np.stack([make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), [0, 0, 0.5]) for _ in range(3)])
    T_obj_hand = np.stack([make_transform(rpy_to_matrix(rng.uniform(-3, 3, 3)), rng.uniform(-0.05, 0.05, 3))
                           for _ in range(4)])
    obj = ObjectData(0, "o", rng.random((3, 128, 128)).astype(np.float32), np.stack([CAMERA.as_array()] * 3),
                     T_cam_obj, T_obj_hand, np.array([0, 2, 0, 2], np.int8))
    groups = [(0, 1, np.array([0, 1, 3])), (0, 2, np.array([1, 2])), (0, 0, np.array([3]))]
    encoding = PoseEncoding("rot6d")
    views = np.array([5, 0, 7])
    batch = make_batch([obj], groups, encoding, views=views)
    for g, ((_, m, grasps), v) in enumerate(zip(groups, views)):
        np.testing.assert_array_equal(batch.depth[g, 0], view_image(obj.depth[m], v))
        expected = pose_features(view_poses(T_cam_obj[m] @ T_obj_hand[grasps], v), CAMERA, encoding)
        np.testing.assert_allclose(batch.pose[batch.image_index == g], expected, atol=1e-6)
    for k in range(4):  # a whole batch's quarter_turn k is view k for every group
        turned, same = (make_batch([obj], groups, encoding, quarter_turn=k),
                        make_batch([obj], groups, encoding, views=np.full(len(groups), k)))
        np.testing.assert_array_equal(turned.depth, same.depth)
        np.testing.assert_array_equal(turned.pose, same.pose)
    with pytest.raises(ValueError, match="one view per group"):
        make_batch([obj], groups, encoding, views=np.array([0, 1]))
