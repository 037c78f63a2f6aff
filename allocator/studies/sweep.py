"""Sensitivity sweeps: the optimal list at each value of one setting, as a tidy DataFrame.

``sweep(problem, "budget", values)`` answers "what does each extra $100 buy me?": one row
per value, each with its own status and the metrics of *its own* optimal list, scored by
the one metric function (:func:`allocator.optim.evaluate.evaluate`).  A point with no list is a
row with status "infeasible" (or "no_solution" / "error") and empty metrics, never a copy
of its neighbour.

Units: ``budget`` in USD; probabilities in [0, 1]; ``gain_per_100`` is the average P(match)
gained per extra $100 against the previous row (probability per $100: 0.012 = 1.2 points),
``gain_per_100_plan`` the same on the figure to plan on (``p_match_plan``), the figure to read.

Parameters that can be swept (:data:`PARAMS`): ``budget`` (USD), ``la_share_max`` (0-1),
``correlation`` (rho, 0-0.99) and ``max_applications`` (an integer).

How it stays exact and fast:

- fast path (costs depend only on counts; README "How it works"): one
  :class:`~allocator.optim.fastpath.CountGrid` for the whole sweep (built at the largest value,
  so its grid covers every point) is re-read per point with that point's limit; the rule
  that picks the cell is the grid's own (:meth:`CountGrid.best`).  A correlation sweep
  needs one grid per value (the quadrature nodes change).
- MILP path (per-program extras, signals, divisions): one CBC outer approximation per
  point, warm-started from the better of the previous point's list (when still feasible)
  and the greedy list, and seeded with the tangent cuts of the previous point (the
  exposures in :attr:`Outcome.cut_pool`: tangents of a convex function, valid for every
  budget, count and LA limit with the same nodes; not reused across correlations).
  Measured (benchmarks/sweep_speed.py): this saves little over fresh solves; each point
  still needs one or two CBC solves, and most of their time is building and writing the
  model.
- knees (:func:`knees`): vertices of the upper concave envelope of the figure to plan on
  (P(match) where the rows have none; column ``knee_on`` names which) against the swept
  value where the envelope's slope falls by more than half.

>>> df = sweep(problem, "budget", parse_range("200:2000:100", name="--budgets"))  # doctest: +SKIP
>>> df[["budget", "status", "p_match", "gain_per_100"]].head()  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from allocator.optim import dominance

from allocator.optim import fastpath, pipeline

from allocator.optim import feasibility
from allocator.errors import InputError, SolverError
from allocator.inputs.ranges import parse_range
from allocator.optim.evaluate import WEST_COLUMNS, evaluate, uncertainty, west_row
from allocator.optim.builder import build
from allocator.optim.problem import Plan, Problem
from allocator.optim.outer import Outcome, solve_milp
from allocator.status import Status
from allocator.inputs.profile import MAX_COUNT
from allocator.verification import composition, planfigure
from allocator.inputs.fees import BUDGET_TOL

log = logging.getLogger(__name__)

#: sweepable setting -> the Problem field it sets
PARAMS: dict[str, str] = {
    "budget": "budget",
    "la_share_max": "la_share_max",
    "correlation": "rho",
    "max_applications": "max_apps",
}
TIGHTENING = ("budget", "max_applications", "la_share_max")  # a smaller value only removes lists
POOL_POINTS = 1  # previous points whose cut exposures seed the next MILP
KNEE_DROP = 0.5  # a knee: the envelope's slope falls below this fraction of the previous slope
# ... where that previous slope is still at least KNEE_FLOOR of the curve's steepest: past it the
# curve is already flat, and a knee there (a user's sweep marked one at +0.05 points per $100,
# after two real ones at 2.0 and 0.35) is a change of nothing worth marking
KNEE_FLOOR = 0.1
COLUMNS = ["status", "p_match", "p_match_independent", "p_match_la", "n_applications", "n_la", "la_share",
           "cost", "gain_per_100", "knee", "path", "gap", "solves", "seconds", "message", "synthetic",
           "p_match_interval", "p_match_la_interval", "p_match_pessimistic", "outside_domain"]
CURVE_COLUMNS = ["gain_per_100_plan", "knee_on"]  # after the West's columns, last of all

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------------- parsing
def parse_param(text: str) -> tuple[str, np.ndarray]:
    """``NAME=LO:HI:STEP`` -> (name, values), checked against the setting's range.

    >>> parse_param("max_applications=20:60:20")[1].tolist()
    [20.0, 40.0, 60.0]
    """
    name, sep, rng = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in PARAMS:
        raise InputError(f"--param {text!r}: write NAME=LO:HI:STEP with NAME one of {', '.join(PARAMS)} "
                         "(e.g. --param la_share_max=0.1:0.6:0.05)")
    vals = parse_range(rng, name=f"--param {name}")
    check_values(name, vals, f"--param {name}")
    return name, vals


def check_values(param: str, values: Sequence[float], option: str | None = None) -> None:
    """Raise InputError when a value is outside what the setting accepts."""
    option = option or param
    v = np.asarray(values, float)
    if param not in PARAMS:
        raise InputError(f"sweep parameter {param!r}: use one of {', '.join(PARAMS)}")
    if len(v) == 0:
        raise InputError(f"{option}: no values to sweep; give LO:HI:STEP")
    if not np.all(np.isfinite(v)):
        raise InputError(f"{option}: values must be finite numbers")
    limits = {"budget": (0.0, math.inf), "la_share_max": (0.0, 1.0), "correlation": (0.0, 0.99),
              "max_applications": (1.0, MAX_COUNT)}
    lo, hi = limits[param]
    bad = v[(v < lo - 1e-12) | (v > hi + 1e-12)]
    if len(bad):
        rng = f"between {lo:g} and {hi:g}" if math.isfinite(hi) else f">= {lo:g}"
        raise InputError(f"{option}: {bad[0]:g} is out of range; values must be {rng}")
    if param == "max_applications" and np.any(np.abs(v - np.round(v)) > 1e-9):
        raise InputError(f"{option}: {v[np.abs(v - np.round(v)) > 1e-9][0]:g} is not a whole number; "
                         "use an integer LO and STEP")


# ---------------------------------------------------------------------- the sweep
def at(problem: Problem, param: str, value: float) -> Problem:
    """A copy of ``problem`` with one setting changed (a limit shares the derived arrays;
    the correlation gets its own quadrature nodes)."""
    name = PARAMS[param]
    v = int(round(value)) if param == "max_applications" else float(value)
    if param == "correlation" and problem.fm is not None:  # a correlation means the one-factor copula
        from allocator.optim.mixture import copula_problem

        return copula_problem(problem, v)
    if name in Problem.LIMITS:
        return problem.with_limits(**{name: v})
    return dataclasses.replace(problem, **{name: v})


def sweep_mode(objective: str) -> str:
    """What a sweep maximizes for a profile's objective: the safety-first objective's
    curve is its first step's, the best P(match) (one exact solve per point)."""
    return "p_match" if objective == "safety_first" else objective


