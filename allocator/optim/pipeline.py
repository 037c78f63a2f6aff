"""The decisions every solve makes, made in one place: which path (count scan, dynamic
program or integer program), which start list, and what a time limit that ran out before any
list leaves.

Used by :func:`allocator.api.optimize`, the budget sweep (:mod:`allocator.studies.sweep`)
and the min-cost search (:mod:`allocator.optim.mincost`).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from allocator.errors import InputError
from allocator.optim import deadline, dominance, dp, fastpath, feasibility
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.optim.evaluate import evaluate, mode_value, objective_value
from allocator.optim.outer import Outcome, solve_milp
from allocator.optim.problem import Plan, Problem
from allocator.optim.start import greedy, local_search
from allocator.status import Status
from allocator.inputs.fees import BUDGET_TOL

METHODS = ("auto", "fast", "dp", "milp")


def choose_path(problem: Problem, mode: str, method: str) -> str:
    """"fast" (count scan), "dp" (dynamic program) or "milp" for ``method`` "auto", "fast",
    "dp" or "milp"; "auto" takes the first that applies in that order."""
    if method not in METHODS:
        raise InputError(f"--method {method!r}: use auto, fast, dp or milp")
    ok = fastpath.applicable(problem, mode)
    if method == "auto":
        return "fast" if ok else ("dp" if dp.applicable(problem, mode) else "milp")
    if method == "fast" and not ok:
        raise InputError("--method fast needs count-based costs (no fee_extra), no signals or divisions; "
                         "use --method milp or auto")
    if method == "dp" and not dp.applicable(problem, mode):
        raise InputError("--method dp needs independent outcomes (correlation = 0), whole-dollar or whole-cent "
                         "costs (each program's fee_extra, any amount, plus no ERAS fee (season = \"none\") or the same ERAS "
                         "fee for every program; or ERAS tiers in one specialty), no signals or divisions to choose, "
                         "and objective p_match or utility (or --min-cost); use --method milp or auto")
    return method


def start_list(problem: Problem, cand: np.ndarray, *, hint: Plan | None = None, polish: bool = False) -> Plan:
    """The integer program's first incumbent: the greedy list over ``cand``, or ``hint``
    (e.g. the previous sweep point's optimum) when it is feasible here and better; with
    ``polish`` improved by local search (plain P(match) lists)."""
    start = greedy(problem, candidates=cand)
    if hint is not None and feasibility.is_feasible(problem, hint) and set(hint.idx) <= set(np.asarray(cand).tolist()):
        if objective_value(problem, hint) > objective_value(problem, start):
            start = hint
    return local_search(problem, start, cand) if polish else start


def start_if_timed_out(out: Outcome, problem: Problem, start: Plan | None, time_limit: float | None,
                       mode: str | None = None) -> Outcome:
    """When the time limit ran out before the engine returned any list, the start list (if
    feasible) is the best list found: status FEASIBLE, gap unknown.  (With a P(match)
    floor the caller's start list meets it.)"""
    if (out.status is not Status.NO_SOLUTION or time_limit is None or start is None
            or not feasibility.is_feasible(problem, start)):
        return out
    return dataclasses.replace(out, status=Status.FEASIBLE, plan=start, objective=mode_value(problem, start, mode),
                               bound=None, gap=None,
                               message="time limit reached before the solver found a list; start list, gap unknown")


def left(time_limit: float | None, t0: float) -> float | None:
    """What remains of ``time_limit`` seconds counted from ``t0`` (at least 1 ms; None: no limit)."""
    return None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - t0))


def floor_start(problem: Problem, cand: np.ndarray, target: float, time_limit: float,
                engine: str) -> tuple[Outcome, Plan | None]:
    """The best P(match) solve over ``cand``, and a list meeting the P(match) floor ``target``
    to start the LA-leaning solve from (so that a time limit stopping it still leaves a list):
    that solve's list climbed toward P(match in LA) at the floor
    (:func:`allocator.optim.tradeup.trade_up`, as the safety-first answer's LA-leaning list
    is); None when the best list misses the floor."""
    from allocator.optim.tradeup import la_utility, trade_up

    best = optimize(problem.with_limits(objective="p_match"), "p_match", time_limit=time_limit, engine=engine,
                    cand=cand)
    if not best.status.has_list or best.plan is None or not _meets(problem, best.plan, target):
        return best, None
    climbed = trade_up(problem, best.plan, target, la_utility(problem), cand)
    return best, climbed if _meets(problem, climbed, target) else best.plan


