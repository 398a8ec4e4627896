"""TableWorldConfig: the table-top world's settings, read from config/table_world.yaml with the sim's strict rules."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from grasp_planner.config_schema import ConfigError, build, read_yaml
from grasp_planner.resources import resource_path
from grasp_planner.sim.config import check_non_negative


@dataclass(frozen=True)
class TableConfig:
    half_size_m: float
    thickness_m: float
    friction: float
    padding_m: float
    gravity_m_s2: float


#: how the fingers close and hold in the table world (config/table_world.yaml ``grip.finger_model``)
FINGER_MODELS = ("staged", "servo")


@dataclass(frozen=True)
class GripConfig:
    """How the hand closes and holds with gravity on. Keys added later default to what earlier stores used."""

    squeeze_rad: float
    table_blocks_fingers: bool = False
    qualify_past_table: bool = False   # added later: stores without the key qualified poses the earlier way
    finger_model: str = "staged"       # staged: the floating world's rule; servo: speed- and force-limited joints
    servo_lead_rad: float = 0.15       # servo: a joint's target leads its angle by at most this (torque kp x lead)
    sim_dt_s: float = 0.002            # physics step and finger gains of the table world (sim.yaml's until servo)
    pid_kp: float = 2.0
    pid_kd: float = 0.002


@dataclass(frozen=True)
class PlacementConfig:
    drop_gap_m: float
    settle_s: float
    still_speed_m_s: float
    still_window_s: float
    position_range_m: float
    neighbour_probability: float
    neighbour_gap_min_m: float
    neighbour_gap_max_m: float


@dataclass(frozen=True)
class LiftConfig:
    height_m: float
    speed_m_s: float
    settle_s: float
    lifted_fraction: float
    below_table_m: float
    neighbour_moved_m: float


@dataclass(frozen=True)
class TrialsConfig:
    count: int
    position_noise_m: float
    angle_noise_deg: float
    early_stop_failed: int


@dataclass(frozen=True)
class TableWorldConfig:
    """Every table-world setting; config/table_world.yaml says why each value was chosen."""

    table: TableConfig
    grip: GripConfig
    placement: PlacementConfig
    lift: LiftConfig
    trials: TrialsConfig

    @classmethod
    def from_dict(cls, data, source: str = "table world config") -> "TableWorldConfig":
        """Build from the YAML's nested mapping with the one strict reader (config_schema)."""
        config = build(cls, data, source)
        check_non_negative(config, source)
        if config.trials.count < 1 or config.lift.speed_m_s <= 0:
            raise ConfigError(f"{source}: need trials.count >= 1 and lift.speed_m_s > 0")
        if config.grip.finger_model not in FINGER_MODELS:
            raise ConfigError(f"{source}: 'grip.finger_model' must be one of {', '.join(FINGER_MODELS)}, "
                              f"got {config.grip.finger_model!r}")
        if config.grip.sim_dt_s <= 0:
            raise ConfigError(f"{source}: 'grip.sim_dt_s' must be > 0, got {config.grip.sim_dt_s!r}")
        return config

    @classmethod
    def load(cls, path=None) -> "TableWorldConfig":
        """Read a YAML file (default: the shipped config/table_world.yaml); errors name the file and key."""
        path = Path(path) if path is not None else resource_path("config", "table_world.yaml")
        return cls.from_dict(read_yaml(path, "table world"), source=str(path))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **sections) -> "TableWorldConfig":
        return dataclasses.replace(self, **sections)


def config_hash(*configs: dict) -> str:
    """sha256 of configs as canonical JSON: two runs with the same hash labelled with the same physics."""
    text = json.dumps(list(configs), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