def sweep(problem: Problem, param: str = "budget", values: Iterable[float] | None = None, *,
          mode: str | None = None, method: str = "auto", progress: Progress | None = None,
          time_limit: float | None = None, target: float | None = None,
          solve: Callable[[Problem], Outcome] | None = None) -> pd.DataFrame:
    """The optimum at each value of ``param`` (other settings from ``problem``).

    Values are sorted ascending and de-duplicated.  Returns one row per value: the value
    (column named ``param``), ``status``, the list's metrics (empty when there is no
    list), ``gain_per_100`` (budget sweeps: the average P(match) gained per extra $100 against
    the previous row; empty when either row has no list), ``knee`` (see :func:`knees`), the
    path used, the gap and seconds; last, ``gain_per_100_plan`` and ``knee_on`` (see
    :func:`_gains_and_knees`).  ``progress(done, total)`` is called after each point;
    ``time_limit`` applies to each MILP point.

    ``mode`` (default the problem's objective): "p_match" and "utility" use the paths above;
    any other objective ("p_match_la" with ``target``, or one the front end's ``solve``
    knows, e.g. :func:`allocator.api.optimize`) is solved point by point by ``solve(problem
    at the value)`` (default: max P(match in LA) with P(match) >= ``target``), each row with
    its own status.
    """
    if param not in PARAMS:
        raise InputError(f"sweep parameter {param!r}: use one of {', '.join(PARAMS)}")
    if values is None:
        raise InputError(f"sweep over {param}: give the values (e.g. parse_range('500:3000:100'))")
    vals = np.unique(np.asarray(list(values), float))
    check_values(param, vals)
    mode = mode or sweep_mode(problem.objective)
    pipeline.something_to_maximize(problem, mode)
    if mode in ("p_match", "utility"):
        top = at(problem, param, vals[-1])
        path = pipeline.choose_path(top, mode, method)  # the largest value has the largest grid
        runner = {"fast": _fast_points, "dp": _dp_points}.get(path, _milp_points)
    else:
        runner = _point_solver(mode, target, solve, method, time_limit)
    rows = []
    total = len(vals)
    for k, (v, pr, out) in enumerate(runner(problem, param, vals, mode, time_limit)):
        rows.append(_row(param, v, pr, out, mode))
        if progress is not None:
            progress(k + 1, total)
    df = pd.DataFrame(rows).sort_values(param, kind="stable").reset_index(drop=True)
    return _finish(df, param, mode)


