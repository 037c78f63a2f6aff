"""The cheapest list that reaches a target P(match): an exact search over the budget.

``min cost(x)  s.t.  P(match | x) >= target`` (and every other limit) is answered by exact
max-P(match) solves at trial budgets.  V(B), the best P(match) within budget B, never falls
as B rises, so the minimum cost C* is the smallest cost at which V reaches the target.
Each trial at budget B either

* reaches the target with an optimal list x_B: then C* <= cost(x_B) (often below B), and
  x_B is the best list among all those costing at most cost(x_B);
* or proves V(B) < target: then C* > B.

The interval (lo, hi] closes when no list cost can fall strictly inside it.  When costs
depend only on how many programs of one specialty a list holds, the possible costs are
the fees fee(n) and the trials bisect on n; otherwise costs are sums of whole-dollar fees
and ``fee_extra`` values, and the trials bisect down to the cost grid (1 USD when every
amount is whole dollars, else 1 cent).

Why not one integer program with the target as a constraint (solver.solve_milp's
"min_cost" mode)?  Its target row is an outer approximation: every master solve returns
a list that looks cheap enough, most fail the true target, and with signals and divisions
each master is a hard problem with many lists of equal cost.  HiGHS found no list within
20 s on the demo profiles, CBC needed 150-210 s.  The budget search needs about
log2(range) max-P solves, on one model (the budget row changes, solver.solve_milp's
``formulation``), each warm-started.

A count scan over a relaxation (every program at its best signal and division state, no
fee_extra) gives a proven lower end before any integer program runs, and settles at once a
target that no list can reach.
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from allocator.optim import dominance

from allocator.optim import fastpath

from allocator.optim import feasibility
from allocator.optim.evaluate import evaluate, objective_value
from allocator.optim.formulation import build
from allocator.studies.heuristics import greedy, local_search
from allocator.optim.problem import Plan, Problem
from allocator.optim.solver import DEFAULT_ENGINE, Outcome, solve_milp
from allocator.errors import SolverError
from allocator.status import Status

P_TOL = 1e-12  # a list reaches the target when its P(match) >= target - P_TOL


def cost_of(problem: Problem, plan: Plan) -> float:
    """A list's fees in USD: the specialty fee tiers plus fee_extra (no fixed charges)."""
    idx = np.asarray(plan.idx, int)
    counts = np.bincount(problem.spec[idx], minlength=len(problem.specialties)) if len(idx) else \
        np.zeros(len(problem.specialties), int)
    return float(sum(problem.schedule.fee(int(c)) for c in counts) + problem.extra[idx].sum())


def cost_unit(problem: Problem, cand: np.ndarray) -> float:
    """The grid every list cost lies on: 1 USD when all fees and fee_extra are whole
    dollars, else 0.01 (answers are then exact to the cent)."""
    amounts = [t.per_program for t in problem.schedule.tiers] + [t.flat for t in problem.schedule.tiers]
    amounts += problem.extra[cand].tolist()
    whole = all(abs(a - round(a)) < 1e-9 for a in amounts)
    return 1.0 if whole else 0.01


def relaxed_lower_cost(problem: Problem, target: float) -> float | None:
    """A cost no list below which can reach ``target`` (None: no list reaches it at all).

    The relaxation gives every program its best probability (signalled and in a preferred
    division) and drops fee_extra, so its best P(match) at each count vector bounds the
    real one from above; the count scan then finds the cheapest count vector that could
    reach the target."""
    relaxed = dataclasses.replace(problem.with_best_bonuses(), budget=math.inf)
    if not fastpath.applicable(relaxed, "min_cost"):
        return 0.0  # too many classes for the scan: no bound beyond "a list costs >= 0"
    found = fastpath.scan(relaxed, "min_cost", target)
    return None if found is None else float(found[0].cost[found[1]])


def plain_upper(problem: Problem, target: float) -> tuple[float, Plan] | None:
    """A list reaching ``target`` without signals or divisions, the cheapest such (count
    scan), as the search's first upper end; None when the scan does not apply (fee_extra)
    or no plain list reaches the target."""
    found = fastpath.scan(dataclasses.replace(problem.without_bonuses(), budget=math.inf), "min_cost", target)
    return None if found is None else (float(found[0].cost[found[1]]), found[0].plan(found[1]))


