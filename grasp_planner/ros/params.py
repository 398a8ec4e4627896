"""The node's parameters, declared once: name, default, description, range, and whether it may change live.

``PARAMETERS`` is the single table; ``declare_params(node)`` declares all of it and returns the
validated, frozen ``NodeParams``; ``params_from_values(dict)`` is the same validation as plain code.
Dotted parameter names (``approach_cone.max_angle_deg``) become underscored fields
(``approach_cone_max_angle_deg``); ``values_of(params)`` gives the names back. Array parameters
(``size`` set) are fixed-length float arrays, stored as tuples. The planner parameters (alpha, eps,
starts, max_iter, time_budget_s) have no default: unset, the planner YAML's value holds; set, they
override it (planning/request.planner_config). ``check_known`` refuses names the table lacks.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grasp_planner.hand.posture import MODE_REGISTER, STAGES, tcp_offset_from_xyzrpy
from grasp_planner.planning.config import PlannerConfig, load_planner_config
from grasp_planner.planning.constraints import FRAMES, constraints_from_params
from grasp_planner.planning.request import PLANNER_OVERRIDES, planner_config
from grasp_planner.pose import Pose
from grasp_planner.resources import resource_candidates

#: the model card looked for when ``model_path`` is empty
DEFAULT_MODEL_CARD = "grasp_cnn.json"
GRIPPER_FORMATS = ("registers", "joint_trajectory", "both", "gripper_action", "none")
#: which plans command the gripper: none, those an initial_pose message triggered, or every one
ACTUATE = ("never", "topic", "always")
#: parameters every rclpy node has (not ours, never refused)
RCLPY_PARAMETERS = ("use_sim_time", "start_type_description_service")
#: parameters that feed planning.constraints.constraints_from_params (same names)
CONSTRAINT_PARAMS = ("approach_cone.enabled", "approach_cone.direction", "approach_cone.max_angle_deg",
                     "approach_cone.frame", "workspace.enabled", "workspace.lo", "workspace.hi", "workspace.frame",
                     "max_deviation.translation_m", "max_deviation.angle_deg")


@dataclass(frozen=True)
class Spec:
    """One parameter: default, description, numeric range or choices, and whether it is live."""

    default: object
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    dynamic: bool = False
    size: int | None = None      # fixed length of a float-array parameter
    kind: type | None = None     # the type of a parameter whose default is None (unset: the planner YAML's)


PARAMETERS: dict[str, Spec] = {
    "model_path": Spec("", "model card (*.json beside the ONNX files); empty: share/grasp_planner/models/"
                           "grasp_cnn.json, or models/ of a source checkout"),
    "planner_config": Spec("", "planner YAML (config/planner.yaml layout); empty: the shipped one"),
    "alpha": Spec(None, "barrier weight alpha in alpha/(eps+d); unset: planner YAML barrier.alpha", 1e-6, 10.0,
                  dynamic=True, kind=float),
    "eps": Spec(None, "barrier offset eps (m) in alpha/(eps+d); unset: planner YAML barrier.eps_m", 1e-7, 0.1,
                dynamic=True, kind=float),
    "starts": Spec(None, "optimizer starts per plan; unset: planner YAML multistart.n_starts", 1, 64,
                   dynamic=True, kind=int),
    "max_iter": Spec(None, "BFGS iterations per start; unset: planner YAML optimizer.max_iter", 1, 1000,
                     dynamic=True, kind=int),
    "time_budget_s": Spec(None, "default wall-clock budget of one plan, s; unset: planner YAML "
                                "optimizer.time_budget_s", 0.01, 60.0, dynamic=True, kind=float),
    "n_candidates": Spec(1, "default number of distinct ranked grasps returned (each more costs about one "
                            "optimizer start: the starts stop once that many reach multistart.stop_probability)",
                         1, 100, dynamic=True),
    "hand_mode": Spec("basic", "Robotiq grasping mode", choices=tuple(MODE_REGISTER), dynamic=True),
    "output_frame": Spec("", "frame of published grasps; empty: the depth image's frame", dynamic=True),
    "tf_timeout_s": Spec(0.2, "how long to wait for a transform, s", 0.0, 10.0, dynamic=True),
    "max_image_age_s": Spec(0.0, "refuse images older than this, s; 0: any age", 0.0, 3600.0, dynamic=True),
    "approach_distance_m": Spec(0.10, "pre-grasp approach distance along the palm normal, m", 0.0, 1.0,
                                dynamic=True),
    "retreat_distance_m": Spec(0.10, "post-grasp retreat distance, m", 0.0, 1.0, dynamic=True),
    "tcp_offset": Spec((0.0,) * 6, "robot tool frame in the hand (TCP) frame, [x, y, z, roll, pitch, yaw] m/rad: "
                                   "published poses are the tool frame's; an initial pose is read as one",
                       -10.0, 10.0, dynamic=True, size=6),
    "approach_cone.enabled": Spec(False, "keep the approach axis (hand +z) inside a cone", dynamic=True),
    "approach_cone.direction": Spec((0.0, 0.0, 1.0), "cone axis [x, y, z] in approach_cone.frame (non-zero; "
                                                     "(0, 0, 1) in the camera frame = top-down for a camera "
                                                     "looking down)", -1e3, 1e3, dynamic=True, size=3),
    "approach_cone.max_angle_deg": Spec(30.0, "cone half-angle, degrees", 0.0, 180.0, dynamic=True),
    "approach_cone.frame": Spec("camera", "frame of the cone axis: the depth camera's or output_frame",
                                choices=FRAMES, dynamic=True),
    "workspace.enabled": Spec(False, "keep the TCP inside the box workspace.lo .. workspace.hi", dynamic=True),
    "workspace.lo": Spec((-1.0, -1.0, -1.0), "box lower corner [x, y, z] in workspace.frame, m (<= workspace.hi)",
                         -1e3, 1e3, dynamic=True, size=3),
    "workspace.hi": Spec((1.0, 1.0, 1.0), "box upper corner [x, y, z] in workspace.frame, m",
                         -1e3, 1e3, dynamic=True, size=3),
    "workspace.frame": Spec("output", "frame of the box: output_frame or the depth camera's", choices=FRAMES,
                            dynamic=True),
    "max_deviation.translation_m": Spec(0.0, "how far the TCP may move from the initial pose, m; 0: unlimited",
                                        0.0, 10.0, dynamic=True),
    "max_deviation.angle_deg": Spec(0.0, "how far the hand may turn from the initial pose, degrees; 0: unlimited",
                                    0.0, 180.0, dynamic=True),
    "depth_topic": Spec("depth/image", "depth image topic (32FC1 m or 16UC1 mm)"),
    "camera_info_topic": Spec("depth/camera_info", "camera info topic of the depth image"),
    "initial_pose_topic": Spec("initial_pose", "initial hand pose topic; each message triggers a plan"),
    "gripper_topic": Spec("gripper_command", "topic of the Robotiq command"),
    "gripper_format": Spec("registers", "Robotiq3FCommand registers, a JointTrajectory of the actuated "
                                        "joints, both, a control_msgs GripperCommand action goal "
                                        "(gripper_action), or none", choices=GRIPPER_FORMATS),
    "gripper_action_name": Spec("/gripper_controller/gripper_cmd", "ros2_control gripper action "
                                "(gripper_format: gripper_action)"),
    "gripper_action_type": Spec("control_msgs/action/GripperCommand", "type of that action (package/action/Name, "
                                "with a GripperCommand-like `command` goal field)"),
    "actuate_gripper": Spec("topic", "which successful plans send the gripper command: never, those an "
                                     "initial_pose message triggered (topic), or also action goals (always)",
                            choices=ACTUATE, dynamic=True),
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
    tcp_offset: tuple
    approach_cone_enabled: bool
    approach_cone_direction: tuple
    approach_cone_max_angle_deg: float
    approach_cone_frame: str
    workspace_enabled: bool
    workspace_lo: tuple
    workspace_hi: tuple
    workspace_frame: str
    max_deviation_translation_m: float
    max_deviation_angle_deg: float
    gripper_action_name: str
    gripper_action_type: str
    actuate_gripper: str

    def planner_config_object(self) -> PlannerConfig:
        """The planner settings: the planner YAML, and the planner parameters that are set on top
        (ConfigError naming the file if it is malformed)."""
        return planner_config(load_planner_config(self.planner_config or None),
                              {name: getattr(self, name) for name in PLANNER_OVERRIDES})

    def constraint_values(self) -> dict:
        """The task-constraint parameters, keyed as ``constraints_from_params`` reads them."""
        return {name: getattr(self, field_name(name)) for name in CONSTRAINT_PARAMS}

    def T_hand_tool(self) -> Pose:
        """The ``tcp_offset`` as the tool frame's pose in the hand frame."""
        return tcp_offset_from_xyzrpy(self.tcp_offset)