def _point_solver(mode: str, target: float | None, solve, method: str, time_limit):
    """The runner of an objective without a sweep path of its own: one solve per point."""
    if solve is None:
        if mode not in ("p_match_la", "la_given_target"):
            raise InputError(f"sweep objective {mode!r}: this sweep knows p_match, utility and p_match_la; "
                             "pass a solver for other objectives (the command line does)")
        if target is None or not 0 < target < 1:
            raise InputError("sweep objective p_match_la needs a target P(match) strictly between 0 and 1 "
                             "(--target P)")

        def solve(pr):
            return pipeline.optimize(pr, "la_given_target", target=target, method=method, time_limit=time_limit)

    def runner(problem, param, vals, mode_, time_limit_):
        # a fixed floor: a smaller limit only removes lists, so the larger value's optimum,
        # when it still fits, stays optimal (not so for safety_first, whose floor moves)
        shortcut = mode in ("p_match_la", "la_given_target") and param in TIGHTENING
        above = None
        for v in (vals[::-1] if shortcut else vals):
            pr = at(problem, param, v)
            kept = _still_optimal(above, pr) if shortcut else None
            if kept is not None:
                yield v, pr, kept
                continue
            try:
                out = solve(pr)
            except SolverError as e:
                out = Outcome(Status.ERROR, None, None, None, None, 0.0, 0.0, 0, pr.n, "milp", str(e))
            above = out if out.status.has_list else above
            yield v, pr, out

    return runner


def _fast_points(problem: Problem, param: str, vals: np.ndarray, mode: str, time_limit):
    """(value, problem at value, Outcome) per point, from one CountGrid (one per rho)."""
    grid = None
    if param != "correlation":
        t0 = time.perf_counter()
        grid = fastpath.CountGrid(at(problem, param, vals[-1]),
                                  budget_cap=float(vals[-1]) if param == "budget" else None)
        build = time.perf_counter() - t0
        log.debug("count grid %s built in %.3fs", grid.shape, build)
        picker = _Picker(grid, mode, param)
    for v in vals:
        t0 = time.perf_counter()
        pr = at(problem, param, v)
        if param == "correlation":
            g = fastpath.CountGrid(pr)
            cell = g.best(mode, None)
        else:
            g = grid
            cell = picker.best(pr)
        wall = time.perf_counter() - t0
        if cell is None:
            yield v, pr, Outcome(Status.INFEASIBLE, None, None, None, None, wall, wall, 0, pr.n, "fast")
            continue
        plan = g.plan(cell)
        val = float(g.objective(mode)[cell])
        yield v, pr, Outcome(Status.OPTIMAL, plan, val, val, 0.0, wall, wall, 0, pr.n, "fast")