def shrink(problem: Problem, plan: Plan, target: float, max_checks: int = 20) -> Plan | None:
    """A shorter list inside ``plan`` that still reaches ``target`` under every limit but
    the budget (None if there is none): the programs are ranked by how much P(match) each
    one's removal would cost, and the shortest feasible prefix of that ranking reaching the
    target is returned (signals and divisions kept on the programs that stay).  Its cost
    is an upper end for the search without an integer-program solve."""
    idx = np.asarray(plan.idx, int)
    if len(idx) <= 1:
        return None
    w = problem.node_weights()
    A = problem.plan_log_fail(plan)  # (K, m)
    L = A.sum(axis=1)
    loss = w @ (np.exp(L[:, None] - A) - np.exp(L)[:, None])  # P(no match) rise if dropped
    order = np.argsort(-loss, kind="stable")
    pm = 1.0 - w @ np.exp(np.cumsum(A[:, order], axis=1))  # P(match) of each prefix
    free = dataclasses.replace(problem, budget=math.inf)
    sig = dict(plan.signals)
    for k in np.nonzero(pm >= target - P_TOL)[0][:max_checks]:
        if k + 1 >= len(idx):
            break
        keep = [int(i) for i in idx[order[:k + 1]]]
        sub = Plan.of(keep, {i: sig[i] for i in keep if i in sig}, plan.divisions)
        if feasibility.is_feasible(free, sub):
            return sub
    return None


def _count_levels(problem: Problem, cand: np.ndarray) -> np.ndarray | None:
    """The possible list costs when they depend only on the count of one specialty."""
    if np.any(problem.extra[cand] != 0) or len(set(problem.spec[cand].tolist())) != 1:
        return None
    n_max = min(problem.max_apps, len(cand))
    return np.unique(np.array(problem.schedule.fees(n_max), float))


