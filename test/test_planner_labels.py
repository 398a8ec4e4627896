"""Planned labels: the planner's answers on store scenes, labelled in Klamp't, kept apart from the split.

Mining runs the shipped ONNX model through the real planner on rendered camera images of committed
store objects and simulates the answers in the real table world.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grasp_planner.data import label_store as ls
from grasp_planner.data.generate_table import PROPOSAL_CODES
from grasp_planner.learning import dataset as ds

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "datasets" / "labels"
MODEL = ROOT / "models" / "grasp_cnn.json"


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    from grasp_planner.planning.planner_labels import mine_store
    out = tmp_path_factory.mktemp("planned") / "store"
    summary = mine_store(STORE, out, MODEL, max_objects=3, batch_size=2, progress=False)
    return out, summary


def test_mining_writes_a_label_store_of_planned_grasps_on_the_base_objects(mined):
    out, summary = mined
    manifest, batches = ls.load_store(out)          # hash-checked like any store
    base, base_batches = ls.load_store(STORE)
    first = base_batches[0].arrays
    assert manifest["planned"]["objects_done"] == [int(i) for i in first["object_index"][:3]]
    assert manifest["seed"] == base["seed"] and manifest["config_hash"] == base["config_hash"]
    assert summary["plans"] == 9                     # two pre-grasps and one without a pose, per object
    for batch in batches:
        a = batch.arrays
        assert np.all(a["proposal"] == PROPOSAL_CODES["planned"])
        assert set(np.unique(a["label"])) <= {0, 1, 2} and np.all(a["trials"] >= 1)
        assert np.all(a["robust_trials"] <= a["trials"])
        for row, index in enumerate(a["object_index"]):   # the object rows are the base store's
            base_row = int(np.flatnonzero(first["object_index"] == index)[0])
            np.testing.assert_array_equal(a["T_table_obj"][row], first["T_table_obj"][base_row])
            np.testing.assert_array_equal(a["neighbour_index"][row], first["neighbour_index"][base_row])
    assert sum(b.n_grasps for b in batches) == summary["grasps"] > 0


def test_mining_again_resumes_and_refuses_another_model(mined, tmp_path):
    from grasp_planner.planning.planner_labels import mine_store
    out, _ = mined
    again = mine_store(STORE, out, MODEL, max_objects=3, progress=False)
    assert again["objects"] == 0                     # every object already done
    for f in MODEL.parent.glob("*.onnx"):            # the same network under another card
        (tmp_path / f.name).write_bytes(f.read_bytes())
    other = tmp_path / "other.json"
    card = json.loads(MODEL.read_text())
    other.write_text(json.dumps({**card, "code_version": "another card"}))
    with pytest.raises(ls.StoreError, match="planned.model_sha256"):
        mine_store(STORE, out, other, max_objects=3, progress=False)


def _objects(n=40, seed=0):
    rng = np.random.default_rng(seed)
    T_cam_obj = np.tile(np.eye(4), (2, 1, 1))
    out = []
    for i in range(n):
        labels = np.zeros(10, np.int8)
        if i < n // 4:
            labels[:rng.integers(1, 3)] = 2
        out.append(ds.ObjectData(i, f"table_{i:06d}", np.zeros((2, 4, 4), np.float32),
                                 np.tile([100.0, 100.0, 1.5, 1.5, 4, 4], (2, 1)), T_cam_obj,
                                 np.tile(np.eye(4), (10, 1, 1)), labels, fraction=(labels == 2).astype(np.float32)))
    return out


def _with_planned(objects, per_object=3):
    out = []
    for o in objects:
        labels = np.concatenate([o.label, np.array([2, 0, 0][:per_object], np.int8)])
        out.append(ds.ObjectData(o.index, o.name, o.depth, o.cameras, o.T_cam_obj,
                                 np.tile(np.eye(4), (len(labels), 1, 1)), labels,
                                 fraction=(labels == 2).astype(np.float32),
                                 planned=np.arange(len(labels)) >= len(o.label)))
    return out


def test_planned_grasps_leave_the_split_alone_and_train_seen_objects_only():
    plain = _objects()
    planned = _with_planned(plain)
    a = ds.make_split(plain, seed=3, min_robust=0, unseen_fraction=0.2, balance="global")
    b = ds.make_split(planned, seed=3, min_robust=0, unseen_fraction=0.2, balance="global")
    assert a.seen == b.seen and a.unseen == b.unseen
    for i in a.unseen:                               # unseen objects are scored on sampled grasps only
        np.testing.assert_array_equal(a.balanced[i], b.balanced[i])
        assert not planned[i].planned[b.balanced[i]].any()
    for i in a.seen:
        np.testing.assert_array_equal(a.new_poses[i], b.new_poses[i])
        extra = np.setdiff1d(b.train_grasps[i], a.train_grasps[i])
        assert sorted(extra) == [10, 11, 12]         # the three planned grasps, training only
    assert b.counts(planned)["grasps_train_planned"] == 3 * len(b.seen)


def test_resampling_keeps_the_planners_failed_answers():
    planned = _with_planned(_objects())
    split = ds.make_split(planned, seed=3, min_robust=0, unseen_fraction=0.2, balance="global")
    rng = np.random.default_rng(0)
    groups = ds.training_groups(split, planned, grasps_per_image=64, rng=rng, resample_failed=True)
    seen_poses = {}
    for i, _, g in groups:
        seen_poses.setdefault(i, set()).update(int(k) for k in g)
    for i in split.seen:                             # every image draws all of them (64 > what there is)
        assert {11, 12} <= seen_poses[i]


def test_training_adds_a_planned_store_to_the_objects_it_was_planned_on(mined):
    from grasp_planner.learning.table_dataset import add_planned
    out, summary = mined
    base = ls.read_manifest(STORE)
    objects = [ds.ObjectData(int(i), f"table_{int(i):06d}", np.zeros((1, 4, 4), np.float32), np.zeros((1, 6)),
                             np.eye(4)[None], np.tile(np.eye(4), (2, 1, 1)), np.array([0, 2], np.int8))
               for i in ls.load_store(STORE)[1][0].arrays["object_index"][:2]]
    merged, records = add_planned(objects, base, [out])
    added = sum(int(o.planned.sum()) for o in merged)
    assert added == records[0]["grasps_added"] > 0
    assert records[0]["grasps_added"] + records[0]["grasps_without_object"] == summary["grasps"]
    for o in merged:
        assert not o.planned[:2].any() and len(o.robust) == 1   # the sampled grasps are as they were
    with pytest.raises(ls.StoreError, match="seed"):
        add_planned(objects, {**base, "seed": base["seed"] + 1}, [out])


def test_mine_labels_cli_names_a_missing_store_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "grasp_planner.cli", "mine-labels", "--store",
                             str(tmp_path / "nope"), "--out", str(tmp_path / "out")], capture_output=True,
                            text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nope" in result.stderr
    assert not (tmp_path / "out").exists()