class _Picker:
    """CountGrid.best for many values of one limit: the cells feasible under every other
    limit are found once, then each point applies its own limit and the grid's rule
    (highest objective within 1e-13, then lowest cost within 1e-9, then fewest programs,
    then the first cell in grid order)."""

    def __init__(self, grid: fastpath.CountGrid, mode: str, param: str):
        self.grid, self.param = grid, param
        loose = {"budget": {"budget": math.inf}, "la_share_max": {"la_share_max": 1.0},
                 "max_applications": {"max_apps": 10 ** 9}}[param]
        ok = grid.feasible(**loose).ravel()
        self.flat = np.nonzero(ok)[0]
        self.prim = grid.objective(mode).ravel()[self.flat]
        self.cost = grid.cost.ravel()[self.flat]
        self.n = grid.n.ravel()[self.flat]
        self.n_la = grid.n_la.ravel()[self.flat]

    def best(self, pr: Problem) -> tuple | None:
        if self.param == "budget":
            sel = self.cost <= pr.budget + BUDGET_TOL
        elif self.param == "la_share_max":
            sel = self.n_la <= pr.la_share_max * self.n + 1e-9
        else:
            sel = self.n <= pr.max_apps
        if not sel.any():
            return None
        return fastpath.pick(self.flat[sel], self.prim[sel], -self.cost[sel], self.n[sel], self.grid.shape)


def _dp_points(problem: Problem, param: str, vals: np.ndarray, mode: str, time_limit):
    """(value, problem at value, Outcome) per point, each solved on its own by
    :func:`allocator.optim.pipeline.optimize` (the dynamic program: milliseconds; a point it
    does not cover falls back to the integer program there)."""
    for v in vals:
        pr = at(problem, param, v)
        yield v, pr, pipeline.optimize(pr, mode, time_limit=time_limit)


def _milp_points(problem: Problem, param: str, vals: np.ndarray, mode: str, time_limit):
    """(value, problem at value, Outcome) per point: the integer program with warm starts
    and reused cuts.  A budget sweep solves one model throughout: candidates reduced at the
    largest budget (a superset of each point's), only the budget row changing between
    points, every tangent row kept (valid at any budget), and, with HiGHS, one persistent
    solver model.

    Settings that only tighten as they fall (budget, max_applications, la_share_max) are
    swept from the top down: an optimal list at a larger value that still meets the limits
    at a smaller one is optimal there too (the smaller value's lists are a subset), so that
    point needs no solve (:func:`_still_optimal`)."""
    prev: Plan | None = None
    above: Outcome | None = None  # the last solved point's outcome, at a larger value
    if param in TIGHTENING:
        vals = vals[::-1]
    pools: list[dict] = []  # cut exposures of the last POOL_POINTS points (same rho only)
    shared = None
    if param == "budget" and math.isfinite(vals.max()):
        top = at(problem, param, vals.max())
        shared_cand = dominance.reduce(top)
        shared = build(top, shared_cand, mode)
    for v in vals:
        pr = at(problem, param, v)
        kept = _still_optimal(above, pr) if param in TIGHTENING else None
        if kept is not None:
            yield v, pr, kept
            continue
        if param == "correlation":
            pools = []
        cand = dominance.reduce(pr)  # at a lower budget, a subset of the shared model's candidates
        start = pipeline.start_list(pr, cand, hint=prev, polish=(mode == "p_match"))
        seed: dict[str, list] = {}
        for pool in pools:
            for name, pts in pool.items():
                seed.setdefault(name, []).extend(pts)
        try:
            out = solve_milp(pr, cand, mode, start=start, time_limit=time_limit,
                             seed_cuts=seed or None, formulation=shared)
        except SolverError as e:
            t = 0.0
            out = Outcome(Status.ERROR, None, None, None, None, t, t, 0, len(cand), "milp", str(e))
        out = pipeline.start_if_timed_out(out, pr, start, time_limit)
        if out.status.has_list:
            prev, above = out.plan, out
        pool = getattr(out, "cut_pool", None) or {}
        if pool and POOL_POINTS > 0:
            pools = (pools + [pool])[-POOL_POINTS:]
        yield v, pr, out


