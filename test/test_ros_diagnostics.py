"""The planner's diagnostic status (ros/diagnostics.py) as plain code.

/diagnostics over DDS, with a real plan's stage times, is tested in test_ros_lifecycle.py.
"""
import threading

import pytest

from grasp_planner.ros.diagnostics import ERROR, OK, WARN, PlannerStats, Snapshot, Thresholds, diagnostic_status

TIMINGS = {"view": 0.001, "features": 0.004, "barrier": 0.002, "optimization": 0.015, "total": 0.022}


def healthy(**changes) -> Snapshot:
    base = dict(model_name="grasp_cnn.json", model_metrics={"test_accuracy": 0.91}, image_age_s=0.1, images=30,
                plans=2, last_plan_reason="NONE", last_plan_timings=TIMINGS)
    return Snapshot(**{**base, **changes})


def values(status) -> dict:
    return dict(status.values)


def test_a_loaded_model_with_fresh_images_and_a_good_last_plan_is_ok():
    status = diagnostic_status(healthy())
    assert status.level == OK
    assert status.message.startswith("ready: 2 plan(s)")


def test_the_last_plan_stage_times_and_model_metrics_are_reported():
    v = values(diagnostic_status(healthy()))
    assert v["last_plan_optimization_s"] == "0.0150" and v["last_plan_features_s"] == "0.0040"
    assert v["model"] == "grasp_cnn.json" and v["model.test_accuracy"] == "0.91"


@pytest.mark.parametrize("changes,level,words", [
    ({"model_name": None}, ERROR, "no model loaded"),
    ({"image_age_s": None}, WARN, "no depth image"),
    ({"image_age_s": 3.0}, WARN, "3.0 s old"),
    ({"image_age_s": 30.0}, ERROR, "30.0 s old"),
    ({"last_plan_reason": "NO_FEASIBLE_GRASP", "last_plan_message": "every candidate touches the scene"},
     WARN, "last plan failed (NO_FEASIBLE_GRASP): every candidate touches the scene"),
    ({"last_plan_timings": {**TIMINGS, "total": 4.0}}, WARN, "took 4.00 s"),
])
def test_each_problem_sets_its_level_and_says_what_is_wrong(changes, level, words):
    status = diagnostic_status(healthy(**changes))
    assert status.level == level
    assert words in status.message


def test_the_message_lists_only_the_problems_of_the_worst_level():
    status = diagnostic_status(healthy(model_name=None, image_age_s=None))
    assert status.level == ERROR
    assert status.message == "no model loaded"


def test_thresholds_are_configurable():
    assert diagnostic_status(healthy(image_age_s=3.0), Thresholds(warn_image_age_s=5.0)).level == OK


def test_stats_count_images_rejections_and_plans_and_age_the_latest_image():
    now = [100.0]
    stats = PlannerStats(clock=lambda: now[0])
    stats.model_loaded("m.json", {"auc": 0.9})
    stats.image_received(99.5)
    stats.input_rejected("INVALID_INPUT")
    stats.input_rejected("NO_IMAGE")
    stats.plan_finished("LOW_SCORE", "p below 0.5", TIMINGS)
    now[0] = 101.0
    snap = stats.snapshot()
    assert (snap.images, snap.rejected_inputs, snap.last_rejection, snap.plans) == (1, 2, "NO_IMAGE", 1)
    assert snap.image_age_s == pytest.approx(1.5)
    assert snap.last_plan_reason == "LOW_SCORE" and snap.last_plan_timings == TIMINGS
    assert values(diagnostic_status(snap))["rejected_inputs"] == "2"


def test_stats_count_exactly_under_concurrent_updates():
    stats = PlannerStats(clock=lambda: 0.0)

    def reject():
        for _ in range(1000):
            stats.input_rejected("INVALID_INPUT")

    threads = [threading.Thread(target=reject) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.snapshot().rejected_inputs == 4000


def test_status_message_converts_to_a_diagnostic_status():
    pytest.importorskip("diagnostic_msgs")
    from grasp_planner.ros.diagnostics import status_msg
    msg = status_msg(diagnostic_status(healthy(image_age_s=3.0)), "grasp_planner", "robotiq_3f")
    assert msg.level == bytes([WARN]) and msg.hardware_id == "robotiq_3f"
    assert {kv.key for kv in msg.values} >= {"model", "image_age_s", "rejected_inputs", "last_plan_total_s"}