def field_name(name: str) -> str:
    """The NodeParams field of a parameter (dots become underscores)."""
    return name.replace(".", "_")


def values_of(params: NodeParams) -> dict:
    """Parameter name -> value, the inverse of ``params_from_values``."""
    return {name: getattr(params, field_name(name)) for name in PARAMETERS}


def check_known(names) -> None:
    """ValueError for any name that is not a parameter, with the known names nearest to it (a typo in
    a params file, ``strats: 8``, would otherwise be ignored by rclpy)."""
    unknown = sorted(n for n in names if n not in PARAMETERS and n not in RCLPY_PARAMETERS
                     and not n.startswith("qos_overrides."))
    if unknown:
        hints = []
        for name in unknown:
            near = difflib.get_close_matches(name, list(PARAMETERS), n=3, cutoff=0.5)
            hints.append(f"{name!r}" + (f" (did you mean {', '.join(near)}?)" if near else ""))
        raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {'; '.join(hints)}; "
                         f"see docs/ros.md for the list")


def check_value(name: str, value):
    """The value as its parameter's type, or ValueError naming the parameter and what it accepts."""
    check_known([name])
    spec = PARAMETERS[name]
    if spec.size is not None:
        return _check_array(name, spec, value)
    if spec.default is None and value is None:
        return None                 # unset: the planner YAML's value holds
    kind = spec.kind or type(spec.default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ValueError(f"parameter {name} must be a {kind.__name__}, got {value!r}")
    if spec.low is not None and not spec.low <= value <= spec.high:
        raise ValueError(f"parameter {name} must be in [{spec.low}, {spec.high}], got {value}")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"parameter {name} must be one of {list(spec.choices)}, got {value!r}")
    return value


