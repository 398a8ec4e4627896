"""Splits, a tiny training run end to end (train -> run folder -> export), and the paper's toy problem."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grasp_planner.camera import PinholeCamera
from grasp_planner.cli import main as cli_main
from grasp_planner.learning.dataset import (FAILED, ROBUST, ObjectData, load_database, make_batch, make_split,
                                            training_groups)
from grasp_planner.learning.export import export_run
from grasp_planner.contract.features import DepthNormalization, PoseEncoding, pose_features
from grasp_planner.learning.parity import max_parity_error
from grasp_planner.learning.run_dir import load_state_dict
from grasp_planner.learning.train import TrainConfig, train
from grasp_planner.sim.labels import GraspLabel

from synthetic_db import write_synthetic_database
from toy_network import blob_image, toy_error, train_toy

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    out = tmp_path_factory.mktemp("db")
    write_synthetic_database(out, n_objects=5, images_per_object=10, grasps_per_object=60, seed=0)
    return out


@pytest.fixture(scope="module")
def objects(database):
    return load_database(database, DepthNormalization(), progress=False)


def test_label_values_match_the_simulators_grasp_labels():
    assert (FAILED, ROBUST) == (GraspLabel.FAILED, GraspLabel.ROBUST)


def test_split_is_deterministic_for_a_seed_and_changes_with_it(objects):
    a, b, c = make_split(objects, seed=4), make_split(objects, seed=4), make_split(objects, seed=5)
    assert a.seen == b.seen and a.unseen == b.unseen
    for i in a.seen:
        np.testing.assert_array_equal(a.new_images[i], b.new_images[i])
        np.testing.assert_array_equal(a.train_grasps[i], b.train_grasps[i])
    differs = a.unseen != c.unseen or any(not np.array_equal(a.train_grasps[i], c.train_grasps.get(i, []))
                                          for i in a.seen)
    assert differs


def test_split_parts_are_disjoint_and_balanced(objects):
    split = make_split(objects, seed=0)
    assert len(split.unseen) == 1 and len(split.seen) == 4  # 10% of 5, at least one
    assert not set(split.seen) & set(split.unseen)
    for i in split.seen:
        assert not set(split.train_images[i]) & set(split.new_images[i])
        assert not set(split.train_grasps[i]) & set(split.new_poses[i])
        labels = objects[i].label[np.concatenate([split.train_grasps[i], split.new_poses[i]])]
        assert np.sum(labels == GraspLabel.ROBUST) == np.sum(labels == GraspLabel.FAILED)
    epoch = training_groups(split, objects, grasps_per_image=8, rng=np.random.default_rng(0))
    assert {i for i, _, _ in epoch} == set(split.seen)
    assert all(m in split.train_images[i] and set(g) <= set(split.train_grasps[i]) for i, m, g in epoch)


def test_global_balance_keeps_every_robust_grasp_and_as_many_failed(objects):
    split = make_split(objects, seed=0, balance="global")
    kept = np.concatenate([objects[i].label[split.balanced[i]] for i in split.balanced])
    n_robust = sum(len(objects[i].robust) for i in split.balanced)
    assert np.sum(kept == GraspLabel.ROBUST) == n_robust == np.sum(kept == GraspLabel.FAILED)


def test_one_robust_grasp_per_object_still_gives_new_pose_test_data(objects):
    """The standard database has ~1 robust grasp per object; held-out poses are drawn over all objects."""
    thin = [ObjectData(o.index, o.name, o.depth, o.cameras, o.T_cam_obj, o.T_obj_hand,
                       np.where(np.arange(len(o.label)) == o.robust[0], o.label, GraspLabel.FAILED).astype(np.int8))
            for o in objects]
    split = make_split(thin, seed=0, min_robust=1, balance="global")
    held = np.concatenate([thin[i].label[split.new_poses[i]] for i in split.seen])
    assert np.sum(held == GraspLabel.ROBUST) >= 1 and np.sum(held == GraspLabel.FAILED) >= 1


def test_batch_pose_features_equal_the_single_camera_features_the_planner_uses(objects):
    split = make_split(objects, seed=0)
    groups = training_groups(split, objects, grasps_per_image=5, rng=np.random.default_rng(0))[:6]
    encoding = PoseEncoding("rot6d")
    batch = make_batch(objects, groups, encoding)
    for b, (i, m, grasps) in enumerate(groups):
        camera = PinholeCamera.from_array(objects[i].cameras[m])
        expected = pose_features(objects[i].T_cam_obj[m] @ objects[i].T_obj_hand[grasps], camera, encoding)
        np.testing.assert_array_equal(batch.pose[batch.image_index == b], expected)
        np.testing.assert_array_equal(batch.depth[b, 0], objects[i].depth[m])


def test_objects_with_too_few_robust_grasps_are_skipped(objects):
    with pytest.raises(ValueError, match=">= 1000 robust grasps"):
        make_split(objects, seed=0, min_robust=1000)
    counts = [len(o.robust) for o in objects]
    split = make_split(objects, seed=0, min_robust=sorted(counts)[1])
    assert len(split.skipped) >= 1 and all(len(objects[i].robust) < sorted(counts)[1] for i in split.skipped)


def test_tiny_training_run_reduces_the_loss_beats_chance_and_exports(objects, tmp_path):
    config = TrainConfig(architecture="paper", epochs=6, images_per_batch=4, grasps_per_image=16,
                         learning_rate=1e-3, seed=0, device="cpu", eval_images_per_object=10,
                         eval_grasps_per_image=32)
    metrics = train(objects, config, tmp_path / "run", progress=False)
    history = metrics["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.02
    train_score = metrics["final"]["train"]
    # 36 images x 32 balanced poses: chance is 0.5 +- 0.014 (1 sd)
    assert train_score["samples"] >= 1000 and train_score["accuracy"] > 0.6
    results = json.loads((tmp_path / "run" / "metrics.json").read_text())["results"]
    assert set(results) >= {"seen_new_images", "seen_new_poses", "unseen"}
    for name in ("curves.png", "confusion.png", "accuracy_per_object.png", "split.json"):
        assert (tmp_path / "run" / name).is_file()
    state = load_state_dict(tmp_path / "run" / "model.pt")
    assert state["head.fc1.weight"].shape == (1000, 1806)

    card = export_run(tmp_path / "run", tmp_path / "models" / "grasp_cnn.onnx")
    assert card.metrics["seen_new_images"] == results["seen_new_images"]
    assert card.training["objects_seen"] == 4
    errors = max_parity_error(tmp_path / "run", card.path)
    assert max(errors.values()) < 1e-4, errors


def test_checkpoint_that_is_not_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="model.pt: not a readable state_dict"):
        load_state_dict(path)


def test_toy_blob_problem_is_learned_to_under_5_percent_error():
    rng = np.random.default_rng(0)
    images = np.stack([blob_image(rng) for _ in range(4)])
    model = train_toy(images, steps=1500, seed=0)
    error = toy_error(model, images, n=4000, seed=1)
    assert error < 0.05, error


def test_tiny_run_on_a_generated_database_reduces_the_loss_on_its_training_data(tmp_path):
    """The real pipeline: Klamp't-labelled shards from ``generate`` -> ``train`` CLI -> ``export`` CLI."""
    config = tmp_path / "dataset.yaml"
    config.write_text("grasps_per_object: 40\nimages_per_object: 4\nresolution: 128\nview_distance_m: 0.5\n"
                      "view_margin: 0.1\nmesh_scale: 1.0\nmax_faces: 2000\nsim_config: null\n")
    data, run = tmp_path / "db", tmp_path / "run"
    assert cli_main(["generate", "--objects", "procedural:4", "--config", str(config), "--out", str(data),
                     "--workers", "1", "--seed", "0", "--no-progress"]) == 0
    assert cli_main(["train", "--data", str(data), "--out", str(run),
                     "--config", str(REPO / "config" / "train_tiny.yaml"), "--epochs", "8", "--min-robust", "1",
                     "--balance", "global", "--threads", "1"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    history = metrics["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert metrics["final"]["train"]["accuracy"] > 0.5
    assert cli_main(["export", str(run), "--out", str(tmp_path / "m" / "grasp_cnn.onnx"), "--check"]) == 0


def test_resampled_failed_poses_keep_each_objects_balance_and_never_use_held_out_poses(objects):
    from grasp_planner.learning.dataset import spare_failed
    split = make_split(objects, seed=0, balance="global")
    spare = spare_failed(split, objects)
    drawn = {i: set() for i in split.seen}
    for epoch in range(3):
        groups = training_groups(split, objects, grasps_per_image=64, rng=np.random.default_rng(epoch),
                                 resample_failed=True)
        for i, _, grasps in groups:
            labels = objects[i].label[grasps]
            fixed = objects[i].label[split.train_grasps[i]]
            # the same robust grasps and the same number of failed ones as the split gave the object
            assert set(grasps[labels == ROBUST]) == set(split.train_grasps[i][fixed == ROBUST])
            assert np.sum(labels == FAILED) == np.sum(fixed == FAILED)
            assert not set(grasps) & set(split.new_poses[i])
            assert set(grasps[labels == FAILED]) <= set(spare[i])
            drawn[i] |= set(grasps[labels == FAILED])
    # images see failed grasps outside the split's fixed undersample, and nearly every spare one in time
    fixed = {i: set(split.train_grasps[i][objects[i].label[split.train_grasps[i]] == FAILED]) for i in split.seen}
    assert sum(len(drawn[i] - fixed[i]) for i in split.seen) > 0
    assert sum(len(drawn[i]) for i in split.seen) >= 0.9 * sum(len(spare[i]) for i in split.seen)


def test_training_can_start_from_an_earlier_runs_weights(objects, tmp_path):
    base = TrainConfig(architecture="rot6d", epochs=1, images_per_batch=4, grasps_per_image=8, seed=0,
                       device="cpu", eval_images_per_object=2, eval_grasps_per_image=8, learning_rate=1e-9)
    train(objects, base, tmp_path / "a", progress=False)
    first = load_state_dict(tmp_path / "a" / "model.pt")
    # a tiny learning rate barely moves the weights: the second run must start where the first ended
    again = TrainConfig(**{**base.__dict__, "init_weights": str(tmp_path / "a" / "model.pt"),
                           "lr_schedule": "cosine", "resample_failed": True})
    train(objects, again, tmp_path / "b", progress=False)
    second = load_state_dict(tmp_path / "b" / "model.pt")
    assert max(float((first[k] - second[k]).abs().max()) for k in first) < 1e-5
    provenance = json.loads((tmp_path / "b" / "run.json").read_text())["initialised_from"]
    assert provenance["weights"].endswith("model.pt") and provenance["config"]["learning_rate"] == 1e-9
    fresh = load_state_dict(tmp_path / "a" / "checkpoints" / "epoch_001.pt")
    assert all(torch.equal(first[k], fresh[k]) for k in first)

    wrong = TrainConfig(**{**base.__dict__, "architecture": "paper", "init_weights": str(tmp_path / "a" / "model.pt")})
    with pytest.raises(ValueError, match="model.pt does not fit the paper network"):
        train(objects, wrong, tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match="lr_schedule must be"):
        TrainConfig(lr_schedule="step")


def test_training_can_start_from_an_exported_onnx_model(objects, tmp_path):
    """The shipped model is an ONNX file: its weights are read back exactly, with the card's provenance."""
    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.model import GraspCNN
    torch.manual_seed(3)
    model = GraspCNN("rot6d")
    onnx_path = tmp_path / "m" / "grasp_cnn.onnx"
    export_model(model, onnx_path, metrics={"unseen": 0.5, "onnx_accuracy": {"big": 1}})
    state = load_state_dict(onnx_path)
    assert set(state) == set(model.state_dict())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())

    config = TrainConfig(architecture="rot6d", epochs=1, images_per_batch=4, grasps_per_image=8, seed=0,
                         device="cpu", eval_images_per_object=2, eval_grasps_per_image=8, learning_rate=1e-9,
                         init_weights=str(onnx_path), augment_views=8)
    train(objects, config, tmp_path / "run", progress=False)
    after = load_state_dict(tmp_path / "run" / "model.pt")
    assert max(float((after[k] - v).abs().max()) for k, v in model.state_dict().items()) < 1e-5
    provenance = json.loads((tmp_path / "run" / "run.json").read_text())["initialised_from"]
    assert provenance["model_card"].endswith("grasp_cnn.json") and provenance["results"] == {"unseen": 0.5}

    wrong = TrainConfig(**{**config.__dict__, "architecture": "paper"})
    with pytest.raises(ValueError, match="grasp_cnn.onnx does not fit the paper network"):
        train(objects, wrong, tmp_path / "paper", progress=False)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ValueError, match="corrupt.onnx: not a readable ONNX model"):
        load_state_dict(corrupt)
    with pytest.raises(FileNotFoundError, match="missing.onnx not found"):
        load_state_dict(tmp_path / "missing.onnx")


def test_view_augmentation_is_seeded_and_changes_what_the_network_sees(objects, tmp_path):
    base = TrainConfig(architecture="rot6d", epochs=1, images_per_batch=4, grasps_per_image=8, seed=0,
                       device="cpu", eval_images_per_object=2, eval_grasps_per_image=8, learning_rate=1e-3)
    runs = {}
    for name, views in (("a", 8), ("b", 8), ("plain", 1)):
        train(objects, TrainConfig(**{**base.__dict__, "augment_views": views}), tmp_path / name, progress=False)
        runs[name] = load_state_dict(tmp_path / name / "model.pt")
    assert all(torch.equal(runs["a"][k], runs["b"][k]) for k in runs["a"])
    assert not all(torch.equal(runs["a"][k], runs["plain"][k]) for k in runs["a"])
    with pytest.raises(ValueError, match="augment_views must be 1, 4 or 8"):
        TrainConfig(augment_views=2)


def test_hand_turns_rotate_the_grasps_about_the_object_origin(objects):
    from scipy.spatial.transform import Rotation
    groups = [(0, 0, np.arange(6))]
    enc = PoseEncoding("rot6d")
    plain = make_batch(objects, groups, enc)
    same = make_batch(objects, groups, enc, hand_turns=np.tile(np.eye(3), (6, 1, 1)))
    np.testing.assert_allclose(same.pose, plain.pose, atol=1e-6)
    turned = make_batch(objects, groups, enc, hand_turns=Rotation.random(6, 0).as_matrix())
    assert np.abs(turned.pose - plain.pose).max() > 0.1
    # the hand keeps its distance to the object's origin
    d = np.linalg.norm(objects[0].T_obj_hand[:6, :3, 3], axis=1)
    T = Rotation.random(6, 0).as_matrix()
    np.testing.assert_allclose(np.linalg.norm(np.einsum("nij,nj->ni", T, objects[0].T_obj_hand[:6, :3, 3]), axis=1), d)


def test_distillation_keeps_the_initial_networks_outputs_on_turned_poses(objects, tmp_path):
    """Learning without forgetting: with ``distill_weight`` the fine-tuned network drifts less from the
    initial one on poses no label covers than the same fine-tuning without it."""
    from scipy.spatial.transform import Rotation
    from grasp_planner.learning.model import GraspCNN
    base = TrainConfig(architecture="rot6d", epochs=1, images_per_batch=4, grasps_per_image=8, seed=0,
                       device="cpu", eval_images_per_object=2, eval_grasps_per_image=8, learning_rate=1e-3)
    train(objects, base, tmp_path / "a", progress=False)
    plain = TrainConfig(**{**base.__dict__, "init_weights": str(tmp_path / "a" / "model.pt"), "epochs": 2,
                           "learning_rate": 3e-3})
    kept = TrainConfig(**{**plain.__dict__, "distill_weight": 20.0})
    train(objects, plain, tmp_path / "plain", progress=False)
    train(objects, kept, tmp_path / "kept", progress=False)
    groups = [(i, m, np.arange(20)) for i in range(len(objects)) for m in range(3)]
    batch = make_batch(objects, groups, PoseEncoding("rot6d"),
                       hand_turns=Rotation.random(len(groups) * 20, 1).as_matrix())

    def robust_probability(run):
        model = GraspCNN("rot6d", tuple(objects[0].depth.shape[1:]))
        model.load_state_dict(load_state_dict(tmp_path / run / "model.pt"))
        model.eval()
        with torch.no_grad():
            logits = model.forward_grouped(torch.from_numpy(batch.depth), torch.from_numpy(batch.image_index),
                                           torch.from_numpy(batch.pose))
        return torch.softmax(logits, dim=1)[:, 1].numpy()
    start = robust_probability("a")
    drift_plain = np.abs(robust_probability("plain") - start).mean()
    drift_kept = np.abs(robust_probability("kept") - start).mean()
    assert drift_kept < 0.6 * drift_plain
    with pytest.raises(ValueError, match="distill_weight needs init_weights"):
        train(objects, TrainConfig(**{**base.__dict__, "distill_weight": 1.0}), tmp_path / "b", progress=False)
