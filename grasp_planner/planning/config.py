"""Planner settings: one frozen dataclass per YAML section, read once, unknown keys an error."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from grasp_planner import config_schema
from grasp_planner.config_schema import ConfigError  # noqa: F401 (re-exported: callers catch it from here)
from grasp_planner.resources import resource_path

#: the settings shipped with the package (config/planner.yaml at the repository root)


@dataclass(frozen=True)
class OptimizerConfig:
    """SciPy quasi-Newton on -logit + barrier in scaled pose coordinates."""

    method: str = "BFGS"
    max_iter: int = 40
    time_budget_s: float | None = 2.0
    position_scale_m: float = 0.01
    rotation_scale_rad: float = 0.1
    fd_step: float = 0.05
    gtol: float = 1e-3
    first_step: float = 1.0
    stall_evals: int = 4
    stall_tol: float = 0.02
    restarts: int = 1

    def __post_init__(self):
        if self.method not in ("BFGS", "L-BFGS-B"):
            raise ValueError(f"optimizer.method must be BFGS or L-BFGS-B, got {self.method!r}")
        if self.max_iter < 1:
            raise ValueError(f"optimizer.max_iter must be >= 1, got {self.max_iter}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise ValueError(f"optimizer.time_budget_s must be > 0 or null, got {self.time_budget_s}")
        if self.restarts < 0:
            raise ValueError(f"optimizer.restarts must be >= 0, got {self.restarts}")
        if self.stall_evals < 1:
            raise ValueError(f"optimizer.stall_evals must be >= 1, got {self.stall_evals}")
        if not self.stall_tol >= 0:
            raise ValueError(f"optimizer.stall_tol must be >= 0, got {self.stall_tol}")
        for name in ("position_scale_m", "rotation_scale_rad", "fd_step", "gtol", "first_step"):
            if not getattr(self, name) > 0:
                raise ValueError(f"optimizer.{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class BarrierConfig:
    """alpha / (eps + d) - alpha / (eps + cutoff) for d < cutoff, else 0 (d in metres)."""

    enabled: bool = True
    alpha: float = 0.05
    eps_m: float = 1e-4
    cutoff_m: float = 0.01

    def __post_init__(self):
        for name in ("alpha", "eps_m", "cutoff_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"barrier.{name} must be > 0, got {getattr(self, name)}")

    @property
    def contact_cost(self) -> float:
        """The penalty at d = 0 (the paper sets it to about 500)."""
        return self.alpha / self.eps_m - self.alpha / (self.eps_m + self.cutoff_m)


@dataclass(frozen=True)
class MultiStartConfig:
    """How starts are spread and how distinct grasps are told apart."""

    n_starts: int = 4
    position_sigma_m: float = 0.02
    rotation_sigma_rad: float = 0.3
    seed_standoff_m: float = 0.04
    min_separation_m: float = 0.01
    min_separation_rad: float = 0.3
    seed: int = 0
    #: no further start once the distinct clear grasps asked for all reach this probability (None: run all)
    stop_probability: float | None = 0.9

    def __post_init__(self):
        if self.n_starts < 1:
            raise ValueError(f"multistart.n_starts must be >= 1, got {self.n_starts}")
        if self.stop_probability is not None and not 0.0 <= self.stop_probability <= 1.0:
            raise ValueError(f"multistart.stop_probability must be in [0, 1] or null, got {self.stop_probability}")
        for name in ("position_sigma_m", "rotation_sigma_rad", "seed_standoff_m",
                     "min_separation_m", "min_separation_rad"):
            if getattr(self, name) < 0:
                raise ValueError(f"multistart.{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class FacadeConfig:
    """What the facade does around the optimizer."""

    view: str = "real"
    min_probability: float = 0.5
    #: a result whose open hand is farther than this from the object grasps nothing (m)
    max_object_distance_m: float = 0.10

    def __post_init__(self):
        if not self.max_object_distance_m > 0:
            raise ValueError(f"planner.max_object_distance_m must be > 0, got {self.max_object_distance_m}")
        if self.view not in ("direct", "real"):
            raise ValueError(f"planner.view must be real (camera images) or direct (network views), "
                             f"got {self.view!r}")
        if not 0.0 <= self.min_probability <= 1.0:
            raise ValueError(f"planner.min_probability must be in [0, 1], got {self.min_probability}")


@dataclass(frozen=True)
class PlannerConfig:
    """All planner settings; ``PlannerConfig()`` equals the shipped config/planner.yaml."""

    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    barrier: BarrierConfig = field(default_factory=BarrierConfig)
    multistart: MultiStartConfig = field(default_factory=MultiStartConfig)
    planner: FacadeConfig = field(default_factory=FacadeConfig)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PlannerConfig":
        """Read a YAML file (default: the shipped one); see :func:`load_planner_config`."""
        return load_planner_config(path)

    @classmethod
    def from_dict(cls, data: dict, source: str = "config") -> "PlannerConfig":
        """Build from the YAML's mapping; a missing section keeps its defaults, anything else wrong is a ConfigError."""
        return config_schema.build(cls, data, source)

    def replace(self, **sections) -> "PlannerConfig":
        """A copy with some sections' fields changed: ``cfg.replace(barrier={"enabled": False})``."""
        changes = {name: dataclasses.replace(getattr(self, name), **fields)
                   for name, fields in sections.items()}
        return dataclasses.replace(self, **changes)


def load_planner_config(path: str | Path | None = None) -> PlannerConfig:
    """The planner settings in a YAML file (``None`` or ``""``: the shipped config/planner.yaml).

    A missing section keeps its defaults; a malformed or empty file, a document that is not a
    mapping, an unknown key or a value of the wrong type raises :class:`ConfigError` (a ValueError)
    whose text is one line naming the file and the key. The CLIs and the ROS node's
    ``planner_config`` parameter read their file with this.
    """
    path = Path(path) if path else resource_path("config", "planner.yaml")
    return config_schema.load(PlannerConfig, path, "planner")
