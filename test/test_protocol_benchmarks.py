"""The protocol benchmarks: paired counts (compare_protocol_runs), multi-trial summaries, grasp errors."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import compare_protocol_runs as cpr  # noqa: E402


def _run(path, held, status):
    rows = [{"object_name": f"obj{k:05d}", "method": "planner", "robust_10_shakes": h, "plan_status": s}
            for k, (h, s) in enumerate(zip(held, status))]
    rows.append({"object_name": "obj00000", "method": "heuristic", "robust_10_shakes": True})
    path.write_text(json.dumps({"outcomes": rows}))
    return path


def test_discordant_pairs_decide_and_ok_counts_are_per_run(tmp_path):
    a = _run(tmp_path / "a.json", [True] * 10 + [False] * 10, ["OK"] * 15 + ["LOW_SCORE"] * 5)
    b = _run(tmp_path / "b.json", [True] * 2 + [False] * 18, ["OK"] * 20)
    c = cpr.compare(cpr.planner_outcomes(a), cpr.planner_outcomes(b))
    assert (c["held_a"], c["held_b"], c["both"], c["only_a"], c["only_b"]) == (10, 2, 2, 8, 0)
    assert c["mcnemar_p"] == pytest.approx(2 * 0.5 ** 8)
    assert c["a"] == {"ok": 15, "ok_held": 10, "low_score": 5, "low_score_held": 0}
    assert c["b"]["ok"] == 20 and c["b"]["ok_held"] == 2


def test_runs_on_other_problems_or_a_broken_file_are_refused(tmp_path, capsys):
    a = _run(tmp_path / "a.json", [True, False], ["OK", "OK"])
    b = _run(tmp_path / "b.json", [True], ["OK"])
    with pytest.raises(ValueError, match="same problems"):
        cpr.compare(cpr.planner_outcomes(a), cpr.planner_outcomes(b))
    (tmp_path / "bad.json").write_text("{")
    assert cpr.main([str(a), str(tmp_path / "bad.json")]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_multi_trial_summary_reads_ok_against_low_score_and_pairs_the_difference():
    import numpy as np
    import protocol_models as pm
    first = [{"status": "OK", "held": [True, True, False]}, {"status": "LOW_SCORE", "held": [False] * 3}] * 10
    second = [{"status": "OK", "held": [True] * 3}, {"status": "OK", "held": [False] * 3}] * 10
    s1 = pm.summarise(first, None, np.random.default_rng(0))
    s2 = pm.summarise(second, first, np.random.default_rng(0))
    assert s1["success"] == pytest.approx(1 / 3) and s1["any_trial"] == pytest.approx(0.5)
    assert s1["OK"] == {"plans": 10, "success": pytest.approx(2 / 3)} and s1["LOW_SCORE"]["success"] == 0.0
    assert s2["difference_from_first"] == pytest.approx(0.5 - 1 / 3)
    lo, hi = s2["difference_ci95"]
    assert lo <= s2["difference_from_first"] <= hi
    assert "difference_from_first" not in s1


def test_a_moved_grasp_measures_back_as_the_error_it_was_given():
    import numpy as np
    from scipy.spatial.transform import Rotation
    import protocol_precision as pp
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", [0.3, -0.2, 1.0]).as_matrix()
    T[:3, 3] = [0.1, -0.05, 0.2]
    along, across, turn = pp.grasp_error(T, pp.moved(T, (10, 0.013, 0.007), np.random.default_rng(1)))
    assert along == pytest.approx(0.007) and across == pytest.approx(0.013) and turn == pytest.approx(10)
    assert pp.grasp_error(T, pp.moved(T, pp.ERRORS["none"], np.random.default_rng(2))) == pytest.approx((0, 0, 0))
