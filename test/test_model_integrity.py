"""Model integrity: the card's sha256 catches changed files; a fixed-input smoke test catches broken networks."""
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from grasp_planner.contract.model_card import ModelCard, ModelCardError
from grasp_planner.contract.onnx_models import ModelFileError
from grasp_planner.planning.scorer import GraspScorer

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture()
def shipped_copy(tmp_path):
    for f in MODELS.glob("grasp_cnn*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "grasp_cnn.json"


def test_the_shipped_card_holds_the_hashes_of_its_files_and_loads():
    card = ModelCard.load(MODELS / "grasp_cnn.json")
    assert set(card.sha256) == {"full", "encoder", "head"}
    GraspScorer(MODELS / "grasp_cnn.json")


def test_flipped_bytes_in_the_encoder_are_refused_naming_the_file(shipped_copy):
    encoder = shipped_copy.parent / "grasp_cnn_encoder.onnx"
    data = bytearray(encoder.read_bytes())
    data[len(data) // 2] ^= 0x40
    encoder.write_bytes(bytes(data))
    with pytest.raises(ModelCardError, match="sha256.encoder.*grasp_cnn_encoder.onnx"):
        GraspScorer(shipped_copy)


def test_a_nan_head_fails_the_smoke_test_at_load(shipped_copy):
    head_path = shipped_copy.parent / "grasp_cnn_head.onnx"
    model = onnx.load(str(head_path))
    first = model.graph.initializer[0]
    nan = np.full(numpy_helper.to_array(first).shape, np.nan, dtype=numpy_helper.to_array(first).dtype)
    first.CopyFrom(numpy_helper.from_array(nan, first.name))
    onnx.save(model, str(head_path))
    card = json.loads(shipped_copy.read_text())
    del card["sha256"]  # a card without hashes (an older export): the smoke test still catches it
    shipped_copy.write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="smoke test"):
        GraspScorer(shipped_copy)
