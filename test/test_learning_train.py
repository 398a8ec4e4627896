"""Splits, a tiny training run end to end (train -> run folder -> export), and the paper's toy problem."""
import json

import numpy as np
import pytest
import torch

from grasp_planner.learning.dataset import load_database, make_split, training_groups
from grasp_planner.learning.export import export_run
from grasp_planner.learning.features import DepthNormalization
from grasp_planner.learning.parity import max_parity_error
from grasp_planner.learning.run_dir import load_state_dict
from grasp_planner.learning.synthetic_db import write_synthetic_database
from grasp_planner.learning.toy import blob_image, toy_error, train_toy
from grasp_planner.learning.train import TrainConfig, train
from grasp_planner.sim.labels import GraspLabel

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    out = tmp_path_factory.mktemp("db")
    write_synthetic_database(out, n_objects=5, images_per_object=10, grasps_per_object=60, seed=0)
    return out


@pytest.fixture(scope="module")
def objects(database):
    return load_database(database, DepthNormalization(), progress=False)


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
