"""Start grasp_planner_node (or, lifecycle:=true, its managed variant) with config/grasp_planner.yaml.

Its depth inputs are remapped into a camera namespace; rviz2 starts on request.

    ros2 launch grasp_planner grasp_planner.launch.py camera:=/camera rviz:=true
    ros2 launch grasp_planner grasp_planner.launch.py lifecycle:=true   # then configure/activate it
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node


def generate_launch_description():
    share = get_package_share_directory("grasp_planner")
    camera = LaunchConfiguration("camera")
    lifecycle = LaunchConfiguration("lifecycle")
    planner = dict(
        package="grasp_planner",
        name="grasp_planner",
        output="screen",
        parameters=[LaunchConfiguration("params_file"), {"model_path": LaunchConfiguration("model_path")}],
        remappings=[
            ("depth/image", PathJoinSubstitution([camera, "depth", "image_rect_raw"])),
            ("depth/camera_info", PathJoinSubstitution([camera, "depth", "camera_info"])),
        ],
    )
    return LaunchDescription([
        DeclareLaunchArgument("camera", default_value="/camera",
                              description="namespace of the depth camera driver (its depth/image_rect_raw, "
                                          "depth/camera_info)"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "grasp_planner.yaml"),
                              description="node parameters (YAML with a /** key)"),
        DeclareLaunchArgument("model_path", default_value="",
                              description="model card *.json; empty: share/grasp_planner/models/grasp_cnn.json"),
        DeclareLaunchArgument("lifecycle", default_value="false",
                              description="start the managed node (grasp_planner_lifecycle_node); a lifecycle "
                                          "manager or `ros2 lifecycle set` must then configure and activate it"),
        DeclareLaunchArgument("rviz", default_value="false", description="also start rviz2 with the shipped view"),
        Node(executable="grasp_planner_node", condition=UnlessCondition(lifecycle), **planner),
        LifecycleNode(executable="grasp_planner_lifecycle_node", namespace="", condition=IfCondition(lifecycle),
                      **planner),
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            arguments=["-d", os.path.join(share, "config", "grasp_planner.rviz")],
            condition=IfCondition(LaunchConfiguration("rviz")),
        ),
    ])
