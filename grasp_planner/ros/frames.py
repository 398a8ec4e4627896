"""Relating frames with tf2_ros when it is installed (it is not on PyPI; a ROS install provides it).

The node looks every transform of a request up at the depth image's stamp; the arithmetic that
uses the looked-up transforms is planning/request.py's, plain code.
"""
from __future__ import annotations

from grasp_planner.planning.request import RequestError
from grasp_planner.pose import Pose
from grasp_planner.ros.conversions import transform_msg_to_pose


class FrameError(RequestError):
    """Two frames cannot be related: the request is refused TF_UNAVAILABLE; the message says why."""

    def __init__(self, message: str):
        super().__init__("TF_UNAVAILABLE", message)


class FrameResolver:
    """``lookup(target, source, stamp)`` -> ``T_target_source`` as a ``Pose``.

    Equal frames (or an empty source frame, read as the target) need no tf. Without tf2_ros every
    other request fails with a FrameError saying so, and the node keeps serving.
    """

    def __init__(self, node):
        self._clock = node.get_clock()
        self._static: dict = {}
        try:
            import tf2_ros  # imported lazily: not on PyPI
        except ImportError:
            self._buffer = None
            return
        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)

    def add_static(self, parent: str, child: str, T_parent_child: Pose):
        """A fixed transform known without tf (a mounted camera), used in either direction before tf."""
        self._static[(parent, child)] = T_parent_child

    def close(self):
        """Stop listening to /tf (a configure after cleanup makes a new resolver)."""
        if self._buffer is not None:
            self._listener.unregister()
            self._buffer = None

    @property
    def has_tf(self) -> bool:
        return self._buffer is not None

    def lookup(self, target: str, source: str, stamp=None, timeout_s: float = 0.2) -> Pose:
        if not source or source == target:
            return Pose.identity()
        if (target, source) in self._static:
            return self._static[(target, source)]
        if (source, target) in self._static:
            return self._static[(source, target)].inverse()
        if self._buffer is None:
            raise FrameError(f"frame {source!r} differs from {target!r} and tf2_ros is not installed, so they "
                             f"cannot be related; send data in {target!r} or install tf2_ros")
        from rclpy.duration import Duration
        from rclpy.time import Time

        when = Time.from_msg(stamp) if stamp is not None else Time()
        try:
            tf = self._buffer.lookup_transform(target, source, when, timeout=Duration(seconds=timeout_s))
        except Exception as err:  # tf2's LookupException, ExtrapolationException, ...
            raise FrameError(f"no transform from {source!r} to {target!r}: {err}") from None
        return transform_msg_to_pose(tf.transform)
