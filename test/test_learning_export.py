"""Mix-in CNN shapes, ONNX export parity with torch, model card and ONNX loader errors."""
import json
import shutil

import numpy as np
import pytest
import torch

from grasp_planner.learning.dataset import evaluation_groups, load_database, make_batch, make_split
from grasp_planner.learning.export import export_model
from grasp_planner.contract.features import DepthNormalization
from grasp_planner.learning.model import GraspCNN
from grasp_planner.contract.model_card import ModelCard, ModelCardError
from grasp_planner.contract.onnx_models import ModelFileError, open_session
from grasp_planner.learning.parity import parity_errors
from synthetic_db import write_synthetic_database

torch.set_num_threads(1)
PARITY_TOL = 1e-4


@pytest.fixture(scope="module", params=["paper", "rot6d"])
def exported(request, tmp_path_factory):
    torch.manual_seed(0)
    model = GraspCNN(request.param).eval()
    card = export_model(model, tmp_path_factory.mktemp(request.param) / "grasp_cnn.onnx", seed=0)
    return model, card


@pytest.fixture(scope="module")
def real_objects(tmp_path_factory):
    out = tmp_path_factory.mktemp("db")
    write_synthetic_database(out, n_objects=3, images_per_object=4, grasps_per_object=40, seed=3)
    return load_database(out, DepthNormalization(), progress=False)


def test_paper_architecture_has_1800_image_features_and_1806_mixed_in_inputs():
    model = GraspCNN("paper", (128, 128))
    features = model.encoder(torch.zeros(2, 1, 128, 128))
    assert features.shape == (2, 1800)
    assert model.head.fc1.in_features == 1806
    assert model(torch.zeros(2, 1, 128, 128), torch.zeros(2, 6)).shape == (2, 2)


def test_continuous_variant_takes_nine_pose_numbers():
    assert GraspCNN("rot6d").head.fc1.in_features == 1800 + 9


def test_grouped_forward_equals_per_sample_forward():
    torch.manual_seed(1)
    model = GraspCNN("paper").eval()
    depth = torch.randn(2, 1, 128, 128)
    index = torch.tensor([0, 0, 1, 1, 1])
    pose = torch.randn(5, 6)
    with torch.no_grad():
        grouped = model.forward_grouped(depth, index, pose)
        single = model(depth[index], pose)
    assert torch.allclose(grouped, single, atol=1e-5)


def test_onnx_matches_torch_on_random_inputs(exported):
    model, card = exported
    rng = np.random.default_rng(0)
    for n in (1, 7):  # dynamic batch
        errors = parity_errors(model, card, rng.normal(0, 1, (n, 1, 128, 128)), rng.normal(0, 1, (n, card.pose_dim)))
        assert errors["full"] < PARITY_TOL and errors["split"] < PARITY_TOL, errors


def test_onnx_matches_torch_on_rendered_samples(exported, real_objects):
    model, card = exported
    split = make_split(real_objects, seed=0, min_robust=5)
    groups = evaluation_groups(split, real_objects, "train", seed=0, images_per_object=2, grasps_per_image=6)
    batch = make_batch(real_objects, groups, card.pose_encoding)
    depth = batch.depth[batch.image_index]
    errors = parity_errors(model, card, depth, batch.pose)
    assert errors["full"] < PARITY_TOL and errors["split"] < PARITY_TOL, errors


def test_card_round_trips_and_names_its_files(exported):
    _, card = exported
    loaded = ModelCard.load(card.path)
    assert loaded.to_dict() == card.to_dict()
    assert loaded.file_path("encoder").is_file() and loaded.file_path("head").is_file()
    assert loaded.opset >= 17 and loaded.feature_size == 1800


def test_card_with_a_missing_onnx_file_names_the_file(exported, tmp_path):
    _, card = exported
    copy = tmp_path / "grasp_cnn.json"
    shutil.copy(card.path, copy)
    shutil.copy(card.file_path("full"), tmp_path / card.files["full"])
    with pytest.raises(ModelCardError, match="encoder ONNX file .*grasp_cnn_encoder.onnx does not exist"):
        ModelCard.load(copy)


@pytest.mark.parametrize("field,value,message", [
    ("architecture", "resnet", "'architecture' must be one of"),
    ("pose_dim", 5, "'pose_dim' is 5"),
    ("opset", 11, "'opset' must be an integer >= 17"),
    ("input_size", [128], "'input_size' must be"),
])
def test_card_with_a_bad_field_names_file_and_field(exported, tmp_path, field, value, message):
    _, card = exported
    data = card.to_dict()
    data[field] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelCardError, match=message) as info:
        ModelCard.load(path, check_files=False)
    assert str(path) in str(info.value)


def test_corrupt_onnx_file_gives_an_error_naming_the_file(exported, tmp_path):
    _, card = exported
    corrupt = tmp_path / "corrupt.onnx"
    data = card.file_path("head").read_bytes()
    corrupt.write_bytes(data[: len(data) // 3])  # truncated download
    with pytest.raises(ModelFileError, match="corrupt.onnx: cannot be loaded"):
        open_session(corrupt, "head", card)


def test_onnx_file_of_another_shape_gives_an_error_naming_file_and_expectation(exported):
    model, card = exported
    # the encoder file where the card expects the head: other inputs and outputs
    with pytest.raises(ModelFileError) as info:
        open_session(card.file_path("encoder"), "head", card)
    text = str(info.value)
    assert "grasp_cnn_encoder.onnx" in text and f"pose ['N', {card.pose_dim}]" in text


def test_onnx_file_of_the_other_architecture_is_rejected(tmp_path):
    torch.manual_seed(0)
    paper = export_model(GraspCNN("paper"), tmp_path / "paper" / "grasp_cnn.onnx")
    rot6d = export_model(GraspCNN("rot6d"), tmp_path / "rot6d" / "grasp_cnn.onnx")
    with pytest.raises(ModelFileError, match=r"expected float inputs \(depth \['N', 1, 128, 128\], pose \['N', 6\]\)"):
        open_session(rot6d.file_path("full"), "full", paper)


def test_export_cli_writes_an_untrained_model_the_card_loader_accepts(tmp_path):
    from grasp_planner.cli import main as cli_main
    out = tmp_path / "models" / "grasp_cnn.onnx"
    assert cli_main(["export", "--untrained", "rot6d", "--out", str(out)]) == 0
    card = ModelCard.load(out.with_suffix(".json"))
    assert card.architecture == "rot6d" and card.pose_dim == 9 and card.training == {"untrained": True}
    assert cli_main(["export", "--out", str(out)]) == 2  # neither a run nor --untrained
