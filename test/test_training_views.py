"""Training views of the label store = what the node feeds the network; the table as the view's background.

Real parts throughout: the committed label store, the renderer, the noise model, perception's
normalize_view, the shipped ONNX model under onnxruntime. The network's inputs are read at the
onnxruntime boundary by wrapping the planner's sessions (they still run).
"""
from pathlib import Path

import numpy as np
import pytest

from grasp_planner.camera import PinholeCamera
from grasp_planner.contract.features import normalize_depth, pose_features
from grasp_planner.contract.model_card import ModelCard, ModelCardError
from grasp_planner.data.label_store import read_batch, read_manifest, unpack_pose
from grasp_planner.data.training_views import CACHE_QUANTUM, ViewParams, build_cache, camera_image, training_view

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "datasets" / "labels"
CARD = ROOT / "models" / "grasp_cnn.json"
#: cached depth is rounded to 0.1 mm: the network input moves by at most 0.05 mm / scale_m (0.1 m)
DEPTH_INPUT_TOLERANCE = 0.5 * CACHE_QUANTUM / 0.1 + 1e-6
POSE_INPUT_TOLERANCE = 1e-5


class _Recorder:
    """An onnxruntime session that keeps every feed it runs."""

    def __init__(self, session):
        self.session, self.feeds = session, []

    def run(self, outputs, feeds):
        self.feeds.append({k: np.array(v) for k, v in feeds.items()})
        return self.session.run(outputs, feeds)


def _record(planner):
    scorer = planner.scorer
    scorer._encoder = _Recorder(scorer._encoder)
    if scorer._split_session is not None:
        scorer._split_session = _Recorder(scorer._split_session)
        return scorer._encoder, scorer._split_session
    scorer._head = _Recorder(scorer._head)
    return scorer._encoder, scorer._head


@pytest.fixture(scope="module")
def store_batch():
    manifest = read_manifest(STORE)
    return manifest["seed"], read_batch(STORE, manifest["batches"][0]).arrays


@pytest.fixture(scope="module")
def table_objects(tmp_path_factory, store_batch):
    """The first store batch through the whole training path: rendered, cached, read back as ObjectData."""
    pytest.importorskip("torch")
    from grasp_planner.learning.table_dataset import load_table_objects
    card = ModelCard.load(CARD, check_files=False)
    cache = tmp_path_factory.mktemp("views")
    params = ViewParams(views_per_object=2)
    build_cache(STORE, cache, params, workers=1, progress=False, max_objects=1)
    objects, record = load_table_objects(STORE, cache, params, card.depth_normalization, max_objects=1)
    return objects, record, params


def test_the_training_input_is_what_plan_feeds_the_network(table_objects, store_batch, short_planner_yaml):
    from grasp_planner.learning.dataset import make_batch
    from grasp_planner.planning.planner import GraspPlanner

    objects, record, params = table_objects
    seed, arrays = store_batch
    obj = objects[0]
    row = int(np.flatnonzero(arrays["object_index"] == obj.index)[0])
    assert record["store_manifest_sha256"] and record["views"]["views_per_object"] == 2
    image, grasp = 0, 0
    card = ModelCard.load(CARD, check_files=False)
    batch = make_batch(objects, [(0, image, np.array([grasp]))], card.pose_encoding)

    # the same camera image, handed to the planner with the stored grasp as its initial pose
    view_number = sorted({v for v in range(params.views_per_object)
                          if training_view(seed, arrays, row, v, params) is not None})[image]
    depth, camera, _, T_camera_obj, _ = camera_image(seed, arrays, row, view_number, params)
    T_obj_hand = unpack_pose(arrays["position"], arrays["rotvec"])[arrays["grasp_object"] == row][grasp]
    planner = GraspPlanner.from_config(CARD, short_planner_yaml)
    encoder, head = _record(planner)
    result = planner.plan(depth, camera, T_camera_obj @ T_obj_hand)
    assert result.grasps, result.message

    fed_image = encoder.feeds[0]["depth"]
    assert fed_image.shape == batch.depth.shape == (1, 1, 128, 128)
    assert np.max(np.abs(fed_image - batch.depth)) <= DEPTH_INPUT_TOLERANCE
    assert np.mean(fed_image < card.depth_normalization.background) > 0.05  # the object is in the view
    fed_poses = np.concatenate([f["pose"] for f in head.feeds])
    # the optimizer's first evaluation is at the initial pose: the stored grasp in the view's frame
    assert np.min(np.max(np.abs(fed_poses - batch.pose[0]), axis=1)) <= POSE_INPUT_TOLERANCE


def test_a_shifted_grasp_is_not_what_plan_fed(table_objects, store_batch):
    """The pose comparison above can fail: 1 cm off in the view's frame is far outside its tolerance."""
    objects, _, _ = table_objects
    obj = objects[0]
    card = ModelCard.load(CARD, check_files=False)
    camera = PinholeCamera.from_array(obj.cameras[0])
    T = obj.T_cam_obj[0] @ obj.T_obj_hand[0]
    shifted = T.copy()
    shifted[0, 3] += 0.01
    assert np.max(np.abs(pose_features(shifted, camera, card) - pose_features(T, camera, card))) > 100 * \
        POSE_INPUT_TOLERANCE


