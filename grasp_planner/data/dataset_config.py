"""The dataset generation config (config/dataset_*.yaml): counts per object and the synthesis camera."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from grasp_planner import config_schema
from grasp_planner.resources import resource_path


@dataclass(frozen=True)
class DatasetConfig:
    """How much to generate per object and how to render it; see config/dataset_standard.yaml for why.

    grasps_per_object : qualified poses requested from the sampler and labelled (fewer if it finds fewer).
    images_per_object : depth images at random orientations (the paper: 1,000).
    resolution : image width = height, pixels (the paper: 128).
    view_distance_m, view_margin : ``camera.fit_top_down_view`` camera height (m) and image margin.
    mesh_scale : factor applied to meshes loaded from a directory (the paper: 0.3 on PSB), or ``"auto"``:
        millimetres for a file whose largest extent exceeds 2 units, else metres (``mesh_loader.auto_scale``).
    max_faces : triangle budget for loaded meshes (decimated above it).
    sim_config : path of the sim YAML, relative to the dataset YAML's folder; null = config/sim.yaml.
    """

    grasps_per_object: int
    images_per_object: int
    resolution: int = 128
    view_distance_m: float = 0.5
    view_margin: float = 0.1
    mesh_scale: float | str = 1.0
    max_faces: int = 2000
    sim_config: str | None = None

    def __post_init__(self):
        for name in ("grasps_per_object", "images_per_object", "resolution", "max_faces"):
            value = getattr(self, name)
            minimum = 1 if name != "images_per_object" else 0
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"dataset config '{name}' must be a positive integer, got {value!r}")
        for name in ("view_distance_m", "mesh_scale"):
            value = getattr(self, name)
            if name == "mesh_scale" and value == "auto":
                continue
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"dataset config '{name}' must be a positive number, got {value!r}")
        if not 0 <= self.view_margin < 1:
            raise ValueError(f"dataset config 'view_margin' must be in [0, 1), got {self.view_margin!r}")

    @classmethod
    def load(cls, path=None) -> "DatasetConfig":
        """Read a dataset YAML (default config/dataset_standard.yaml) with the strict config reader.

        Raises ConfigError (a ValueError) naming the file and key: malformed, empty, unknown or
        missing keys, wrong types. ``sim_config`` comes back resolved against the YAML's folder.
        """
        path = Path(path) if path is not None else resource_path("config", "dataset_standard.yaml")
        config = config_schema.load(cls, path, "dataset")
        if config.sim_config:
            config = dataclasses.replace(config, sim_config=str((path.parent / config.sim_config).resolve()))
        return config

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
