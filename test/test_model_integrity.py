"""Model integrity: the card's sha256 catches changed files; a fixed-input smoke test catches broken networks.

Every case runs onnxruntime on real files: copies of the shipped models, changed with the onnx package.
"""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from grasp_planner.cli import main
from grasp_planner.contract.model_card import FILE_KINDS, ModelCard, ModelCardError
from grasp_planner.contract.onnx_models import ModelFileError
from grasp_planner.perception.scenes import bundled_scene_paths
from grasp_planner.planning.scorer import GraspScorer

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture()
def shipped_copy(tmp_path):
    for f in MODELS.glob("grasp_cnn*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "grasp_cnn.json"


def _rewrite_first_weight(onnx_path, values_of):
    """Replace the file's first initialiser by ``values_of(array)`` (a network whose weights went bad)."""
    model = onnx.load(str(onnx_path))
    first = model.graph.initializer[0]
    array = numpy_helper.to_array(first)
    first.CopyFrom(numpy_helper.from_array(values_of(array).astype(array.dtype), first.name))
    onnx.save(model, str(onnx_path))


def _rehash(card_path):
    """The card of an export of the changed files: hashes that match them."""
    card = ModelCard.load(card_path, check_files=False)
    card.record_hashes()
    card.save(card_path)


def test_the_shipped_card_holds_the_hashes_of_the_shipped_files_and_loads():
    card = ModelCard.load(MODELS / "grasp_cnn.json")
    for kind in FILE_KINDS:
        assert card.sha256[kind] == hashlib.sha256(card.file_path(kind).read_bytes()).hexdigest()
    GraspScorer(MODELS / "grasp_cnn.json")


def test_flipped_bytes_in_the_encoder_are_refused_naming_the_field_and_file(shipped_copy):
    encoder = shipped_copy.parent / "grasp_cnn_encoder.onnx"
    data = bytearray(encoder.read_bytes())
    data[len(data) // 2] ^= 0x40
    encoder.write_bytes(bytes(data))
    with pytest.raises(ModelCardError, match="sha256.encoder.*grasp_cnn_encoder.onnx"):
        GraspScorer(shipped_copy)


def test_a_card_without_hashes_is_refused(shipped_copy):
    card = json.loads(shipped_copy.read_text())
    del card["sha256"]
    shipped_copy.write_text(json.dumps(card))
    with pytest.raises(ModelCardError, match="no 'sha256.full'.*re-export"):
        ModelCard.load(shipped_copy)
    assert ModelCard.load(shipped_copy, check_files=False).sha256 == {}  # reading the fields alone still works


def test_a_nan_head_with_matching_hashes_fails_the_smoke_test_at_load(shipped_copy):
    _rewrite_first_weight(shipped_copy.parent / "grasp_cnn_head.onnx", lambda a: np.full(a.shape, np.nan))
    _rehash(shipped_copy)  # a diverged training exported as it is: the files are what the card says
    with pytest.raises(ModelFileError, match=r"smoke test.*\[nan, nan\]"):
        GraspScorer(shipped_copy)


def test_blown_up_encoder_weights_fail_the_smoke_test_at_load(shipped_copy):
    _rewrite_first_weight(shipped_copy.parent / "grasp_cnn_encoder.onnx", lambda a: a * 1e6)
    _rehash(shipped_copy)
    with pytest.raises(ModelFileError, match="smoke test.*corrupt"):
        GraspScorer(shipped_copy)


def test_the_plan_command_reports_a_corrupt_model_in_one_stderr_line(shipped_copy, tmp_path, capsys):
    _rewrite_first_weight(shipped_copy.parent / "grasp_cnn_head.onnx", lambda a: np.full(a.shape, np.nan))
    _rehash(shipped_copy)
    code = main(["plan", str(bundled_scene_paths()[0]), "--model", str(shipped_copy), "--out", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and str(shipped_copy) in err and "smoke test" in err


def test_export_writes_the_hashes_of_the_files_it_wrote(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main(["export", "--untrained", "rot6d", "--out", str(out)]) == 0
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["sha256"] == {kind: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
                              for kind, name in card["files"].items()}
    GraspScorer(tmp_path / "m.json")  # an untrained network still gives finite logits
