"""The core must import on a machine without ROS: everything except grasp_planner.ros."""
import subprocess
import sys

CORE = ["grasp_planner", "grasp_planner.pose", "grasp_planner.camera", "grasp_planner.hand",
        "grasp_planner.sim", "grasp_planner.data", "grasp_planner.learning", "grasp_planner.planning",
        "grasp_planner.perception"]

# A meta-path finder that makes rclpy and every ROS message package unimportable.
BLOCK = """
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        root = name.split('.')[0]
        if root in ('rclpy', 'rosidl_runtime_py', 'sensor_msgs', 'geometry_msgs', 'tf2_ros', 'torch'):
            raise ImportError('blocked for this test: ' + name)
sys.meta_path.insert(0, Block())
import importlib
for name in {names!r}:
    importlib.import_module(name)
print('ok')
"""


def test_core_imports_without_rclpy_or_torch():
    out = subprocess.run([sys.executable, "-c", BLOCK.format(names=CORE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
