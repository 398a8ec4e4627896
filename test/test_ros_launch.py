"""The launch file, the shipped parameters file and the rviz config, checked as files (launch_ros is not on PyPI)."""
import ast
from pathlib import Path

import yaml

from grasp_planner.ros.params import PARAMETERS, params_from_values

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "grasp_planner.launch.py"


def node_calls(kind="Node"):
    """Keyword arguments of each ``kind(...)`` call, with ``**name`` expanded from ``name = dict(...)``."""
    tree = ast.parse(LAUNCH.read_text())
    dicts = {n.targets[0].id: {kw.arg: kw.value for kw in n.value.keywords} for n in ast.walk(tree)
             if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
             and getattr(n.value.func, "id", None) == "dict"}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == kind]
    out = []
    for call in calls:
        kwargs = {}
        for kw in call.keywords:
            kwargs.update(dicts[kw.value.id] if kw.arg is None else {kw.arg: kw.value})
        out.append(kwargs)
    return out


def literal_text(node) -> str:
    return ast.unparse(node)


def test_launch_file_starts_the_console_script_of_this_package():
    planner = [c for c in node_calls() if ast.literal_eval(c["executable"]) == "grasp_planner_node"]
    assert len(planner) == 1
    assert ast.literal_eval(planner[0]["package"]) == "grasp_planner"


def test_launch_file_passes_the_params_file_and_remaps_both_depth_topics_into_the_camera_namespace():
    planner = next(c for c in node_calls() if ast.literal_eval(c["executable"]) == "grasp_planner_node")
    assert "params_file" in literal_text(planner["parameters"])
    remapped = [ast.literal_eval(pair.elts[0]) for pair in planner["remappings"].elts]
    assert remapped == [PARAMETERS["depth_topic"].default, PARAMETERS["camera_info_topic"].default]
    assert "camera" in literal_text(planner["remappings"])


def test_lifecycle_argument_starts_the_managed_node_instead_with_the_same_parameters_and_remappings():
    regular = next(c for c in node_calls() if ast.literal_eval(c["executable"]) == "grasp_planner_node")
    managed, = node_calls("LifecycleNode")
    assert ast.literal_eval(managed["executable"]) == "grasp_planner_lifecycle_node"
    assert literal_text(managed["condition"]) == "IfCondition(lifecycle)"
    assert literal_text(regular["condition"]) == "UnlessCondition(lifecycle)"
    for key in ("package", "name", "parameters", "remappings"):
        assert literal_text(managed[key]) == literal_text(regular[key])
    assert "lifecycle = LaunchConfiguration('lifecycle')" in ast.unparse(ast.parse(LAUNCH.read_text()))


def test_both_executables_are_console_scripts_of_setup_py():
    setup = (ROOT / "setup.py").read_text()
    assert "grasp_planner_node = grasp_planner.ros.node:main" in setup
    assert "grasp_planner_lifecycle_node = grasp_planner.ros.lifecycle_node:main" in setup


def test_launch_file_starts_rviz_only_when_asked_with_the_shipped_config():
    rviz = next(c for c in node_calls() if ast.literal_eval(c["executable"]) == "rviz2")
    assert "IfCondition" in literal_text(rviz["condition"])
    assert "grasp_planner.rviz" in literal_text(rviz["arguments"])
    assert (ROOT / "config" / "grasp_planner.rviz").is_file()


def test_launch_file_declares_every_argument_it_reads():
    text = LAUNCH.read_text()
    tree = ast.parse(text)
    declared = {ast.literal_eval(n.args[0]) for n in ast.walk(tree)
                if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "DeclareLaunchArgument"}
    read = {ast.literal_eval(n.args[0]) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "LaunchConfiguration"}
    assert read <= declared


def flatten(tree: dict, prefix: str = "") -> dict:
    """Nested YAML keys as ROS parameter names (``approach_cone: {enabled: ...}`` -> ``approach_cone.enabled``)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def test_shipped_yaml_sets_every_declared_parameter_but_the_planner_overrides_and_validates():
    """The planner parameters stay unset there, so the planner YAML's values reach the planner (issue 18)."""
    from grasp_planner.planning.request import PLANNER_OVERRIDES
    data = yaml.safe_load((ROOT / "config" / "grasp_planner.yaml").read_text())
    values = flatten(data["/**"]["ros__parameters"])
    assert set(values) == set(PARAMETERS) - set(PLANNER_OVERRIDES)
    params = params_from_values(values)
    assert params.hand_mode == "basic" and params.starts is None


def test_rviz_config_is_yaml_showing_the_markers_topic():
    rviz = yaml.safe_load((ROOT / "config" / "grasp_planner.rviz").read_text())
    topics = [d.get("Topic", {}).get("Value") for d in rviz["Visualization Manager"]["Displays"]]
    assert "/markers" in topics


def test_package_xml_declares_the_lifecycle_and_diagnostics_runtime_dependencies():
    text = (ROOT / "package.xml").read_text()
    for dep in ("lifecycle_msgs", "diagnostic_msgs", "rclpy", "std_msgs"):
        assert f"<exec_depend>{dep}</exec_depend>" in text
