"""The label store: append grows it without rewriting, views re-render to the stored checksums, runs never mix."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grasp_planner.data import label_store as ls
from grasp_planner.data.generate_table import grow_store
from grasp_planner.data.table_views import depth_checksum, stored_view


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "store"
    grow_store(path, 2, seed=0, workers=1, grasps=3, batch_size=1, progress=False)
    return path


def test_a_store_holds_its_objects_grasps_and_hashes(store):
    manifest, batches = ls.load_store(store)
    assert [b.n_objects for b in batches] == [1, 1]
    assert manifest["next_object"] == 2 and manifest["seed"] == 0
    for b in batches:
        assert b.n_grasps <= 3
        assert np.all((b.arrays["trials"] >= 1) & (b.arrays["robust_trials"] <= b.arrays["trials"]))
        assert np.all(ls.unpack_trial_labels(int(b.arrays["trial_labels"][0]), 1) == [b.arrays["label"][0]])
        T = b.T_obj_hand()
        assert np.allclose(T[:, :3, :3] @ T[:, :3, :3].transpose(0, 2, 1), np.eye(3), atol=1e-5)


def test_append_adds_new_indices_and_rerendering_gives_the_stored_checksums(store):
    before = {e["file"]: e["sha256"] for e in ls.read_manifest(store)["batches"]}
    grow_store(store, 1, seed=0, workers=1, grasps=3, batch_size=1, append=True, progress=False)
    manifest, batches = ls.load_store(store)
    assert [b.arrays["object_index"][0] for b in batches] == [0, 1, 2]
    assert all(ls.file_sha256(store / f) == h for f, h in before.items())  # never rewritten
    assert len(manifest["render_checksums"]) == 3
    by_index = {int(b.arrays["object_index"][0]): b for b in batches}
    for check in manifest["render_checksums"]:
        depth = stored_view(manifest["seed"], by_index[check["object_index"]].arrays, 0, check["view"])
        assert (depth > 0).mean() > 0.5  # the table fills the view
        assert depth_checksum(depth) == check["sha256"]


@pytest.mark.parametrize("change, message", [
    ({"seed": 1}, "seed 0"),
    ({"world_config_path": "bad"}, "differ"),
])
def test_append_with_another_seed_or_config_is_refused(store, tmp_path, change, message):
    kwargs = {"seed": 0}
    if "world_config_path" in change:
        text = (Path(__file__).parent.parent / "config" / "table_world.yaml").read_text()
        other = tmp_path / "table_world.yaml"
        other.write_text(text.replace("count: 4 ", "count: 5 "))
        kwargs["world_config_path"] = other
    else:
        kwargs.update(change)
    with pytest.raises(ls.StoreError, match=message):
        grow_store(store, 1, workers=1, grasps=3, append=True, progress=False, **kwargs)


def test_a_corrupt_batch_is_named(store, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    manifest = ls.read_manifest(store)
    for entry in manifest["batches"]:
        (copy / entry["file"]).write_bytes((store / entry["file"]).read_bytes())
    (copy / ls.MANIFEST).write_text(json.dumps(manifest))
    victim = copy / manifest["batches"][0]["file"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(ls.StoreError, match=manifest["batches"][0]["file"]):
        ls.load_store(copy)


def test_the_cli_refuses_a_second_seed_in_one_line(store):
    out = subprocess.run([sys.executable, "-m", "grasp_planner.cli", "generate", "--world", "table", "--append",
                          "--objects", "procedural:1", "--out", str(store), "--seed", "7", "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "seed 0" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_store_made_before_a_setting_was_added_stays_appendable_and_the_new_value_is_refused(store, tmp_path):
    # grip.table_blocks_fingers came after the first stores: a manifest without it was labelled with its default,
    # false (datasets/labels_table_stops_fingers); the shipped world now says true
    manifest = ls.read_manifest(store)
    older = json.loads(json.dumps(manifest))
    del older["configs"]["table_world"]["grip"]["table_blocks_fingers"]
    older["config_hash"] = "made-by-older-code"
    ls.write_manifest(store, older)
    try:
        text = (Path(__file__).parent.parent / "config" / "table_world.yaml").read_text()
        assert "table_blocks_fingers: true" in text
        earlier = tmp_path / "table_world.yaml"
        earlier.write_text(text.replace("table_blocks_fingers: true", "table_blocks_fingers: false"))
        grow_store(store, 1, seed=0, workers=1, grasps=3, batch_size=1, append=True, progress=False,
                   world_config_path=earlier)
        with pytest.raises(ls.StoreError, match="differ"):
            grow_store(store, 1, seed=0, workers=1, grasps=3, append=True, progress=False)
    finally:
        current = ls.read_manifest(store)
        current["config_hash"] = manifest["config_hash"]
        current["configs"] = manifest["configs"]
        ls.write_manifest(store, current)