def _la_floor_prelude(problem: Problem, cand: np.ndarray, target: float, time_limit: float | None, engine: str,
                      t0: float) -> tuple[Outcome | None, Plan | None]:
    """Before an LA-leaning solve at the floor ``target``: (its answer, when the best P(LA) with
    no floor meets the floor (optimal) or, with a time limit, the best P(match) is proven below
    it (infeasible); else None) and, with a time limit, a start list from :func:`floor_start`
    (None without one).  Every step is capped by the limit."""
    from allocator.optim.ceiling import la_ceiling, reaches

    with deadline.capped(time_limit):  # the lift's local search stops there too
        top = la_ceiling(problem, cand, time_limit=time_limit, engine=engine)
    if reaches(problem, top, top and top[1], target):  # the best P(LA) with no floor meets this one
        wall = time.perf_counter() - t0
        return Outcome(Status.OPTIMAL, top[1], top[0], top[0], 0.0, 0.0, wall, 0, len(cand), "milp",
                       "the best P(match in LA) with no floor meets the target", engine=engine), None
    if time_limit is None:
        return None, None
    with deadline.capped(left(time_limit, t0)):  # a list in hand (about 1 s), should the limit run out
        best, start = floor_start(problem, cand, target, left(time_limit, t0), engine)
    if best.status is Status.OPTIMAL and best.objective < target:  # proven out of reach
        wall = time.perf_counter() - t0
        return Outcome(Status.INFEASIBLE, None, None, None, None, best.seconds, wall, best.solves, len(cand),
                       "milp", "the best P(match) is below the target"), None
    return None, start


def _meets(problem: Problem, plan: Plan, target: float) -> bool:
    return (feasibility.is_feasible(problem, plan)
            and float(evaluate(problem, plan, correlations=()).p_match) >= target)


def _scan(problem: Problem, mode: str, target: float | None, budget: float | None, t0: float) -> Outcome:
    """The count scan's answer (exact when costs depend only on counts)."""
    cap = np.inf if mode == "min_cost" else budget
    grid = fastpath.CountGrid(problem, budget_cap=cap)
    cell = grid.best(mode, target, budget=cap)
    wall = time.perf_counter() - t0
    if cell is None:
        return Outcome(Status.INFEASIBLE, None, None, None, None, wall, wall, 0, problem.n, "fast")
    val = float(grid.cost[cell]) if mode == "min_cost" else float(grid.objective(mode)[cell])
    return Outcome(Status.OPTIMAL, grid.plan(cell), val, val, 0.0, wall, wall, 0, problem.n, "fast")


def candidates(problem: Problem, mode: str, budget: float | None) -> np.ndarray:
    """Dominance-reduced candidates under the budget actually enforced (none for min_cost;
    fee(max_apps) already allows max_apps programs, so larger budgets change nothing)."""
    cap = float(problem.schedule.fee(problem.max_apps))
    limit = cap if mode == "min_cost" else (None if budget is None else min(float(budget), cap))
    red = problem if limit is None else problem.with_limits(budget=limit)
    cand = dominance.reduce(red, la_rewarded=(mode == "la_given_target"))
    return cand if mode == "min_cost" else affordable(problem, cand, budget)


def affordable(problem: Problem, cand: np.ndarray, budget: float | None) -> np.ndarray:
    """Drop the candidates that alone cost more than the budget (ERAS fee of one program plus
    fee_extra): they are simply unaffordable, and a huge finite fee_extra (1e15) then never
    reaches the solver's tolerances.  must_apply programs stay (the infeasibility is named)."""
    lim = float(problem.budget if budget is None else budget)
    must = np.zeros(problem.n, bool)
    must[list(problem.must)] = True
    alone = problem.extra[cand] + float(problem.schedule.fee(1))
    return cand[(alone <= lim + BUDGET_TOL) | must[cand]]


def something_to_maximize(problem: Problem, mode: str) -> None:
    """Refuse objective utility when every candidate's utility is 0 (InputError): any list
    would be "optimal", the empty one included."""
    if mode == "utility" and problem.n and not np.max(problem.utility) > 0:
        cat = problem.candidates
        own = ~np.isnan(np.asarray(cat.column("utility"), float))  # the catalog's column, where a row gives it
        tiers = sorted({str(t) for t in np.asarray(cat.column("tier"), object)[~own]})
        if own.any():  # the catalog's column overrides the tier utilities: say so, and where
            rest = "" if own.all() else (f", and the [strategy] utility tiers give the other programs 0 "
                                         f"({', '.join(tiers)})")
            raise InputError(f"{cat.path}: column utility is 0 for every program left that gives one (it "
                             f"overrides the [strategy] utility tiers){rest}: objective utility has nothing to "
                             "maximize; give the programs you would value a positive utility in that column (or "
                             "leave its cells empty to use the tier utilities), or use objective p_match")
        raise InputError(f"objective utility with every tier utility 0 has nothing to maximize: give a tier of the "
                         f"programs left ({', '.join(tiers)}) a positive [strategy] utility, or use objective p_match")