def _still_optimal(above: Outcome | None, pr: Problem) -> Outcome | None:
    """The larger value's answer, when its list meets every limit of ``pr`` (then no list
    at ``pr`` does better, and its bound and gap still hold); None otherwise."""
    if above is None or not above.status.has_list or not feasibility.is_feasible(pr, above.plan):
        return None
    return dataclasses.replace(above, seconds=0.0, wall=0.0, solves=0, iterations=[], cut_pool={},
                               message="the list of a larger value: still within the limits, so still optimal")


def _row(param: str, value: float, pr: Problem, out: Outcome, mode: str) -> dict:
    v = int(round(value)) if param == "max_applications" else float(value)
    row = {param: v, "status": out.status.value}
    if out.status.has_list and out.plan is not None and not len(out.plan.idx):  # an empty list is no answer
        row.update(status=Status.INFEASIBLE.value, path=out.path, gap=None, solves=out.solves, seconds=out.wall,
                   message=_nothing_listed(pr, mode), synthetic=bool(pr.synthetic))
        return row
    if out.status.has_list and out.plan is not None:
        bad = feasibility.violations(pr, out.plan)
        if bad:
            raise SolverError(f"sweep at {param}={v:g}: the list breaks {bad[0][0]}: {bad[0][1]} "
                              "(a bug; please report)")
        m = evaluate(pr, out.plan, correlations=())
        row.update(p_match=m.p_match, p_match_independent=m.p_match_independent, p_match_la=m.p_match_la,
                   n_applications=m.n_applications, n_la=m.n_la, la_share=m.la_share, cost=m.cost,
                   **uncertainty(m), outside_domain=composition.outside_row(pr, out.plan, m),
                   **planfigure.plan_row(pr, out.plan, m), **west_row(m))
        if mode not in ("p_match", "p_match_la", "la_given_target"):  # utility, safety_first, ...
            row["expected_utility"] = m.expected_utility
        ids = pr.programs["program_id"].to_numpy()
        row["program_ids"] = " ".join(str(ids[i]) for i in out.plan.idx)
    row.update(path=out.path, gap=out.gap, solves=out.solves, seconds=out.wall, message=out.message,
               synthetic=bool(pr.synthetic))
    return row


def _nothing_listed(pr: Problem, mode: str) -> str:
    """Why a point's best list is empty: no program fits, or (expected utility) every program
    that fits alone has utility 0, so no list beats the empty one."""
    fits = pr.extra + float(pr.schedule.fee(1)) <= pr.budget + BUDGET_TOL
    if mode == "utility" and pr.n and fits.any() and not (pr.utility[fits] > 0).any():
        return "every program that fits within these limits has utility 0: no list raises the expected utility"
    return "no program fits within these limits"


def _finish(df: pd.DataFrame, param: str, mode: str) -> pd.DataFrame:
    for c in ("p_match", "p_match_independent", "p_match_la", "la_share", "cost", "gap", "p_match_plan",
              "p_match_west"):
        if c not in df:
            df[c] = np.nan
        df[c] = df[c].astype(float)
    for c in ("p_match_interval", "p_match_la_interval", "p_match_pessimistic", "p_match_published_curve",
              "p_match_west_interval"):
        if c not in df:
            df[c] = None
    for c in ("p_match_published_curve", "p_match_west_interval"):  # [low, high] or None, not NaN
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    for c in ("n_applications", "n_la"):
        if c not in df:
            df[c] = pd.NA
        df[c] = df[c].astype("Int64")
    for c in ("program_ids", "outside_domain", "p_match_plan_from"):
        if c not in df:
            df[c] = ""
        df[c] = df[c].astype(object).where(df[c].notna(), "")  # text columns, "" where a row has none
    _gains_and_knees(df, param)
    cols = [param] + [c for c in COLUMNS if c != param]
    if mode not in ("p_match", "p_match_la", "la_given_target"):
        if "expected_utility" not in df:
            df["expected_utility"] = np.nan
        cols.insert(cols.index("cost") + 1, "expected_utility")
    # added last: earlier columns keep their places
    cols += ["program_ids", *planfigure.PLAN_COLUMNS, *WEST_COLUMNS, *CURVE_COLUMNS]
    return df[cols].reset_index(drop=True)


