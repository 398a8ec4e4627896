"""Start grasp_planner_node with config/grasp_planner.yaml, its topics under a camera namespace, and optionally rviz2.

    ros2 launch grasp_planner grasp_planner.launch.py camera:=/camera rviz:=true
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("grasp_planner")
    camera = LaunchConfiguration("camera")
    return LaunchDescription([
        DeclareLaunchArgument("camera", default_value="/camera",
                              description="namespace of the depth camera driver (its depth/image_rect_raw, "
                                          "depth/camera_info)"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "grasp_planner.yaml"),
                              description="node parameters (YAML with a /** key)"),
        DeclareLaunchArgument("model_path", default_value="",
                              description="model card *.json; empty: share/grasp_planner/models/grasp_cnn.json"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 with the shipped view"),
        Node(
            package="grasp_planner",
            executable="grasp_planner_node",
            name="grasp_planner",
            output="screen",
            parameters=[LaunchConfiguration("params_file"), {"model_path": LaunchConfiguration("model_path")}],
            remappings=[
                ("depth/image", PathJoinSubstitution([camera, "depth", "image_rect_raw"])),
                ("depth/camera_info", PathJoinSubstitution([camera, "depth", "camera_info"])),
            ],
        ),
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            arguments=["-d", os.path.join(share, "config", "grasp_planner.rviz")],
            condition=IfCondition(LaunchConfiguration("rviz")),
        ),
    ])
