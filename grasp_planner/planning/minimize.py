"""SciPy quasi-Newton with the planner's stopping rules: time budget, cancel, best point kept.

This is the part of the optimizer that knows nothing about grasps, so the paper's toy problem
(a 2-D blob image) and the 6-DOF grasp problem run through the same code.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.optimize import minimize


class OptimizationStatus(enum.IntEnum):
    """Why an optimization stopped (the first three mirror scipy's BFGS status codes)."""

    CONVERGED = 0        # gradient norm below gtol
    MAX_ITER = 1         # iteration budget used up
    PRECISION_LOSS = 2   # line search found no decrease: normal on a piecewise-linear (ReLU) network
    TIMEOUT = 3          # the wall-clock budget ran out; the best point so far is returned
    CANCELED = 4         # the callback raised StopIteration
    FAILED = 5           # non-finite objective or an error while evaluating it


@dataclass(frozen=True)
class Evaluation:
    """One objective evaluation at a point: value, gradient and what the caller wants kept."""

    value: float
    gradient: np.ndarray
    extra: Any = None


@dataclass(frozen=True)
class MinimizeOutcome:
    """The best point seen and how the run ended."""

    x: np.ndarray
    best: Evaluation
    status: OptimizationStatus
    message: str
    n_iter: int
    n_eval: int
    iterates: tuple            # x after each iteration, starting with x0
    wall_time_s: float


class _Stop(Exception):
    def __init__(self, status: OptimizationStatus, message: str):
        super().__init__(message)
        self.status, self.message = status, message


_SCIPY_STATUS = {0: OptimizationStatus.CONVERGED, 1: OptimizationStatus.MAX_ITER,
                 2: OptimizationStatus.PRECISION_LOSS}


def minimize_with_budget(objective: Callable[[np.ndarray], Evaluation], x0: np.ndarray, *,
                         method: str = "BFGS", max_iter: int = 40, gtol: float = 1e-3,
                         first_step: float | None = 1.0, stall_evals: int | None = 8,
                         stall_tol: float = 0.02, restarts: int = 2, deadline: float | None = None,
                         on_iteration: Callable[[int, np.ndarray, Evaluation], None] | None = None
                         ) -> MinimizeOutcome:
    """Minimize ``objective`` from ``x0``; never raises for a failed run, reports it instead.

    Parameters
    ----------
    objective : x -> Evaluation (value and gradient); may raise to signal a failed evaluation.
    method : "BFGS" or "L-BFGS-B".
    first_step : length (units of x) of the first step. Both methods start from an identity
        inverse Hessian, so their first step is ``|g0|`` long, far too far when the gradient is
        large, and many evaluations go into backtracking; we hand scipy the objective times
        ``first_step / |g0|`` (gtol scaled alike), which changes no minimum.
    stall_evals, stall_tol : stop (status PRECISION_LOSS) after this many evaluations in which the
        best value got no lower than ``stall_tol`` below its value when it last did so; on a ReLU
        network most late evaluations are failing line searches or creep by hundredths of a logit
        (shared/notes/cnn-planner-perf.md: the best value comes at ~1/4 of them). The reference
        moves only on such progress, so a creep of many small gains still counts as a stall.
    restarts : after a stall (PRECISION_LOSS) of a run that gained at least ``stall_tol`` on its
        start, start again from the best point with a fresh Hessian, at most this many times. BFGS stalls at the
        kinks of a ReLU network's piecewise-linear score, often millimetres short of its peak.
    deadline : ``time.perf_counter()`` value after which the run stops with TIMEOUT.
    on_iteration : called after each iteration with (iteration, x, best evaluation so far); a
        ``StopIteration`` raised there ends the run with CANCELED.
    """
    start = time.perf_counter()
    x0 = np.asarray(x0, dtype=float)
    state = {"best_x": x0.copy(), "best": None, "n_eval": 0, "n_iter": 0, "last": None, "stall": 0,
             "scale": 1.0, "reference": np.inf, "run_start": None}
    iterates = [x0.copy()]

    def evaluate(x):
        if state["last"] is not None and np.array_equal(state["last"][0], x):
            return state["last"][1]          # scipy re-asks for x0 after we probed it
        try:
            ev = objective(np.array(x, dtype=float))
        except Exception as exc:  # report, do not raise (scipy style)
            raise _Stop(OptimizationStatus.FAILED, f"objective failed: {type(exc).__name__}: {exc}") from exc
        state["n_eval"] += 1
        state["last"] = (np.array(x, dtype=float), ev)
        if state["run_start"] is None:   # the value this run started from
            state["run_start"] = ev.value
        if not (np.isfinite(ev.value) and np.all(np.isfinite(ev.gradient))):
            raise _Stop(OptimizationStatus.FAILED, f"non-finite objective {ev.value} at x={np.round(x, 4).tolist()}")
        best = state["best"]
        if ev.value < state["reference"] - stall_tol:     # progress: the stall count starts again from here
            state["stall"], state["reference"] = 0, ev.value
        else:
            state["stall"] += 1
        if best is None or ev.value < best.value:
            state["best"], state["best_x"] = ev, np.array(x, dtype=float)
        return ev

    def fun(x):
        if deadline is not None and time.perf_counter() > deadline and state["best"] is not None:
            raise _Stop(OptimizationStatus.TIMEOUT, "stopped by the time budget")
        if stall_evals is not None and state["stall"] >= stall_evals:
            raise _Stop(OptimizationStatus.PRECISION_LOSS,
                        f"no improvement over {stall_evals} evaluations (line search stalled)")
        ev = evaluate(x)
        return ev.value * state["scale"], ev.gradient * state["scale"]

    def callback(intermediate_result):
        state["n_iter"] += 1
        iterates.append(np.array(intermediate_result.x, dtype=float))
        if on_iteration is not None:
            try:
                on_iteration(state["n_iter"], iterates[-1], state["best"])
            except StopIteration:
                raise _Stop(OptimizationStatus.CANCELED, "canceled by the callback") from None
        if deadline is not None and time.perf_counter() > deadline:
            raise _Stop(OptimizationStatus.TIMEOUT, "stopped by the time budget")

    def one_run(x_start, iterations_left):
        state["stall"], state["reference"], state["run_start"] = 0, np.inf, None
        if first_step is not None:
            g0 = np.linalg.norm(evaluate(x_start).gradient)
            state["scale"] = first_step / max(g0, first_step)
        options = {"maxiter": int(iterations_left), "gtol": float(gtol) * state["scale"]}  # both methods name them so
        try:
            res = minimize(fun, x_start, jac=True, method=method, callback=callback, options=options)
        except _Stop as stop:
            if stop.status != OptimizationStatus.PRECISION_LOSS:
                raise
            return stop.status, stop.message
        status = _SCIPY_STATUS.get(int(res.status), OptimizationStatus.FAILED)
        if not res.success and res.nit >= iterations_left:
            status = OptimizationStatus.MAX_ITER
        return status, str(res.message)

    status, message = OptimizationStatus.FAILED, "not started"
    try:
        x_start = x0
        for attempt in range(1 + restarts):
            status, message = one_run(x_start, max_iter - state["n_iter"])
            stalled = status == OptimizationStatus.PRECISION_LOSS
            gained = state["run_start"] is not None and state["best"].value < state["run_start"] - stall_tol
            if not stalled or state["n_iter"] >= max_iter or not gained:
                break
            x_start = state["best_x"]   # a fresh Hessian from the best point gets past the kink
            message = f"restart {attempt + 1} from the best point after: {message}"
    except _Stop as stop:
        status, message = stop.status, stop.message
    if state["best"] is None:
        status = OptimizationStatus.FAILED if status != OptimizationStatus.CANCELED else status
    return MinimizeOutcome(state["best_x"], state["best"], status, message, state["n_iter"],
                           state["n_eval"], tuple(iterates), time.perf_counter() - start)
