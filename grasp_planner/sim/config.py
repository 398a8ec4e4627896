"""SimConfig: every physical parameter of the labelling, read from one YAML file (config/sim.yaml)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

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


_SECTIONS = {
    "physics": PhysicsConfig, "object": ObjectConfig, "hand": HandConfig, "closing": ClosingConfig,
    "shake": ShakeConfig, "hand_box": HandBoxConfig, "early_exit": EarlyExitConfig, "qualify": QualifyConfig,
}


def _build_section(name: str, cls, values) -> object:
    """One section dataclass from a mapping; unknown, missing or mistyped keys raise ValueError.

    A key with a default in the dataclass may be missing: such keys were added after stores were
    made, and their default is the behaviour those stores were labelled with.
    """
    if not isinstance(values, dict):
        raise ValueError(f"sim config section '{name}' must be a mapping, got {type(values).__name__}")
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    values = {**defaults, **values}
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    missing = sorted(set(fields) - set(values))
    if unknown or missing:
        raise ValueError(f"sim config section '{name}': unknown keys {unknown}, missing keys {missing}")
    converted = {}
    for key, type_name in fields.items():
        value = values[key]
        kind = {"float": float, "int": int, "bool": bool, "str": str}[type_name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ValueError(f"sim config '{name}.{key}' must be {type_name}, got {value!r}")
        if kind in (float, int) and value < 0 and name != "hand_box":
            raise ValueError(f"sim config '{name}.{key}' must be >= 0, got {value!r}")
        converted[key] = value
    return cls(**converted)


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
    def from_dict(cls, data: dict) -> "SimConfig":
        """Build from a nested mapping (the YAML's structure); unknown or missing keys raise ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"sim config must be a mapping of sections, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_SECTIONS))
        missing = sorted(set(_SECTIONS) - set(data))
        if unknown or missing:
            raise ValueError(f"sim config: unknown sections {unknown}, missing sections {missing}")
        config = cls(**{name: _build_section(name, section, data[name]) for name, section in _SECTIONS.items()})
        if config.physics.sim_dt_s <= 0 or config.physics.control_dt_s < config.physics.sim_dt_s:
            raise ValueError("sim config: need 0 < physics.sim_dt_s <= physics.control_dt_s, got "
                             f"{config.physics.sim_dt_s} and {config.physics.control_dt_s}")
        if config.qualify.slide_step_m <= 0:
            raise ValueError(f"sim config: qualify.slide_step_m must be > 0, got {config.qualify.slide_step_m}")
        return config

    @classmethod
    def load(cls, path=None) -> "SimConfig":
        """Read a sim config YAML (default: the package's config/sim.yaml).

        Parameters
        ----------
        path : str or Path, optional
            YAML file; None reads the shipped ``config/sim.yaml`` (grasp_planner.resources).

        Returns
        -------
        SimConfig
        """
        path = Path(path) if path is not None else resource_path("config", "sim.yaml")
        if not path.is_file():
            raise FileNotFoundError(f"sim config file not found: {path}")
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        try:
            return cls.from_dict(data)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None

    def to_dict(self) -> dict:
        """Nested plain dict (JSON-able), e.g. for the dataset's ``config`` attribute."""
        return dataclasses.asdict(self)

    def replace(self, **sections) -> "SimConfig":
        """A copy with whole sections replaced, e.g. ``replace(early_exit=...)``."""
        return dataclasses.replace(self, **sections)
