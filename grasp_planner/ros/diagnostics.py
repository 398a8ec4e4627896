"""``diagnostic_msgs/DiagnosticArray`` on ``/diagnostics`` at about 1 Hz: is the planner healthy, and how fast.

``PlannerStats`` collects what the node sees (images, rejected inputs, plans with their per-stage
times) behind a lock; ``diagnostic_status`` turns a snapshot into a level (OK/WARN/ERROR), a
message a person understands and key/value pairs, as plain code; ``DiagnosticsPublisher`` only
copies that into messages on a timer. Levels:

* ERROR: no model loaded; or the latest depth image is older than ``error_image_age_s``.
* WARN: no depth image yet; an image older than ``warn_image_age_s``; the last plan failed (its
  reason is in the message); the last plan took longer than ``warn_plan_time_s``.
* OK otherwise.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

#: diagnostic_msgs/DiagnosticStatus levels
OK, WARN, ERROR = 0, 1, 2
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR"}
#: per-stage times reported, in the planner's PlanResult.timings keys
STAGES = ("view", "features", "barrier", "optimization", "total")


@dataclass(frozen=True)
class Thresholds:
    """When the status turns WARN or ERROR; seconds."""

    warn_image_age_s: float = 1.0
    error_image_age_s: float = 10.0
    warn_plan_time_s: float = 2.5


@dataclass(frozen=True)
class Snapshot:
    """What the status is computed from (all times in seconds)."""

    model_name: str | None                 # None: no model loaded
    model_metrics: dict = field(default_factory=dict)   # from the model card, e.g. {"test_accuracy": 0.9}
    image_age_s: float | None = None       # None: no image received yet
    images: int = 0
    rejected_inputs: int = 0
    last_rejection: str = ""
    plans: int = 0
    last_plan_reason: str | None = None    # "NONE" on success, else a FailureReason name
    last_plan_message: str = ""
    last_plan_timings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Status:
    """One DiagnosticStatus as plain data."""

    level: int
    message: str
    values: tuple          # ((key, value string), ...)


def diagnostic_status(s: Snapshot, thresholds: Thresholds = Thresholds()) -> Status:
    """Level, message and key/values for one snapshot (see the module docstring for the rules)."""
    problems: list[tuple[int, str]] = []
    if s.model_name is None:
        problems.append((ERROR, "no model loaded"))
    if s.image_age_s is None:
        problems.append((WARN, "no depth image received yet"))
    elif s.image_age_s > thresholds.error_image_age_s:
        problems.append((ERROR, f"latest depth image is {s.image_age_s:.1f} s old"))
    elif s.image_age_s > thresholds.warn_image_age_s:
        problems.append((WARN, f"latest depth image is {s.image_age_s:.1f} s old"))
    if s.last_plan_reason not in (None, "NONE"):
        problems.append((WARN, f"last plan failed ({s.last_plan_reason}): {s.last_plan_message}"))
    total = s.last_plan_timings.get("total")
    if total is not None and total > thresholds.warn_plan_time_s:
        problems.append((WARN, f"last plan took {total:.2f} s"))
    level = max((lvl for lvl, _ in problems), default=OK)
    message = "; ".join(m for lvl, m in problems if lvl == level) if problems else \
        f"ready: {s.plans} plan(s), {s.rejected_inputs} rejected input(s)"

    values = [("model", s.model_name or "none")]
    values += [(f"model.{k}", _fmt(v)) for k, v in sorted(s.model_metrics.items())]
    values += [("image_age_s", "none" if s.image_age_s is None else f"{s.image_age_s:.3f}"),
               ("images_received", str(s.images)), ("rejected_inputs", str(s.rejected_inputs)),
               ("last_rejection", s.last_rejection), ("plans", str(s.plans)),
               ("last_plan_reason", s.last_plan_reason or "none")]
    values += [(f"last_plan_{stage}_s", f"{s.last_plan_timings[stage]:.4f}")
               for stage in STAGES if stage in s.last_plan_timings]
    return Status(level, message, tuple(values))


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class PlannerStats:
    """Thread-safe counters the node updates; ``snapshot()`` reads them for the status.

    Parameters
    ----------
    clock : () -> float
        Seconds on the same clock as the image stamps passed to ``image_received`` (the node
        passes its ROS clock, so simulated time works); default ``time.time``.
    """

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._model_name: str | None = None
        self._model_metrics: dict = {}
        self._last_image_stamp: float | None = None
        self._images = 0
        self._rejected = 0
        self._last_rejection = ""
        self._plans = 0
        self._last_reason: str | None = None
        self._last_message = ""
        self._last_timings: dict = {}

    def model_loaded(self, name: str | None, metrics: dict | None = None):
        with self._lock:
            self._model_name, self._model_metrics = name, dict(metrics or {})

    def image_received(self, stamp_s: float):
        with self._lock:
            self._last_image_stamp, self._images = float(stamp_s), self._images + 1

    def input_rejected(self, reason: str):
        with self._lock:
            self._rejected += 1
            self._last_rejection = reason

    def plan_finished(self, reason: str, message: str, timings: dict):
        """Record a plan; ``reason`` "NONE" on success; ``timings`` in seconds per stage."""
        with self._lock:
            self._plans += 1
            self._last_reason, self._last_message = reason, message
            self._last_timings = {k: float(v) for k, v in timings.items()}

    def snapshot(self) -> Snapshot:
        with self._lock:
            age = None if self._last_image_stamp is None else max(0.0, self._clock() - self._last_image_stamp)
            return Snapshot(self._model_name, dict(self._model_metrics), age, self._images, self._rejected,
                            self._last_rejection, self._plans, self._last_reason, self._last_message,
                            dict(self._last_timings))


def status_msg(status: Status, name: str, hardware_id: str):
    """diagnostic_msgs/DiagnosticStatus from a Status."""
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

    return DiagnosticStatus(level=bytes([status.level]), name=name, message=status.message,
                            hardware_id=hardware_id, values=[KeyValue(key=k, value=v) for k, v in status.values])


class DiagnosticsPublisher:
    """Publishes the planner's status on ``/diagnostics`` every ``period_s`` seconds from a timer on ``node``.

    ``destroy()`` removes the timer and the publisher (the lifecycle node calls it on deactivate).
    """

    def __init__(self, node, stats: PlannerStats, name: str | None = None, hardware_id: str = "robotiq_3f",
                 period_s: float = 1.0, thresholds: Thresholds = Thresholds(), topic: str = "/diagnostics"):
        from diagnostic_msgs.msg import DiagnosticArray

        self._node, self._stats, self._thresholds = node, stats, thresholds
        self._name = name or f"{node.get_name()}: grasp planner"
        self._hardware_id = hardware_id
        self._array_type = DiagnosticArray
        self._pub = node.create_publisher(DiagnosticArray, topic, 10)
        self._timer = node.create_timer(period_s, self.publish)

    def publish(self):
        status = diagnostic_status(self._stats.snapshot(), self._thresholds)
        msg = self._array_type(status=[status_msg(status, self._name, self._hardware_id)])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(msg)

    def destroy(self):
        self._node.destroy_timer(self._timer)
        self._node.destroy_publisher(self._pub)
