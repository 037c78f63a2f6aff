"""The frontier between P(any match) and P(match in Greater LA).

Every point is the list that maximizes P(match in LA) (LA programs ranked first) subject to
P(any match) >= a floor, within the budget, counts and LA cap (mode "la_given_target"), so
no list has both a higher P(any match) and a higher P(match in LA): the points trace the
trade exactly.  Two ways to choose the floors:

- :func:`margin_frontier` (``sweep --frontier`` with no range): the floors are the best
  P(any match) reachable under the limits minus a safety margin m, for m in
  :data:`MARGINS` (0 to 15 points).  This is the default because it is always feasible
  (every floor is at or below the best), it starts at the safest list and it is read in
  the same unit as the safety-first objective's ``safety_margin``: "giving up m points of
  P(match) buys this much P(match in LA)".  The rows also carry the safest list (max
  P(any match)) and the list the profile's own objective chooses (``chosen``: a function
  of the problem, e.g. :func:`allocator.api.optimize`, passed in by the front end).
- :func:`frontier` (``--frontier LO:HI:STEP``): fixed P(any match) targets; a target above
  the best reachable is a row with status "infeasible".

The integer-program path solves ONE model for all points, built once: only the floor (the
target row's right-hand side) changes.  Points run from the highest floor down, each
started from the previous point's list (it meets every lower floor), with fresh tangent
rows seeded where the previous point's lists were.  (Every tangent row stays valid at any
floor, but carrying them all made each LP slower: 19,000 rows by the last margin, and the
bare ``--frontier`` took 17-25 s on the typical and strong profiles against 10.5-11 s
re-seeded, with the same points.)  With count-based costs
(no signals, divisions or extras) one count grid answers every point.

A pure function returning a tidy DataFrame (:data:`COLUMNS`); it never plots or prints.
Units: probabilities and margins in [0, 1], ``cost`` USD, ``seconds`` wall time.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from allocator.errors import SolverError
from allocator.optim import fastpath, feasibility, pipeline
from allocator.optim.builder import build
from allocator.optim.ceiling import TOL as CEILING_TOL, la_ceiling, la_value, reaches
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.optim.evaluate import WEST_COLUMNS, evaluate, uncertainty, west_row
from allocator.optim.outer import Outcome, solve_milp
from allocator.optim.problem import Problem
from allocator.optim.safety import settle_gap
from allocator.optim.tradeup import la_utility, trade_up
from allocator.status import Status
from allocator.verification import composition, planfigure

log = logging.getLogger(__name__)

#: default safety margins (probability): fine near the safest list, where lists change most
MARGINS = (0.0, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15)
#: with no time limit, an integer-program point is settled as the safety-first steps are
#: (allocator.optim.safety.settle_gap): the relaxation tree's proven gap, and the integer
#: program for at most this many seconds only when that gap is already small
POINT_SECONDS = 3.0
#: the m = 0 floor sits this far below the best P(any match) (solver row tolerance)
FLOOR_SLACK = 1e-6
COLUMNS = ["target", "status", "p_match", "p_match_la", "n_applications", "n_la", "cost",
           "kind", "margin", "n_west", "n_elsewhere", "la_share", "la_cap_binds", "gap", "seconds", "program_ids",
           "p_match_interval", "p_match_la_interval", "p_match_pessimistic", "outside_domain", "synthetic",
           *planfigure.PLAN_COLUMNS, *WEST_COLUMNS]  # added last: the earlier columns keep their places

Progress = Callable[[int], None]


class _LaSolver:
    """Max P(match in LA) at successive floors on one model (or one count grid)."""

    def __init__(self, problem: Problem, method: str, time_limit: float | None, engine: str,
                 seed_cuts: dict | None = None):
        self.problem, self.time_limit, self.engine, self.seed = problem, time_limit, engine, seed_cuts
        self.last_pool = None  # the last point's exposures, to seed the next point's tangents
        self.grid = None
        self.f = None
        self.also = ()  # more lists to search from at each floor (e.g. the profile's own answer)
        self.method = method
        if pipeline.choose_path(problem, "la_given_target", method) == "fast":
            self.grid = fastpath.CountGrid(problem)
        else:
            self.cand = pipeline.candidates(problem, "la_given_target", None)

    @functools.cached_property
    def ceiling(self):
        """(C, a list reaching C) (allocator.optim.ceiling), computed on first use, or None."""
        return la_ceiling(self.problem, self.cand, time_limit=self.time_limit, method=self.method, engine=self.engine)

    def solve(self, target: float, start=None) -> Outcome:
        t0 = time.perf_counter()
        if self.grid is not None:
            cell = self.grid.best("la_given_target", target)
            wall = time.perf_counter() - t0
            if cell is None:
                return Outcome(Status.INFEASIBLE, None, None, None, None, wall, wall, 0, self.problem.n, "fast")
            val = float(self.grid.p_match_la()[cell])
            return Outcome(Status.OPTIMAL, self.grid.plan(cell), val, val, 0.0, wall, wall, 0, self.problem.n, "fast")
        for plan in (start, self.ceiling and self.ceiling[1]):
            if reaches(self.problem, self.ceiling, plan, target):  # the ceiling met at this floor: optimal, no solve
                wall = time.perf_counter() - t0
                v = self._la(plan)
                return Outcome(Status.OPTIMAL, plan, v, self.ceiling[0], max(0.0, self.ceiling[0] - v), wall, wall, 0,
                               len(self.cand), "milp")
        if self.f is None:
            self.f = build(self.problem, self.cand, "la_given_target", target=target)
        else:  # fresh tangent rows at each point, seeded where the last point's lists were
            self.f.clear_cuts()
            self.seed = self.last_pool
        start = self._traded(start, target)
        limit = POINT_SECONDS if self.time_limit is None else self.time_limit
        out = solve_milp(self.problem, self.cand, "la_given_target", target=target, start=start,
                         time_limit=limit, engine=self.engine, seed_cuts=self.seed,
                         formulation=self.f, keep_cuts=True,
                         settle_gap=settle_gap(len(self.cand), self.time_limit))
        self.seed, self.last_pool = None, out.cut_pool
        top = self.ceiling
        if out.status.has_list and top is not None and out.objective >= top[0] - CEILING_TOL:
            out = dataclasses.replace(out, status=Status.OPTIMAL, bound=top[0], gap=max(0.0, top[0] - out.objective))
        if start is None or (out.status.has_list and out.objective >= self._la(start) - 1e-12):
            return out
        v = self._la(start)  # the search's list beats what the program found in time: it stands, gap stated
        gap = None if out.bound is None else max(0.0, out.bound - v)
        status = Status.OPTIMAL if top is not None and v >= top[0] - CEILING_TOL else Status.FEASIBLE
        return dataclasses.replace(out, status=status, plan=start, objective=v, gap=gap)

    def _la(self, plan) -> float:
        return la_value(self.problem, plan)

    def _traded(self, start, target: float):
        """The best of ``start`` and ``self.also`` (lists met earlier) improved by local search
        at the floor (allocator.optim.tradeup), among those of these candidates that meet the
        floor; None when none does."""
        ok = [p for p in (start, *self.also) if p is not None and set(p.idx) <= set(self.cand.tolist())
              and evaluate(self.problem, p, correlations=()).p_match >= target]
        found = [trade_up(self.problem, p, target, la_utility(self.problem), self.cand) for p in ok]
        return max(found, key=self._la) if found else None


def frontier(problem: Problem, targets: Iterable[float], *, method: str = "auto",
             progress: Progress | None = None, time_limit: float | None = None,
             engine: str = DEFAULT_ENGINE) -> pd.DataFrame:
    """One row per target (in the given order): the max-P(LA) list with P(match) >= target."""
    targets = [float(t) for t in targets]
    solver = _LaSolver(problem, method, time_limit, engine)
    rows: dict[int, dict] = {}
    start, best = None, None
    if solver.grid is None:  # the safest list: a start for every floor it meets, and which floors are out of reach
        safest = pipeline.optimize(problem.with_limits(objective="p_match"), "p_match", time_limit=time_limit,
                                   method=method, engine=engine)
        solver.seed = safest.cut_pool or None  # its tangents hold on the LA model's nodes too
        if safest.status is Status.OPTIMAL:
            solver.also, best = (safest.plan,), float(safest.objective)
    for k, j in enumerate(sorted(range(len(targets)), key=lambda j: -targets[j])):  # highest floor first
        if best is not None and targets[j] > best + FLOOR_SLACK:  # above the proven best P(any match)
            out = Outcome(Status.INFEASIBLE, None, None, None, None, 0.0, 0.0, 0, len(solver.cand), "milp",
                          f"the best P(any match) reachable is {best:.4f}")
        else:
            out = solver.solve(targets[j], start)
        if out.status.has_list:
            start = out.plan
        rows[j] = _row(problem, out, "frontier", target=targets[j])
        if progress:
            progress(k + 1)
    df = _frame([rows[j] for j in range(len(targets))])
    df.attrs["p_match_best"] = best  # the proven best P(any match), when the safest list was solved
    return df


def margin_frontier(problem: Problem, margins: Iterable[float] = MARGINS, *, method: str = "auto",
                    chosen: Callable[[Problem], Outcome] | None = None, progress: Progress | None = None,
                    time_limit: float | None = None, engine: str = DEFAULT_ENGINE) -> pd.DataFrame:
    """The safest list, then for each margin m the max-P(LA) list with P(any match) >=
    best - m (rows of kind "frontier", ascending m), then the ``chosen`` list (the profile's
    own objective; the safest list when ``chosen`` is None).  ``progress(done)`` counts solves."""
    margins = sorted({float(m) for m in margins})
    if any(not 0 <= m < 1 for m in margins):
        raise ValueError("safety margins must lie in [0, 1)")
    t0 = time.perf_counter()
    safest = pipeline.optimize(problem, "p_match", time_limit=time_limit, method=method, engine=engine)
    rows = [_row(problem, safest, "safest", seconds=time.perf_counter() - t0)]
    done = 1
    if progress:
        progress(done)
    if not safest.status.has_list:
        return _frame(rows)
    best = float(evaluate(problem, safest.plan, correlations=()).p_match)
    t1 = time.perf_counter()
    own = chosen(problem) if chosen is not None else None
    chosen_row = (rows[0] | {"kind": "chosen", "seconds": 0.0} if own is None  # the safest list: no solve of its own
                  else _row(problem, own, "chosen", seconds=time.perf_counter() - t1))
    solver = _LaSolver(problem, method, time_limit, engine, seed_cuts=safest.cut_pool or None)
    solver.also = (own.plan,) if own is not None and own.status.has_list else ()
    start = safest.plan
    for m in margins:
        floor = max(0.0, best - max(m, FLOOR_SLACK))
        out = solver.solve(floor, start)
        if out.status.has_list:
            start = out.plan
        rows.append(_row(problem, out, "frontier", target=floor, margin=m))
        done += 1
        if progress:
            progress(done)
    rows.append(chosen_row)
    if progress:
        progress(done + 1)
    return _frame(rows)


def _row(problem: Problem, out: Outcome, kind: str, *, target: float = np.nan, margin: float = np.nan,
         seconds: float | None = None) -> dict:
    row = {"target": target, "status": out.status.value, "kind": kind, "margin": margin, "gap": out.gap,
           "seconds": out.wall if seconds is None else seconds, "program_ids": "",
           "synthetic": bool(problem.synthetic)}
    if not out.status.has_list or out.plan is None:
        return row
    if not len(out.plan.idx):  # an empty list is no answer
        return row | {"status": Status.INFEASIBLE.value}
    bad = feasibility.violations(problem, out.plan)
    if bad:
        raise SolverError(f"frontier at {kind} {target if np.isfinite(target) else margin:g}: the list breaks "
                          f"{bad[0][0]}: {bad[0][1]} (a bug; please report)")
    m = evaluate(problem, out.plan, correlations=())
    idx = np.asarray(out.plan.idx, int)
    tiers = problem.programs["tier"].to_numpy()[idx] if "tier" in problem.programs else np.array([])
    n_west = int(np.sum(tiers == "west")) if len(tiers) else 0
    ids = problem.programs["program_id"].to_numpy()[idx]
    return row | {"p_match": m.p_match, "p_match_la": m.p_match_la, "n_applications": m.n_applications,
                  "n_la": m.n_la, "cost": m.cost, "n_west": n_west,
                  "n_elsewhere": m.n_applications - m.n_la - n_west, "la_share": m.la_share,
                  "la_cap_binds": la_cap_binds(problem, m.n_la, m.n_applications),
                  "program_ids": " ".join(map(str, ids)), **uncertainty(m),
                  "outside_domain": composition.outside_row(problem, out.plan, m),
                  **planfigure.plan_row(problem, out.plan, m), **west_row(m)}


def la_cap_binds(problem: Problem, n_la: int, n: int) -> bool:
    """True when the list could not swap one more non-LA program for an LA one (nor add an
    LA one) without breaking ``la_share_max``: the cap, not the probabilities, stops LA."""
    if problem.la_share_max >= 1 or n == 0 or int(problem.la.sum()) <= n_la:  # no LA candidate left to take
        return False
    return n_la + 1 > problem.la_share_max * n + 1e-9


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in df:
            df[c] = np.nan
    for c in ("n_applications", "n_la", "n_west", "n_elsewhere"):
        df[c] = df[c].astype("Int64")
    df["la_cap_binds"] = df["la_cap_binds"].astype("boolean")
    df["gap"] = df["gap"].astype(float)
    df["p_match_plan"] = df["p_match_plan"].astype(float)
    for c in ("program_ids", "outside_domain", "p_match_plan_from"):
        df[c] = df[c].astype(object).where(df[c].notna(), "")  # text columns, "" where a row has none
    for c in ("p_match_interval", "p_match_la_interval", "p_match_pessimistic",
              "p_match_published_curve", "p_match_west_interval"):  # lists and None, not NaN
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df[COLUMNS].reset_index(drop=True)
