"""The optimizer core's stopping rules (planning/minimize.py), on plain functions: what ends a run and what not."""
import numpy as np
import pytest

from grasp_planner.planning.minimize import Evaluation, OptimizationStatus, minimize_with_budget


def creeping(gain: float):
    """An objective that is ``gain`` lower at every evaluation wherever it is asked (a ReLU score's creep
    along a kink, exaggerated), with a gradient that always points the same way; and its call count."""
    calls = []

    def objective(x):
        calls.append(1)
        return Evaluation(-gain * len(calls), np.ones_like(x))
    return objective, calls


def test_gains_smaller_than_stall_tol_in_a_row_end_the_run_as_a_stall():
    objective, calls = creeping(0.001)
    out = minimize_with_budget(objective, np.zeros(6), stall_evals=4, stall_tol=0.02, restarts=1, max_iter=40)
    assert out.status == OptimizationStatus.PRECISION_LOSS
    # the first evaluation sets the reference; four more without 0.02 of progress end it, and a restart
    # is not tried since the run gained less than stall_tol
    assert len(calls) == out.n_eval <= 6


def test_the_same_creep_counts_as_progress_with_a_zero_tolerance():
    objective, calls = creeping(0.001)
    out = minimize_with_budget(objective, np.zeros(6), stall_evals=4, stall_tol=0.0, restarts=1, max_iter=40)
    assert out.n_eval > 6


@pytest.mark.parametrize("stall_tol", [0.0, 0.02])
def test_real_progress_is_not_cut_short(stall_tol):
    """A bowl whose minimum is 4 units away: a tolerance of 0.02 still ends at the minimum."""
    target = np.array([4.0, -2.0, 1.0, 0.0, 0.5, -1.0])

    def bowl(x):
        return Evaluation(float(np.sum((x - target) ** 2)), 2.0 * (x - target))
    out = minimize_with_budget(bowl, np.zeros(6), stall_evals=4, stall_tol=stall_tol, max_iter=40)
    assert out.best.value < 0.02
    assert np.allclose(out.x, target, atol=0.1)