def optimize(problem: Problem, mode: str, *, target: float | None = None, time_limit: float | None = None,
             method: str = "auto", budget: float | None = None, engine: str = DEFAULT_ENGINE,
             start: Plan | None = None, seed_cuts: dict | None = None, cand: np.ndarray | None = None,
             settle_gap: float | None = None, formulation=None, keep_basis: bool = False,
             warm_basis=None, target_on: str = "average") -> Outcome:
    """Optimal list for ``problem`` in ``mode`` ("p_match", "utility", "min_cost" with
    ``target``, "la_given_target" or "utility_given_target" with ``target``, a P(match)
    floor): status and plan, no verification.

    For a solve that follows another on the same problem (the safety-first objective's
    steps): ``start`` a list feasible here (with a target: one that meets it) used as the
    first incumbent instead of the greedy list, ``seed_cuts`` the earlier solve's
    :attr:`Outcome.cut_pool`, ``cand`` its candidates (integer-program path only);
    ``settle_gap`` see :func:`allocator.optim.outer.solve_milp`; ``formulation`` this solve's
    model built ahead (same mode and candidates, any floor, no solve yet: see
    :func:`allocator.optim.safety.safety_first`), set to ``target`` and used as built;
    ``keep_basis`` and ``warm_basis`` see :func:`allocator.optim.outer.solve_milp`;
    ``target_on`` "p10": min_cost's target judged at the ensemble's 10th percentile
    (:func:`allocator.optim.mincost.cheapest`; always the budget search)."""
    t0 = time.perf_counter()
    something_to_maximize(problem, mode)
    if target_on not in ("average", "p10") or (target_on == "p10" and mode != "min_cost"):
        raise ValueError(f"target_on {target_on!r}: 'average', or 'p10' with mode min_cost")
    path = "milp" if target_on == "p10" else choose_path(problem, mode, method)
    if path == "fast":
        return _scan(problem, mode, target, budget, t0)
    if path == "dp":  # None: a limit it only checks (LA cap, specialty limits) binds, or no list reaches the target
        out = dp.solve(problem, mode, budget=budget, target=target, t0=t0)
        if out is not None:
            return out
    cand = candidates(problem, mode, budget) if cand is None else np.asarray(cand, dtype=int)
    if mode == "min_cost":  # an exact search over the budget
        from allocator.optim.mincost import cheapest

        return cheapest(problem, float(target), cand, time_limit=time_limit, engine=engine, on=target_on)
    floored_start = False  # a start list made here for a time-limited LA-leaning solve: the limit caps it all
    if mode == "la_given_target" and start is None and budget is None and target is not None and target > 0:
        done, start = _la_floor_prelude(problem, cand, target, time_limit, engine, t0)
        if done is not None:
            return done
        if start is not None and time_limit is not None:  # the solve gets the rest of the limit
            floored_start, time_limit = True, left(time_limit, t0)
    if formulation is not None and (budget is not None or not np.array_equal(formulation.cand, cand)):
        raise ValueError("a model built ahead must have exactly this solve's candidates and no budget override")
    if start is not None and not set(start.idx) <= set(cand.tolist()):
        start = None
    if start is None:
        start = start_list(problem, cand) if mode in ("p_match", "utility") else None
    with deadline.capped(time_limit if floored_start else None):  # the relaxation's rounds stop there too
        out = solve_milp(problem, cand, mode, target=target, budget=budget, start=start, time_limit=time_limit,
                         engine=engine, seed_cuts=seed_cuts, settle_gap=settle_gap, formulation=formulation,
                         keep_cuts=formulation is not None, keep_basis=keep_basis, warm_basis=warm_basis)
    if budget is None:  # a start list answers to the problem's own budget only
        out = start_if_timed_out(out, problem, start, time_limit, mode)
    return dataclasses.replace(out, wall=time.perf_counter() - t0)


def no_empty_answer(problem: Problem, out: Outcome, engine: str = DEFAULT_ENGINE) -> Outcome:
    """The public answer for ``out`` (an optimization of ``problem``, its budget included): a
    best list that is empty because the limits admit no list of at least one program (a budget
    that buys nothing, a specialty maximum of 0 on every specialty left, no program left) is
    INFEASIBLE, with why in the message, as `solve` and the sweep rows say; P(match) 0 with
    no application is no answer.  An empty list that ties with every list the limits admit
    (every program within them gives P(match) 0) is left as it is, and so is every other answer.

    The engines themselves keep proving the empty list optimal where it is the only list (the
    steps of the safety-first objective, the sweep's points, build on that)."""
    if not (out.status.has_list and out.plan is not None and not len(out.plan.idx)):
        return out
    from allocator.optim.explain import describe
    from allocator.optim.infeasibility import explain_infeasibility

    conflict = explain_infeasibility(problem, np.arange(problem.n), engine=engine)
    if problem.n and not conflict:
        return out  # some list of at least one program meets the limits: the empty one ties with it
    why = describe(problem, conflict)
    return dataclasses.replace(out, status=Status.INFEASIBLE, plan=None, objective=None, bound=None, gap=None,
                               message=f"only the empty list meets these limits: {why}")
