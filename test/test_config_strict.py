"""Every config file goes through one strict reader: mistakes are one-line ConfigErrors naming file and key."""
import dataclasses
import glob

import pytest

from grasp_planner.config_schema import ConfigError, build
from grasp_planner.data.dataset_config import DatasetConfig
from grasp_planner.learning.train import TrainConfig
from grasp_planner.planning.config import PlannerConfig, load_planner_config
from grasp_planner.resources import resource_path
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.world_config import TableWorldConfig

LOADERS = {
    "planner": load_planner_config,
    "dataset": DatasetConfig.load,
    "training": TrainConfig.from_yaml,
    "sim": SimConfig.load,
    "table_world": TableWorldConfig.load,
}
SHIPPED = {"sim": resource_path("config", "sim.yaml").read_text(),
           "table_world": resource_path("config", "table_world.yaml").read_text()}
#: a valid document of each kind, the cases below change one thing in it
VALID = {
    "planner": "optimizer:\n  max_iter: 10\nbarrier:\n  enabled: true\n",
    "dataset": "grasps_per_object: 2\nimages_per_object: 3\n",
    "training": "epochs: 2\nresample_failed: false\n",
    "sim": SHIPPED["sim"],
    "table_world": SHIPPED["table_world"],
}


def _write(tmp_path, text, name="config.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(kind, path, *words):
    """The loader raises one ConfigError line naming the file and every word."""
    with pytest.raises(ConfigError) as info:
        LOADERS[kind](path)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert str(path) in message, message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_the_valid_documents_load(kind, tmp_path):
    LOADERS[kind](_write(tmp_path, VALID[kind]))


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("text, words", [
    ("key: [1, 2\n", ["malformed YAML", "line 2"]),
    ("- 1\n- 2\n", ["mapping", "list"]),
    ("just text\n", ["mapping", "just text"]),
    ("", ["empty"]),
    ("# only a comment\n", ["empty"]),
])
def test_a_document_that_is_no_mapping_of_settings_is_refused(kind, tmp_path, text, words):
    _refused(kind, _write(tmp_path, text), *words)


@pytest.mark.parametrize("kind, text, words", [
    ("planner", "optimizer:\n  max_iter: forty\n", ["'optimizer.max_iter'", "an integer", "'forty'"]),
    ("planner", "multistart:\n  n_starts: 2.5\n", ["'multistart.n_starts'", "an integer", "2.5"]),
    ("planner", "barrier:\n  enabled: \"no\"\n", ["'barrier.enabled'", "true or false", "'no'"]),
    ("planner", "optimizer:\n  max_iter: true\n", ["'optimizer.max_iter'", "an integer", "true"]),
    ("planner", "optimizer:\n  time_budget_s: soon\n", ["'optimizer.time_budget_s'", "a number or null"]),
    ("planner", "planner:\n  view: 3\n", ["'planner.view'", "text"]),
    ("dataset", "grasps_per_object: 2\nimages_per_object: ten\n", ["'images_per_object'", "an integer"]),
    ("dataset", "grasps_per_object: 2\nimages_per_object: 3\nsim_config: 5\n", ["'sim_config'", "text or null"]),
    ("dataset", "grasps_per_object: 2\nimages_per_object: 3\nview_margin: [0.1]\n", ["'view_margin'", "a number"]),
    ("training", "epochs: forty\n", ["'epochs'", "an integer"]),
    ("training", "resample_failed: \"no\"\n", ["'resample_failed'", "true or false"]),
    ("training", "learning_rate: fast\n", ["'learning_rate'", "a number"]),
    ("training", "depth_normalization: 3\n", ["'depth_normalization'", "a mapping"]),
    ("training", "depth_normalization:\n  scale_m: wide\n", ["'depth_normalization.scale_m'", "a number"]),
    ("training", "depth_normalization:\n  scale: 0.1\n", ["'scale'", "depth_normalization", "scale_m"]),
])
def test_a_value_of_the_wrong_type_is_refused_naming_the_key(kind, tmp_path, text, words):
    _refused(kind, _write(tmp_path, text), *words)


@pytest.mark.parametrize("kind, old, new, words", [
    ("sim", "max_contacts: 4 ", "max_contacts: four ", ["'physics.max_contacts'", "an integer"]),
    ("sim", "adaptive_time_stepping: true", "adaptive_time_stepping: \"no\"",
     ["'physics.adaptive_time_stepping'", "true or false"]),
    ("sim", "friction: ", "frictoin: ", ["'frictoin'", "did you mean 'friction'"]),
    ("sim", "friction: ", "friction: -", ["'physics.friction' must be >= 0"]),
    ("table_world", "squeeze_rad: 0.5", "squeeze_rad: tight", ["'grip.squeeze_rad'", "a number"]),
    ("table_world", "table_blocks_fingers: true", "table_blocks_fingers: \"no\"", ["'grip.table_blocks_fingers'"]),
    ("table_world", "count: 4 ", "count: 2.5 ", ["'trials.count'", "an integer"]),
])
def test_the_simulators_configs_are_read_by_the_same_strict_reader(kind, tmp_path, old, new, words):
    assert old in SHIPPED[kind]
    _refused(kind, _write(tmp_path, SHIPPED[kind].replace(old, new, 1)), *words)


def test_a_table_world_setting_added_later_may_be_left_out_and_keeps_the_old_behaviour(tmp_path):
    text = "\n".join(line for line in SHIPPED["table_world"].splitlines() if "table_blocks_fingers" not in line)
    assert TableWorldConfig.load(_write(tmp_path, text)).grip.table_blocks_fingers is False


def test_yaml_1_1_exponents_without_a_point_are_explained(tmp_path):
    message = _refused("training", _write(tmp_path, "learning_rate: 1e-3\n"), "'learning_rate'")
    assert "1.0e-3" in message  # PyYAML reads 1e-3 as the text '1e-3'


@pytest.mark.parametrize("kind, text, words", [
    ("planner", "optimizer:\n  max_iters: 3\n", ["'max_iters'", "optimizer", "did you mean 'max_iter'"]),
    ("planner", "optimiser:\n  max_iter: 3\n", ["'optimiser'", "did you mean 'optimizer'"]),
    ("dataset", "grasps_per_object: 2\nimages_per_object: 3\nresolutoin: 64\n", ["'resolutoin'"]),
    ("training", "epoch: 3\n", ["'epoch'", "did you mean 'epochs'"]),
    ("dataset", "grasps_per_object: 2\n", ["missing", "'images_per_object'"]),
    ("planner", "barrier:\n", ["section 'barrier' is empty"]),
    ("planner", "barrier: 0.05\n", ["section 'barrier'", "mapping"]),
    ("planner", "optimizer:\n  max_iter: 3\n  max_iter: 4\n", ["duplicate key 'max_iter'", "line 3"]),
])
def test_unknown_missing_duplicated_keys_and_empty_sections_are_refused(kind, tmp_path, text, words):
    _refused(kind, _write(tmp_path, text), *words)


@pytest.mark.parametrize("kind, text, words", [
    ("planner", "optimizer:\n  max_iter: 0\n", ["optimizer.max_iter must be >= 1"]),
    ("planner", "optimizer:\n  method: Newton\n", ["optimizer.method"]),
    ("training", "augment_views: 3\n", ["augment_views"]),
    ("dataset", "grasps_per_object: 0\nimages_per_object: 3\n", ["grasps_per_object"]),
])
def test_range_checks_come_back_with_the_file_in_front(kind, tmp_path, text, words):
    _refused(kind, _write(tmp_path, text), *words)


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_a_missing_file_is_a_config_error_naming_it(kind, tmp_path):
    _refused(kind, tmp_path / "nowhere.yaml", "not found")


def test_an_explicit_empty_mapping_means_every_default(tmp_path):
    path = _write(tmp_path, "{}\n")
    assert load_planner_config(path) == PlannerConfig()
    assert TrainConfig.from_yaml(path) == TrainConfig()


def test_an_integer_where_a_number_is_wanted_becomes_a_float(tmp_path):
    config = load_planner_config(_write(tmp_path, "barrier:\n  alpha: 1\n"))
    assert config.barrier.alpha == 1.0 and isinstance(config.barrier.alpha, float)


def test_a_missing_section_keeps_its_defaults(tmp_path):
    config = load_planner_config(_write(tmp_path, "multistart:\n  n_starts: 2\n"))
    assert config.multistart.n_starts == 2 and config.optimizer == PlannerConfig().optimizer


def test_the_shipped_planner_config_is_the_default_and_an_empty_path_means_it():
    assert load_planner_config() == PlannerConfig() == load_planner_config("")


CONFIG_DIR = resource_path("config", "planner.yaml").parent


@pytest.mark.parametrize("path", sorted(glob.glob(str(CONFIG_DIR / "train_*.yaml"))))
def test_every_shipped_training_config_loads(path):
    assert TrainConfig.from_yaml(path).epochs >= 1


@pytest.mark.parametrize("path", sorted(glob.glob(str(CONFIG_DIR / "dataset_*.yaml"))))
def test_every_shipped_dataset_config_loads(path):
    assert DatasetConfig.load(path).grasps_per_object >= 1


def test_command_line_overrides_win_over_the_file_and_are_checked_too(tmp_path):
    path = _write(tmp_path, "epochs: 3\n")
    assert TrainConfig.from_yaml(path, epochs=5, seed=None).epochs == 5
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig.from_yaml(path, epochs=0)


def test_dataset_sim_config_is_resolved_against_the_yaml_folder(tmp_path):
    config = DatasetConfig.load(_write(tmp_path, "grasps_per_object: 2\nimages_per_object: 3\nsim_config: s.yaml\n"))
    assert config.sim_config == str((tmp_path / "s.yaml").resolve())


def test_the_builder_handles_required_fields_and_nested_sections():
    @dataclasses.dataclass(frozen=True)
    class Inner:
        size: int

    @dataclasses.dataclass(frozen=True)
    class Outer:
        inner: Inner
        name: str = "x"

    assert build(Outer, {"inner": {"size": 3}}) == Outer(Inner(3))
    with pytest.raises(ConfigError, match="missing key 'inner'"):
        build(Outer, {"name": "y"}, source="f.yaml")
    with pytest.raises(ConfigError, match="section 'inner' is empty; give its keys$"):
        build(Outer, {"inner": None}, source="f.yaml")
