"""Training on the label store: the table split rule, soft labels, balanced accuracy, and the CLI route end to end."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from grasp_planner.learning import dataset as ds  # noqa: E402
from grasp_planner.learning.train import balanced_accuracy, training_loss  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _objects(n_with_robust=20, n_without=80, seed=0):
    rng = np.random.default_rng(seed)
    T_cam_obj = np.tile(np.eye(4), (2, 1, 1))
    T_cam_obj[:, 2, 3] = 0.5
    out = []
    for i in range(n_with_robust + n_without):
        labels = np.zeros(12, np.int8)
        if i < n_with_robust:
            labels[:rng.integers(1, 4)] = 2
        cameras = np.tile([100.0, 100.0, 1.5, 1.5, 4, 4], (2, 1))
        out.append(ds.ObjectData(i, f"table_{i:06d}", np.zeros((2, 4, 4), np.float32), cameras, T_cam_obj,
                                 np.tile(np.eye(4), (12, 1, 1)), labels,
                                 fraction=(labels == 2).astype(np.float32) * 0.75))
    return out


def test_the_table_split_holds_out_objects_with_and_without_robust_grasps():
    objects = _objects()
    split = ds.make_split(objects, seed=0, min_robust=0, unseen_fraction=0.2, balance="global")
    with_robust = [i for i in split.unseen if len(objects[i].robust)]
    assert len(with_robust) == 4 and len(split.unseen) == 20  # 20% of each group
    assert not set(split.seen) & set(split.unseen)
    for i in split.unseen:  # scored on every robust and failed grasp
        assert len(split.balanced[i]) == 12
    robust_train = sum(int(np.sum(objects[i].label[g] == 2)) for i, g in split.train_grasps.items())
    failed_train = sum(int(np.sum(objects[i].label[g] == 0)) for i, g in split.train_grasps.items())
    assert robust_train > 0 and abs(robust_train - failed_train) <= 2
    # the paper's rule is unchanged: objects without enough robust grasps are skipped
    paper = ds.make_split(objects, seed=0, min_robust=1, balance="global")
    assert len(paper.skipped) == 80


def test_soft_targets_reach_the_batch_and_the_loss():
    objects = _objects()
    batch = ds.make_batch(objects, [(0, 0, np.array([0, 11]))], ds.PoseEncoding("rot6d"))
    assert batch.soft_target.tolist() == [0.75, 0.0] and batch.target.tolist() == [1, 0]
    logits = torch.zeros(2, 2)
    soft = float(training_loss(logits, batch, True, torch.device("cpu")))
    hard = float(training_loss(torch.tensor([[0.0, 2.0], [2.0, 0.0]]), batch, False, torch.device("cpu")))
    assert soft == pytest.approx(np.log(2.0))  # equal logits: ln 2 whatever the target distribution
    assert hard == pytest.approx(np.log1p(np.exp(-2.0)), rel=1e-5)
    confident = torch.tensor([[0.0, 5.0], [5.0, 0.0]])
    # a soft label of 0.75 punishes certainty; a hard label rewards it
    assert float(training_loss(confident, batch, True, torch.device("cpu"))) > \
        float(training_loss(confident, batch, False, torch.device("cpu"))) + 0.5


def test_balanced_accuracy_weighs_the_classes_equally():
    assert balanced_accuracy([[90, 10], [5, 5]]) == pytest.approx(0.7)
    assert balanced_accuracy([[10, 0], [0, 0]]) == pytest.approx(1.0)


def test_train_store_cli_writes_a_run_that_exports_with_the_table_background(tmp_path):
    """``grasp-planner train --store`` end to end on one store batch; the exported card says what the views showed."""
    run = tmp_path / "run"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    common = [sys.executable, "-m", "grasp_planner.cli"]
    train = subprocess.run(common + ["train", "--store", str(ROOT / "datasets" / "labels"), "--cache",
                                     str(tmp_path / "cache"), "--max-objects", "10", "--out", str(run),
                                     "--config", str(ROOT / "config" / "train_table.yaml"), "--epochs", "1",
                                     "--epoch-images", "4", "--images-per-batch", "2", "--background", "table",
                                     "--threads", "1", "--device", "cpu"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert train.returncode == 0, train.stderr[-2000:]
    config = json.loads((run / "run.json").read_text())
    assert config["view_background"] == "table" and config["config"]["soft_labels"] is True
    assert len(config["data_source"]["store_manifest_sha256"]) == 64
    metrics = json.loads((run / "metrics.json").read_text())
    assert "unseen_balanced" in metrics["results"]
    export = subprocess.run(common + ["export", str(run), "--out", str(tmp_path / "m.onnx")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert export.returncode == 0, export.stderr[-2000:]
    from grasp_planner.contract.model_card import ModelCard
    from grasp_planner.planning.scorer import GraspScorer
    card = ModelCard.load(tmp_path / "m.json")
    assert card.view_background == "table"
    assert card.training["data_source"]["views"]["background"] == "table"
    scorer = GraspScorer(tmp_path / "m.json")  # onnxruntime on the exported files
    from grasp_planner.camera import PinholeCamera
    camera = PinholeCamera(100.0, 100.0, 63.5, 63.5, 128, 128)
    features = scorer.image_features(np.full((128, 128), 0.55, np.float32), camera)
    T = np.eye(4)
    T[2, 3] = 0.45
    assert np.all(np.isfinite(scorer.logits(features, T[None])))


def test_train_store_refuses_a_missing_store(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grasp_planner.cli", "train", "--store", str(tmp_path / "nope"),
                             "--out", str(tmp_path / "run")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no such label store folder" in result.stderr
    assert not (tmp_path / "run").exists()