def _check_array(name: str, spec: Spec, value) -> tuple:
    try:
        values = tuple(float(v) for v in value if not isinstance(v, (bool, str)))
        complete = len(values) == len(value)
    except TypeError:
        complete = False
    if not complete or len(values) != spec.size:
        raise ValueError(f"parameter {name} must be {spec.size} numbers, got {value!r}")
    if not all(np.isfinite(values)) or not all(spec.low <= v <= spec.high for v in values):
        raise ValueError(f"parameter {name} must hold finite numbers in [{spec.low}, {spec.high}], got {list(values)}")
    return values


def resolve_model_path(model_path: str, share_dir: str | None) -> Path:
    """The model card to load: the given path, else the installed share dir, else the checkout's models/."""
    if model_path:
        candidates = [Path(model_path).expanduser()]
    else:
        candidates = ([Path(share_dir) / "models" / DEFAULT_MODEL_CARD] if share_dir else []) + \
                     resource_candidates("models", DEFAULT_MODEL_CARD)
    for path in candidates:
        if path.is_file():
            return path
    raise ValueError(f"model file not found: looked for {', '.join(str(p) for p in candidates)}; "
                     f"set the model_path parameter to a model card (*.json) or train and export a model")


def share_directory() -> str | None:
    """The installed share/grasp_planner, or None in a source checkout without an ament index."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory("grasp_planner")
    except Exception:  # PackageNotFoundError or no ament_index_python
        return None


def model_card(p: NodeParams) -> Path:
    """The model card the parameters name (ValueError listing where it was looked for)."""
    return resolve_model_path(p.model_path, share_directory())


def make_planner(p: NodeParams, scorer=None):
    """The planner for parameters ``p`` (reusing a loaded ``scorer``); ValueError naming the model or config file."""
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.ros.adapters import import_interface

    if p.gripper_format == "gripper_action":
        try:
            import_interface(p.gripper_action_type)
        except ImportError as err:
            raise ValueError(f"gripper_format gripper_action: {err}") from None
    config = p.planner_config_object()
    return GraspPlanner(scorer, config) if scorer is not None else GraspPlanner.from_config(model_card(p), config)


def reconfigured(params: NodeParams, changes: dict, scorer=None):
    """(new parameters, their planner with the loaded ``scorer``) for a live change, or ValueError; with no
    scorer only the parameters and the planner config they give are checked (planner None)."""
    new = updated(params, changes)
    if scorer is None:
        new.planner_config_object()       # raises if the planner YAML or an override does not hold
        return new, None
    return new, make_planner(new, scorer)


def params_from_values(values: dict) -> NodeParams:
    """Validate every value (missing ones take their defaults) and build ``NodeParams``."""
    check_known(values)
    checked = {name: check_value(name, values.get(name, spec.default)) for name, spec in PARAMETERS.items()}
    params = NodeParams(**{field_name(name): value for name, value in checked.items()})
    try:  # the constraint classes check what one value alone cannot (lo <= hi, a non-zero axis)
        constraints_from_params(params.constraint_values(), T_camera_output=Pose.identity())
    except ValueError as err:
        raise ValueError(f"task constraint parameters: {err}") from None
    return params


def updated(params: NodeParams, changes: dict) -> NodeParams:
    """``params`` with live changes applied; ValueError for a read-only or invalid one."""
    for name, value in changes.items():
        if name in PARAMETERS and not PARAMETERS[name].dynamic:
            raise ValueError(f"parameter {name} is read-only at run time; restart the node to change it")
    return params_from_values({**values_of(params), **changes})


def with_goal_constraints(values: dict, goal: dict) -> dict:
    """Constraint parameters (``NodeParams.constraint_values()``) with an action goal's constraints applied.

    ``goal`` holds the PlanGrasp goal's constraint fields as plain values (angles in rad, vectors as
    3 numbers; ``conversions.goal_constraint_fields``). A cone or box the goal enables replaces the
    parameters' one; a positive ``max_translation``/``max_angle`` replaces that limit; anything the
    goal leaves unset keeps the parameter's value. The goal's box is in the output frame.
    """
    out = dict(values)
    if goal["use_approach_cone"]:
        out.update({"approach_cone.enabled": True,
                    "approach_cone.direction": tuple(float(v) for v in goal["approach_cone_direction"]),
                    "approach_cone.max_angle_deg": float(np.degrees(goal["approach_cone_max_angle"])),
                    "approach_cone.frame": goal["approach_cone_frame"] or "camera"})
    if goal["use_workspace"]:
        out.update({"workspace.enabled": True, "workspace.frame": "output",
                    "workspace.lo": tuple(float(v) for v in goal["workspace_min"]),
                    "workspace.hi": tuple(float(v) for v in goal["workspace_max"])})
    if goal["max_translation"] > 0:
        out["max_deviation.translation_m"] = float(goal["max_translation"])
    if goal["max_angle"] > 0:
        out["max_deviation.angle_deg"] = float(np.degrees(goal["max_angle"]))
    return out


def current_values(node) -> dict:
    """Every declared parameter's value now (None for a planner parameter that is not set)."""
    from rclpy.exceptions import ParameterUninitializedException

    values = {}
    for name in PARAMETERS:
        try:
            values[name] = node.get_parameter(name).value
        except ParameterUninitializedException:
            values[name] = None
    return values


