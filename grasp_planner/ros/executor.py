"""The node's executor: rclpy's MultiThreadedExecutor without its spin loop on callbacks not yet started.

rclpy 9.x (kilted) yields every ready callback as a Task, and yields again, on each spin, any Task that is
neither executing nor done. The MultiThreadedExecutor hands a Task to its thread pool and spins at once; until
a worker starts that Task the spin finds it again, submits it again and never waits. While a plan holds the
GIL the workers start late, so the spin thread turns at 100% of a core and starves the plan: under a 30 Hz
camera stream, stages of a 50 ms plan took up to 1.8 s (benchmarks/bench_streams.py: 28 of 150 requests BUSY).
Upstream fixed it after kilted (ros2/rclpy#1452, fixed by #1547 in rclpy 10.0.4). Here each Task is submitted
once (again only once its worker has returned: a coroutine that awaited resumes), and the spin thread gives the
workers the GIL until the Task it handed over has started.
"""
from __future__ import annotations

import time

from rclpy.executors import (ConditionReachedException, ExternalShutdownException, MultiThreadedExecutor,
                             ShutdownException, TimeoutException)

#: longest the spin thread waits for a worker to start the Task it submitted (all workers may be busy), s
HANDOVER_S = 0.002


class PlannerExecutor(MultiThreadedExecutor):
    """A MultiThreadedExecutor that submits each ready Task once and lets a worker start it before it spins on."""

    def __init__(self, num_threads: int = 4, context=None):
        super().__init__(num_threads=num_threads, context=context)
        self._queued = {}      # Task -> its pool future, for Tasks submitted and not done yet
        self.submitted = 0     # how many Tasks went to the pool (the tests count them)

    def _spin_once_impl(self, timeout_sec=None, wait_condition=lambda: False) -> None:
        try:
            task, _, _ = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (ExternalShutdownException, ShutdownException, TimeoutException, ConditionReachedException):
            return
        for t in [t for t in self._queued if t.done()]:
            del self._queued[t]
            t.result()                      # raise what a callback raised, as rclpy does
        run = self._queued.get(task)
        if run is not None and not run.done():
            return self._hand_over(task)    # queued or running: let a worker take it rather than resubmit
        # new, or a coroutine that awaited and must be resumed: (re)submit
        self._queued[task] = self._executor.submit(task)
        self.submitted += 1
        self._hand_over(task)

    @staticmethod
    def _hand_over(task) -> None:
        """Sleep (releasing the GIL) until a worker has started ``task``, at most HANDOVER_S."""
        end = time.monotonic() + HANDOVER_S
        while not (task.executing() or task.done()) and time.monotonic() < end:
            time.sleep(0.0001)
