"""The node's executor (ros/executor.py) over real DDS: a long Python callback (a plan) must not make the
spin thread submit the other callbacks again and again, and every message still gets its callback once."""
from __future__ import annotations

import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.callback_groups import ReentrantCallbackGroup  # noqa: E402
from rclpy.qos import QoSProfile  # noqa: E402
from std_msgs.msg import Int32  # noqa: E402

from grasp_planner.ros.executor import PlannerExecutor  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _busy(seconds: float) -> None:
    """Pure-Python work that holds the GIL the way a plan's Python parts do."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_stream_during_a_long_callback_submits_each_callback_once(context):
    node = rclpy.create_node("executor_under_test", context=context)
    peer = rclpy.create_node("executor_peer", context=context)
    group, received, long_done = ReentrantCallbackGroup(), [], threading.Event()
    node.create_subscription(Int32, "stream", lambda m: received.append(m.data), QoSProfile(depth=200),
                             callback_group=group)
    node.create_subscription(Int32, "long", lambda m: (_busy(1.0), long_done.set()), QoSProfile(depth=1),
                             callback_group=group)
    stream, long = peer.create_publisher(Int32, "stream", QoSProfile(depth=200)), peer.create_publisher(
        Int32, "long", QoSProfile(depth=1))
    executor = PlannerExecutor(num_threads=4, context=context)
    executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while (stream.get_subscription_count() == 0 or long.get_subscription_count() == 0) \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        long.publish(Int32(data=0))
        time.sleep(0.05)                 # the long callback is running
        submitted_before = executor.submitted
        for i in range(60):              # 100 Hz while it runs
            stream.publish(Int32(data=i))
            time.sleep(0.01)
        assert long_done.wait(10)
        deadline = time.monotonic() + 5
        while len(received) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        submitted = executor.submitted - submitted_before
    finally:
        executor.shutdown()
        thread.join(5)
        node.destroy_node()
        peer.destroy_node()
    assert sorted(received) == list(range(60)), "every message gets its callback, once"
    # one Task per message, plus a few for the executor's own guard conditions and the node's services;
    # rclpy 9's stock MultiThreadedExecutor resubmits a Task until a worker starts it, many times per message
    assert submitted <= 60 + 10, f"{submitted} Tasks submitted for 60 messages"