def curve_on(df: pd.DataFrame) -> str:
    """The figure the knees and the gain per $100 to read are on: "p_match_plan" (the figure to
    plan on) when every row with a list has one, else "p_match" (the average, or the catalog's or
    one card's own P(match), which have no figure to plan on)."""
    y = pd.to_numeric(df["p_match"], errors="coerce").to_numpy(float)
    plan = (pd.to_numeric(df["p_match_plan"], errors="coerce").to_numpy(float) if "p_match_plan" in df
            else np.full(len(df), np.nan))
    has = np.isfinite(y)
    return "p_match_plan" if has.any() and np.isfinite(plan[has]).all() else "p_match"


def gain_per_100(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Per row, ``y`` gained per extra 100 of ``x`` against the previous row (NaN on the first
    row and where either row has no value)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    gain = np.full(len(x), np.nan)
    if len(x) > 1:
        gain[1:] = (y[1:] - y[:-1]) / (x[1:] - x[:-1]) * 100.0
    return gain


def _gains_and_knees(df: pd.DataFrame, param: str) -> None:
    """The columns ``gain_per_100`` (on the average P(match), as it always was),
    ``gain_per_100_plan`` (on the figure to plan on; NaN without one), ``knee`` (on the figure
    named by :func:`curve_on`: the figure to plan on wherever the rows have it) and ``knee_on``
    (that figure's column name, on every row)."""
    x = df[param].to_numpy(float)
    on = curve_on(df)
    y = df["p_match"].to_numpy(float)
    plan = df["p_match_plan"].to_numpy(float)
    budget = param == "budget"
    df["gain_per_100"] = gain_per_100(x, y) if budget else np.nan
    df["gain_per_100_plan"] = gain_per_100(x, plan) if budget and on == "p_match_plan" else np.nan
    df["knee"] = knees(x, plan if on == "p_match_plan" else y)
    df["knee_on"] = on


# ---------------------------------------------------------------------- knees
def knees(x: Sequence[float], y: Sequence[float], drop: float = KNEE_DROP) -> np.ndarray:
    """Where extra spending stops paying as well: a boolean mask over the points.

    A *knee* is a vertex of the upper concave envelope of the points (x, y) (rows without
    a value are skipped) where the envelope's slope after the vertex is less than ``drop``
    (one half) of its slope before it, and the slope before it is positive.  The envelope
    smooths the staircase that whole-program fees make, so a knee marks a real change in
    the return per dollar, not a step of one program.  A vertex where the curve is already
    flat (the slope before it under KNEE_FLOOR of the envelope's steepest) is no knee.

    >>> knees([0, 1, 2, 3, 4], [0, 0.5, 1.0, 1.1, 1.2]).tolist()
    [False, False, True, False, False]
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    out = np.zeros(len(x), bool)
    ok = np.nonzero(np.isfinite(x) & np.isfinite(y))[0]
    if len(ok) < 3:
        return out
    order = ok[np.argsort(x[ok], kind="mergesort")]
    hull: list[int] = []
    for i in order:  # upper hull (monotone chain), left to right
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (x[b] - x[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (x[i] - x[a])
            if cross >= 0:  # b lies on or below the chord a-i
                hull.pop()
            else:
                break
        if hull and x[i] == x[hull[-1]]:
            if y[i] > y[hull[-1]]:
                hull[-1] = i
            continue
        hull.append(i)
    slopes = [(y[b] - y[a]) / (x[b] - x[a]) for a, b in zip(hull, hull[1:])]
    steepest = max(slopes, default=0.0)
    for b, before, after in zip(hull[1:], slopes, slopes[1:]):
        if before > 1e-12 and before >= KNEE_FLOOR * steepest and after < drop * before:
            out[b] = True
    return out