def declare_params(node, read_only: bool = True) -> dict:
    """Declare every parameter on ``node`` with its description and range; return their values.

    ValueError names a parameter of the params file or ``-p`` that is unknown (rclpy keeps them in
    ``_parameter_overrides``, its record of both) or one rclpy refused. ``read_only`` False leaves
    the static ones settable (a lifecycle node re-reads them on configure).
    """
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
    from rclpy.parameter import Parameter

    check_known(getattr(node, "_parameter_overrides", {}))
    values = {}
    for name, spec in PARAMETERS.items():
        desc = ParameterDescriptor(description=spec.description, read_only=read_only and not spec.dynamic)
        if spec.size is not None:   # let [0, 0, 1] (an integer array in YAML) through; check_value makes floats
            desc.dynamic_typing = True
            desc.additional_constraints = f"{spec.size} numbers, each in [{spec.low}, {spec.high}]"
        if spec.choices is not None:
            desc.additional_constraints = "one of: " + ", ".join(spec.choices)
        kind = spec.kind or type(spec.default)
        if kind is float and spec.low is not None and spec.size is None:
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high))]
        elif kind is int and spec.low is not None:
            desc.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
        if spec.default is None:   # declared by type only: unset until a params file or -p sets it
            default = Parameter.Type.DOUBLE if kind is float else Parameter.Type.INTEGER
        else:
            default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        try:
            values[name] = node.declare_parameter(name, default, desc).value
        except Exception as err:  # rclpy's InvalidParameterValue/TypeException: restate them plainly
            raise ValueError(f"parameter {name}: {err}") from None
    return values
