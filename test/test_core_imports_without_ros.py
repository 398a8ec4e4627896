"""The core imports on a machine without ROS: every module outside grasp_planner.ros, found by walking the package.

The run-time side (everything outside ros/ and learning/) also imports without torch: the node needs only
onnxruntime.
"""
import subprocess
import sys

# A meta-path finder that makes the named roots unimportable, then imports every module the walk finds.
WALK = """
import importlib, importlib.abc, pkgutil, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in BLOCKED:
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
import grasp_planner
skip = {skip!r}
names = [m.name for m in pkgutil.walk_packages(grasp_planner.__path__, 'grasp_planner.')
         if not any(m.name == s or m.name.startswith(s + '.') for s in skip)]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
ROS = ("rclpy", "rosidl_runtime_py", "sensor_msgs", "geometry_msgs", "tf2_ros", "launch_ros", "std_msgs",
       "visualization_msgs", "action_msgs", "lifecycle_msgs", "diagnostic_msgs", "trajectory_msgs")


def _import_all(blocked, skip) -> int:
    code = WALK.format(blocked=tuple(blocked), skip=tuple(skip))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def test_every_core_module_imports_without_rclpy():
    assert _import_all(ROS, ["grasp_planner.ros"]) >= 60


def test_the_run_time_side_imports_without_rclpy_or_torch():
    assert _import_all(ROS + ("torch",), ["grasp_planner.ros", "grasp_planner.learning"]) >= 40