def cheapest(problem: Problem, target: float, cand: np.ndarray, *, time_limit: float | None = None,
             engine: str = DEFAULT_ENGINE) -> Outcome:
    """The cheapest list over candidates ``cand`` with P(match) >= ``target`` (problem.budget
    is ignored: the answer is a cost).  Outcome.objective is that cost in USD, bound the
    proven lower bound on it; among the cheapest lists, the plan has the highest P(match)."""
    t0 = time.perf_counter()
    cand = np.asarray(cand, int)
    unit = cost_unit(problem, cand)
    levels = _count_levels(problem, cand)
    solves, secs = 0, 0.0

    def done(status, plan, value, lo_known, message, reachable=None):
        bound = None if lo_known is None else value if status is Status.OPTIMAL else _next_cost(lo_known)
        gap = None if value is None or bound is None else max(0.0, value - bound)
        return Outcome(status, plan, value, bound, gap, secs, time.perf_counter() - t0, solves, len(cand), "milp",
                       message, engine=engine, reachable=reachable)

    def _next_cost(lo_b: float) -> float:
        if levels is not None:
            above = levels[levels > lo_b + 1e-9]
            return float(above[0]) if len(above) else math.inf
        return (math.floor(lo_b / unit + 1e-9) + 1) * unit

    low = relaxed_lower_cost(problem, target)
    if low is None:  # even the relaxation cannot reach the target
        return done(Status.INFEASIBLE, None, None, None, "the target is out of reach even with every "
                    "program at its best probability")
    # the most any list can cost: every specialty at its count cap, the largest fee_extra
    spec = problem.spec[cand]
    top_fee = 0.0
    for s, name in enumerate(problem.specialties):
        k = min(int((spec == s).sum()), problem.max_apps, problem.spec_max.get(name, problem.max_apps))
        top_fee += problem.schedule.fee(k)
    b_top = top_fee + float(np.sort(problem.extra[cand])[::-1][:problem.max_apps].sum())
    f = build(dataclasses.replace(problem, budget=b_top), cand, "p_match")

    pool: dict = {}  # tangent points of the previous trial, valid at any budget

    def trial(budget: float, hint: Plan | None) -> Outcome:
        nonlocal solves, secs, pool
        pr = dataclasses.replace(problem, budget=float(budget))
        sub = dominance.reduce(pr)
        sub = np.intersect1d(sub, cand)
        start = greedy(pr, candidates=sub)
        if hint is not None and feasibility.is_feasible(pr, hint) and set(hint.idx) <= set(sub.tolist()):
            if objective_value(pr, hint) > objective_value(pr, start):
                start = hint
        start = local_search(pr, start, sub)
        left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - t0))
        out = solve_milp(pr, sub, "p_match", start=start, time_limit=left, engine=engine, formulation=f,
                         seed_cuts=pool or None)
        pool = out.cut_pool or pool
        solves += out.solves
        secs += out.seconds
        return out

    start_hi = plain_upper(problem, target) if (problem.has_signals or problem.has_geo) else None
    best: Outcome | None = None  # the trial whose list is the answer (None: a list not from a trial)
    held: Plan | None = None  # a list known to reach the target at cost hi
    if start_hi is not None and set(start_hi[1].idx) <= set(cand.tolist()):
        hi, held = start_hi[0], start_hi[1]  # a plain list reaches the target
        proven = True
    else:
        top = trial(b_top, None)
        if not top.status.has_list:
            return done(top.status, None, None, None, top.message or "no list within the other limits")
        if top.objective < target - P_TOL:
            if top.status is Status.OPTIMAL:
                return done(Status.INFEASIBLE, None, None, None,
                            f"the best P(match) within the other limits is {top.objective:.4f}", top.objective)
            return done(Status.NO_SOLUTION, None, None, None, "no list reaching the target was found in time "
                        f"(best found {top.objective:.4f}, not proven best)")
        best, hi, held = top, cost_of(problem, top.plan), top.plan
        proven = top.status is Status.OPTIMAL
    lo = low - unit / 2 if low > 0 else -1.0  # a budget at which the target is proven out of reach
    v_lo: float | None = None  # the best P(match) at lo, once a trial measured it
    hint_lo: Plan | None = None
    moves: list[str] = []

    def tighten(plan: Plan) -> None:
        """A shorter list that still reaches the target lowers hi without a solve."""
        nonlocal hi, held, best
        s = shrink(problem, plan, target)
        if s is not None and cost_of(problem, s) < hi - 1e-9:
            hi, held, best = cost_of(problem, s), s, None

    tighten(held)
    while True:
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            proven = False
            break
        grid = levels[(levels > lo + 1e-9) & (levels < hi - 1e-9)] if levels is not None else None
        if grid is not None and not len(grid):
            break
        k_lo, k_hi = math.floor(lo / unit + 1e-9), math.ceil(hi / unit - 1e-9)
        if grid is None and k_hi - k_lo <= 1:
            break
        guess = None
        if v_lo is not None and moves[-2:] != [moves[-1]] * 2:
            # interpolate log P(no match) linearly in cost between the two measured ends
            v_hi = evaluate(problem, held, correlations=()).p_match
            y_lo, y_hi = math.log(max(1 - v_lo, 1e-300)), math.log(max(1 - v_hi, 1e-300))
            if y_hi < y_lo:
                guess = lo + (math.log(1 - target) - y_lo) / (y_hi - y_lo) * (hi - lo)
        if grid is not None:
            mid = float(grid[(len(grid) - 1) // 2]) if guess is None else float(grid[min(
                int(np.searchsorted(grid, guess - 1e-9)), len(grid) - 1)])
        else:
            mid = ((k_lo + k_hi) // 2) * unit if guess is None else \
                min(max(math.ceil(guess / unit - 1e-9), k_lo + 1), k_hi - 1) * unit
        out = trial(mid, hint_lo)
        if out.status.has_list and out.objective >= target - P_TOL:
            best, hi, held = out, cost_of(problem, out.plan), out.plan
            proven = proven and out.status is Status.OPTIMAL
            moves.append("hi")
            tighten(out.plan)
        elif out.status is Status.OPTIMAL or out.status is Status.INFEASIBLE:
            lo, v_lo = mid, (out.objective if out.status.has_list else 0.0)
            hint_lo = out.plan
            moves.append("lo")
        else:  # neither reached nor proven out of reach: stop with what is proven
            proven = False
            break
    if best is None:  # the answer's cost came from a list no trial returned: the best list at that cost
        best = trial(hi, held)
        if not (best.status.has_list and best.objective >= target - P_TOL):
            raise SolverError("the max-P solve at a cost a known list reaches found no such list "
                              "(a bug; please report)")
        hi = cost_of(problem, best.plan)
        proven = proven and best.status is Status.OPTIMAL
    status = Status.OPTIMAL if proven else Status.FEASIBLE
    msg = f"budget search: {solves} integer-program solves" + ("" if proven else "; time limit reached, gap shown")
    return done(status, best.plan, hi, lo, msg)
