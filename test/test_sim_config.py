"""SimConfig: the shipped file loads, and mistakes in a config file are named, not ignored."""
import pytest
import yaml

from grasp_planner.resources import resource_path
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel


def _write(tmp_path, data):
    path = tmp_path / "sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _raw():
    return yaml.safe_load(resource_path("config", "sim.yaml").read_text())


def test_shipped_config_loads_with_the_papers_ten_shakes():
    config = SimConfig.load()
    assert config.shake.count == 10
    assert config.physics.sim_dt_s <= config.physics.control_dt_s


def test_label_values_are_the_shard_contract():
    assert [int(label) for label in (GraspLabel.FAILED, GraspLabel.LOOSE, GraspLabel.ROBUST)] == [0, 1, 2]


def test_unknown_key_is_an_error_naming_it(tmp_path):
    data = _raw()
    data["shake"]["amplitud_m"] = 0.03
    with pytest.raises(ValueError, match="amplitud_m"):
        SimConfig.load(_write(tmp_path, data))


def test_missing_key_is_an_error_naming_it(tmp_path):
    data = _raw()
    del data["closing"]["squeeze_rad"]
    with pytest.raises(ValueError, match="squeeze_rad"):
        SimConfig.load(_write(tmp_path, data))


def test_wrong_type_is_an_error_naming_the_key(tmp_path):
    data = _raw()
    data["shake"]["count"] = "ten"
    with pytest.raises(ValueError, match="shake.count"):
        SimConfig.load(_write(tmp_path, data))


def test_config_round_trips_through_a_plain_dict():
    config = SimConfig.load()
    assert SimConfig.from_dict(config.to_dict()) == config


def test_hand_box_holds_a_com_inside_and_releases_one_that_left():
    box = SimConfig.load().hand_box
    assert box.holds([0.0, 0.0, 0.05], [0.0, 0.0, 0.05])
    assert not box.holds([0.0, 0.0, box.z_max_m + 0.01], [0.0, 0.0, 0.05])


def test_hand_box_judges_a_long_object_held_by_its_end_by_how_far_it_moved():
    box = SimConfig.load().hand_box
    start = [0.0, 0.0, box.z_max_m + 0.05]  # COM outside the box from the start
    assert box.holds([0.0, 0.005, box.z_max_m + 0.05], start)
    assert not box.holds([0.0, 0.0, box.z_max_m + 0.05 + 1.5 * box.escape_distance_m], start)
