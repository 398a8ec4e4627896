"""The reliability diagram's binning (perception.evaluation_plots): what "OK means something" is measured with."""
import numpy as np
import pytest

from grasp_planner.perception.evaluation_plots import (expected_calibration_error, plot_reliability,
                                                       reliability_bins)


def test_bins_count_rates_and_means_with_edges_and_nan():
    p = [0.05, 0.1, 0.15, 0.15, 0.95, 1.0, float("nan"), 0.0]
    hit = [0, 1, 1, 0, 1, 1, 1, 0]
    bins = reliability_bins(p, hit, n_bins=10)
    assert [b["n"] for b in bins] == [2, 3, 0, 0, 0, 0, 0, 0, 0, 2]   # 0.1 opens bin 1; 1.0 closes the last
    assert sum(b["n"] for b in bins) == 7                              # the NaN (nothing planned) is left out
    assert bins[1]["success_rate"] == pytest.approx(2 / 3)
    assert bins[1]["mean_probability"] == pytest.approx((0.1 + 0.15 + 0.15) / 3)
    assert bins[0]["success_rate"] == 0.0 and bins[9]["success_rate"] == 1.0
    assert np.isnan(bins[4]["success_rate"]) and bins[4]["ci95"] == (0.0, 1.0)
    lo, hi = bins[1]["ci95"]
    assert 0.0 < lo < 2 / 3 < hi < 1.0
    expected = (2 * abs(0 - 0.025) + 3 * abs(2 / 3 - 0.4 / 3) + 2 * abs(1 - 0.975)) / 7
    assert expected_calibration_error(bins) == pytest.approx(expected)


def test_a_calibrated_sample_has_a_small_error_and_an_overconfident_one_a_large_one():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    calibrated = rng.uniform(size=p.size) < p
    assert expected_calibration_error(reliability_bins(p, calibrated)) < 0.02
    overconfident = rng.uniform(size=p.size) < 0.1          # holds 10% of the time whatever p says
    assert expected_calibration_error(reliability_bins(p, overconfident)) > 0.35


@pytest.mark.parametrize("p, hit, word", [([0.2, 0.3], [1], "2 probabilities but 1"),
                                          ([1.2], [1], r"\[0, 1\]"), ([0.5], [1], "n_bins")])
def test_bad_input_is_one_line_error(p, hit, word):
    with pytest.raises(ValueError, match=word):
        reliability_bins(p, hit, n_bins=0 if word == "n_bins" else 10)


def test_plot_writes_a_png(tmp_path):
    bins = reliability_bins([0.1, 0.6, 0.9], [0, 1, 1], n_bins=5)
    path = plot_reliability({"a": bins, "b": bins}, tmp_path / "r.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
