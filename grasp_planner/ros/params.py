"""The node's parameters, declared once: name, default, description, range, and whether it may change live.

``PARAMETERS`` is the single table; ``declare_params(node)`` declares all of it and returns the
validated, frozen ``NodeParams``; ``params_from_values(dict)`` is the same validation as plain code.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from grasp_planner.planning.config import PlannerConfig
from grasp_planner.ros.robotiq import MODE_REGISTER, STAGES

#: the model card looked for when ``model_path`` is empty
DEFAULT_MODEL_CARD = "grasp_cnn.json"
GRIPPER_FORMATS = ("registers", "joint_trajectory", "both", "none")


@dataclass(frozen=True)
class Spec:
    """One parameter: default, description, numeric range or choices, and whether it is live."""

    default: object
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    dynamic: bool = False


PARAMETERS: dict[str, Spec] = {
    "model_path": Spec("", "model card (*.json beside the ONNX files); empty: share/grasp_planner/models/"
                           "grasp_cnn.json, or models/ of a source checkout"),
    "planner_config": Spec("", "planner YAML (config/planner.yaml layout); empty: the shipped one"),
    "alpha": Spec(0.05, "barrier weight alpha in alpha/(eps+d)", 1e-6, 10.0, dynamic=True),
    "eps": Spec(1e-4, "barrier offset eps (m) in alpha/(eps+d)", 1e-7, 0.1, dynamic=True),
    "starts": Spec(4, "optimizer starts per plan", 1, 64, dynamic=True),
    "max_iter": Spec(40, "BFGS iterations per start", 1, 1000, dynamic=True),
    "time_budget_s": Spec(2.0, "default wall-clock budget of one plan, s", 0.01, 60.0, dynamic=True),
    "n_candidates": Spec(5, "default number of ranked grasps returned", 1, 100, dynamic=True),
    "hand_mode": Spec("basic", "Robotiq grasping mode", choices=tuple(MODE_REGISTER), dynamic=True),
    "output_frame": Spec("", "frame of published grasps; empty: the depth image's frame", dynamic=True),
    "tf_timeout_s": Spec(0.2, "how long to wait for a transform, s", 0.0, 10.0, dynamic=True),
    "max_image_age_s": Spec(0.0, "refuse images older than this, s; 0: any age", 0.0, 3600.0, dynamic=True),
    "approach_distance_m": Spec(0.10, "pre-grasp approach distance along the palm normal, m", 0.0, 1.0,
                                dynamic=True),
    "retreat_distance_m": Spec(0.10, "post-grasp retreat distance, m", 0.0, 1.0, dynamic=True),
    "depth_topic": Spec("depth/image", "depth image topic (32FC1 m or 16UC1 mm)"),
    "camera_info_topic": Spec("depth/camera_info", "camera info topic of the depth image"),
    "initial_pose_topic": Spec("initial_pose", "initial hand pose topic; each message triggers a plan"),
    "gripper_topic": Spec("gripper_command", "topic of the Robotiq command"),
    "gripper_format": Spec("registers", "Robotiq3FCommand registers, a JointTrajectory of the finger "
                                        "joints, both, or none", choices=GRIPPER_FORMATS),
    "gripper_stage": Spec("pre_grasp", "command the open hand in the mode (pre_grasp) or closing (grasp)",
                          choices=STAGES, dynamic=True),
    "gripper_speed": Spec(0.5, "finger speed, 0..1 of the maximum", 0.0, 1.0, dynamic=True),
    "gripper_force": Spec(0.5, "finger force, 0..1 of the maximum", 0.0, 1.0, dynamic=True),
}


@dataclass(frozen=True)
class NodeParams:
    """Validated parameter values; field names equal the parameter names."""

    model_path: str
    planner_config: str
    alpha: float
    eps: float
    starts: int
    max_iter: int
    time_budget_s: float
    n_candidates: int
    hand_mode: str
    output_frame: str
    tf_timeout_s: float
    max_image_age_s: float
    approach_distance_m: float
    retreat_distance_m: float
    depth_topic: str
    camera_info_topic: str
    initial_pose_topic: str
    gripper_topic: str
    gripper_format: str
    gripper_stage: str
    gripper_speed: float
    gripper_force: float

    def planner_config_object(self) -> PlannerConfig:
        """The planner settings: the YAML file with this node's overrides applied."""
        base = PlannerConfig.load(self.planner_config or None)
        return base.replace(barrier={"alpha": self.alpha, "eps_m": self.eps},
                            multistart={"n_starts": self.starts},
                            optimizer={"max_iter": self.max_iter, "time_budget_s": self.time_budget_s})


def check_value(name: str, value):
    """The value as its parameter's type, or ValueError naming the parameter and what it accepts."""
    if name not in PARAMETERS:
        raise ValueError(f"unknown parameter {name!r}; known: {sorted(PARAMETERS)}")
    spec = PARAMETERS[name]
    kind = type(spec.default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) != isinstance(spec.default, bool):
        raise ValueError(f"parameter {name} must be a {kind.__name__}, got {value!r}")
    if spec.low is not None and not spec.low <= value <= spec.high:
        raise ValueError(f"parameter {name} must be in [{spec.low}, {spec.high}], got {value}")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"parameter {name} must be one of {list(spec.choices)}, got {value!r}")
    return value


def resolve_model_path(model_path: str, share_dir: str | None) -> Path:
    """The model card to load: the given path, else the installed share dir, else the checkout's models/."""
    if model_path:
        candidates = [Path(model_path).expanduser()]
    else:
        candidates = ([Path(share_dir) / "models" / DEFAULT_MODEL_CARD] if share_dir else []) + \
                     [Path(__file__).resolve().parents[2] / "models" / DEFAULT_MODEL_CARD]
    for path in candidates:
        if path.is_file():
            return path
    raise ValueError(f"model file not found: looked for {', '.join(str(p) for p in candidates)}; "
                     f"set the model_path parameter to a model card (*.json) or train and export a model")


def params_from_values(values: dict) -> NodeParams:
    """Validate every value (missing ones take their defaults) and build ``NodeParams``."""
    checked = {name: check_value(name, values.get(name, spec.default)) for name, spec in PARAMETERS.items()}
    for name in set(values) - set(PARAMETERS):
        check_value(name, values[name])
    return NodeParams(**checked)


def updated(params: NodeParams, changes: dict) -> NodeParams:
    """``params`` with live changes applied; ValueError for a read-only or invalid one."""
    for name, value in changes.items():
        if name in PARAMETERS and not PARAMETERS[name].dynamic:
            raise ValueError(f"parameter {name} is read-only at run time; restart the node to change it")
    return params_from_values({**dataclasses.asdict(params), **changes})


def declare_params(node) -> NodeParams:
    """Declare every parameter on ``node`` with its description and range; return them validated."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    values = {}
    for name, spec in PARAMETERS.items():
        desc = ParameterDescriptor(description=spec.description, read_only=not spec.dynamic)
        if spec.choices is not None:
            desc.additional_constraints = "one of: " + ", ".join(spec.choices)
        if isinstance(spec.default, float) and spec.low is not None:
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high))]
        elif isinstance(spec.default, int) and spec.low is not None:
            desc.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
        try:
            values[name] = node.declare_parameter(name, spec.default, desc).value
        except Exception as err:  # rclpy's InvalidParameterValue/TypeException: restate them plainly
            raise ValueError(f"parameter {name}: {err}") from None
    return params_from_values(values)