def test_training_views_are_cached_and_reproducible(tmp_path, store_batch):
    seed, arrays = store_batch
    params = ViewParams(views_per_object=1)
    a = training_view(seed, arrays, 0, 0, params)
    b = training_view(seed, arrays, 0, 0, params)
    assert a is not None and np.array_equal(a.depth, b.depth) and np.allclose(a.T_virtual_obj, b.T_virtual_obj)
    folder = build_cache(STORE, tmp_path, params, workers=1, progress=False, max_objects=1)
    files = sorted(folder.glob("batch_*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    build_cache(STORE, tmp_path, params, workers=1, progress=False, max_objects=1)  # nothing to do
    assert files[0].stat().st_mtime_ns == stamp
    assert ViewParams(background="table").key() != params.key()


def test_the_table_is_the_background_at_its_true_depth(store_batch):
    from grasp_planner.perception.view import normalize_view

    seed, arrays = store_batch
    params = ViewParams(views_per_object=1, noise=("sensor",))
    depth, camera, T_camera_table, T_camera_obj, _ = camera_image(seed, arrays, 0, 0, params)
    plain = normalize_view(depth, camera, T_camera_obj)
    table = normalize_view(depth, camera, T_camera_obj, background="table")
    on_target = plain.depth > 0
    assert np.array_equal(table.depth[on_target], plain.depth[on_target])
    assert np.all(table.depth > 0)  # straight down over a 1.2 m table: every ray meets it
    # the true table (z = 0 of the table frame) along each virtual ray
    T_virtual_table = plain.T_camera_virtual.inverse().matrix() @ T_camera_table
    normal, point = T_virtual_table[:3, 2], T_virtual_table[:3, 3]
    cam = table.camera
    u, v = np.meshgrid(np.arange(cam.width), np.arange(cam.height))
    rays = np.stack([(u - cam.cx) / cam.fx, (v - cam.cy) / cam.fy, np.ones(u.shape)], axis=-1)
    true_depth = (point @ normal) / (rays @ normal)
    assert np.max(np.abs(table.depth[~on_target] - true_depth[~on_target])) < 0.003
    assert np.all(table.depth[~on_target] > plain.depth[on_target].max())  # the table is below the object


def test_normalize_view_refuses_an_unknown_background(store_batch):
    from grasp_planner.perception.view import normalize_view

    seed, arrays = store_batch
    depth, camera, _, T_camera_obj, _ = camera_image(seed, arrays, 0, 0, ViewParams())
    with pytest.raises(ValueError, match="background must be one of"):
        normalize_view(depth, camera, T_camera_obj, background="floor")
    with pytest.raises(ValueError, match="views background"):
        ViewParams(background="floor")


def test_a_table_card_makes_the_planner_show_the_table(tmp_path, untrained_model_card, store_batch,
                                                       short_planner_yaml):
    from grasp_planner.planning.planner import GraspPlanner

    card = ModelCard.load(untrained_model_card)
    assert card.view_background == "none"  # default: cards written before the option behave as today
    for kind in ("full", "encoder", "head"):
        (tmp_path / card.files[kind]).write_bytes(card.file_path(kind).read_bytes())
    card.view_background = "table"
    card.save(tmp_path / "table.json")
    assert ModelCard.load(tmp_path / "table.json").view_background == "table"
    seed, arrays = store_batch
    depth, camera, _, T_camera_obj, _ = camera_image(seed, arrays, 0, 0, ViewParams())
    feeds = {}
    for name, path in (("none", untrained_model_card), ("table", tmp_path / "table.json")):
        planner = GraspPlanner.from_config(path, short_planner_yaml)
        encoder, _ = _record(planner)
        planner.plan(depth, camera, T_camera_obj)
        feeds[name] = encoder.feeds[0]["depth"]
    background = ModelCard.load(untrained_model_card).depth_normalization.background
    assert np.mean(feeds["none"] == background) > 0.2
    assert np.all(feeds["table"] < background)
    broken = card.to_dict()
    broken["view_background"] = "floor"
    with pytest.raises(ModelCardError, match="view_background"):
        ModelCard.from_dict(broken, "x.json")


def test_cached_depth_rounds_to_the_stated_quantum(table_objects):
    objects, _, _ = table_objects
    card = ModelCard.load(CARD, check_files=False)
    # normalised values come from 0.1 mm steps: (k * 1e-4 - 0.5) / 0.1 on every pixel with a return
    values = objects[0].depth[objects[0].depth < card.depth_normalization.background]
    steps = (values * card.depth_normalization.scale_m + card.depth_normalization.reference_m) / CACHE_QUANTUM
    assert np.max(np.abs(steps - np.round(steps))) < 0.01
    assert normalize_depth(np.zeros((2, 2)), card).max() == card.depth_normalization.background
