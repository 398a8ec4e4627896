"""SimConfig: every physical parameter of the labelling, read from one YAML file (config/sim.yaml)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_planner.config_schema import ConfigError, build, read_yaml
from grasp_planner.resources import resource_path


@dataclass(frozen=True)
class PhysicsConfig:
    sim_dt_s: float
    control_dt_s: float
    adaptive_time_stepping: bool
    max_contacts: int
    padding_m: float
    friction: float
    restitution: float


@dataclass(frozen=True)
class ObjectConfig:
    density_kg_m3: float
    min_mass_kg: float
    max_mass_kg: float


@dataclass(frozen=True)
class HandConfig:
    open_mode: str
    pid_kp: float
    pid_ki: float
    pid_kd: float
    effort_nm: float


@dataclass(frozen=True)
class ClosingConfig:
    speed_rad_s: float
    squeeze_rad: float
    duration_s: float
    still_window_s: float
    still_speed_m_s: float
    limit_margin_rad: float


@dataclass(frozen=True)
class ShakeConfig:
    count: int
    duration_s: float
    amplitude_m: float
    settle_s: float


@dataclass(frozen=True)
class HandBoxConfig:
    half_x_m: float
    half_y_m: float
    z_min_m: float
    z_max_m: float
    escape_distance_m: float

    def contains(self, point_hand) -> bool:
        """True when a point (hand frame, m) lies inside the box."""
        x, y, z = (float(v) for v in point_hand)
        return abs(x) < self.half_x_m and abs(y) < self.half_y_m and self.z_min_m < z < self.z_max_m

    def holds(self, com_hand, reference_hand) -> bool:
        """True while the object is still in the hand (both points: COM in the hand frame, m).

        A COM that started (``reference_hand``) inside the box must stay inside it. One that started
        outside (a long object held by one end) must stay within ``escape_distance_m`` of its start.
        """
        if self.contains(reference_hand):
            return self.contains(com_hand)
        return float(np.linalg.norm(np.subtract(com_hand, reference_hand))) < self.escape_distance_m


@dataclass(frozen=True)
class EarlyExitConfig:
    enabled: bool
    min_closing_s: float
    free_flight_speed_m_s: float


@dataclass(frozen=True)
class QualifyConfig:
    slide_step_m: float
    clearance_m: float
    grasp_centre_z_m: float
    lateral_offset_fraction: float
    max_slides_per_pose: int
    poses_per_slide: int


def check_non_negative(config, source: str, skip: tuple = ()) -> None:
    """Physical quantities of the labelling are >= 0 (offsets in ``skip`` sections may be signed)."""
    for section in dataclasses.fields(config):
        if section.name in skip:
            continue
        for f in dataclasses.fields(getattr(config, section.name)):
            value = getattr(getattr(config, section.name), f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{source}: '{section.name}.{f.name}' must be >= 0, got {value!r}")


@dataclass(frozen=True)
class SimConfig:
    """All labelling parameters; see config/sim.yaml for each value and why it was chosen."""

    physics: PhysicsConfig
    object: ObjectConfig
    hand: HandConfig
    closing: ClosingConfig
    shake: ShakeConfig
    hand_box: HandBoxConfig
    early_exit: EarlyExitConfig
    qualify: QualifyConfig

    @classmethod
    def from_dict(cls, data: dict, source: str = "sim config") -> "SimConfig":
        """Build from a nested mapping (the YAML's structure) with the project's one strict reader
        (config_schema): unknown, missing or mistyped keys raise a ConfigError naming ``source``.

        A key with a default may be missing: such keys were added after stores were labelled, and
        their default is the behaviour those stores were labelled with.
        """
        config = build(cls, data, source)
        check_non_negative(config, source, skip=("hand_box",))
        if config.physics.sim_dt_s <= 0 or config.physics.control_dt_s < config.physics.sim_dt_s:
            raise ConfigError(f"{source}: need 0 < physics.sim_dt_s <= physics.control_dt_s, got "
                              f"{config.physics.sim_dt_s} and {config.physics.control_dt_s}")
        if config.qualify.slide_step_m <= 0:
            raise ConfigError(f"{source}: qualify.slide_step_m must be > 0, got {config.qualify.slide_step_m}")
        return config

    @classmethod
    def load(cls, path=None) -> "SimConfig":
        """Read a sim config YAML (default: the package's config/sim.yaml); errors name the file and key."""
        path = Path(path) if path is not None else resource_path("config", "sim.yaml")
        return cls.from_dict(read_yaml(path, "sim"), source=str(path))

    def to_dict(self) -> dict:
        """Nested plain dict (JSON-able), e.g. for the dataset's ``config`` attribute."""
        return dataclasses.asdict(self)

    def replace(self, **sections) -> "SimConfig":
        """A copy with whole sections replaced, e.g. ``replace(early_exit=...)``."""
        return dataclasses.replace(self, **sections)
