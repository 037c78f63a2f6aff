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

Why not one integer program with the target as a constraint (outer.solve_milp's
"min_cost" mode)?  Its target row is an outer approximation: every master solve returns
a list that looks cheap enough, most fail the true target, and with signals and divisions
each master is a hard problem with many lists of equal cost.  HiGHS found no list within
20 s on the demo profiles, CBC needed 150-210 s.  The budget search needs about
log2(range) max-P solves, on one model (the budget row changes, outer.solve_milp's
``formulation``), each warm-started.

A count scan over a relaxation (every program at its best signal and division state, no
fee_extra) gives a proven lower end before any integer program runs, and settles at once a
target that no list can reach.
"""
from __future__ import annotations

import math
import time

import numpy as np

from allocator.optim import dominance

from allocator.optim import fastpath

from allocator.optim import feasibility
from allocator.optim.evaluate import ensemble_values, evaluate
from allocator.optim.builder import build
from allocator.optim import pipeline
from allocator.optim.problem import Plan, Problem
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.optim.outer import Outcome, solve_milp
from allocator.errors import InputError, SolverError
from allocator.status import Status

P_TOL = 1e-12  # a list reaches the target when its P(match) >= target - P_TOL


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
    relaxed = problem.with_best_bonuses().with_limits(budget=math.inf)
    if not fastpath.applicable(relaxed, "min_cost"):
        return 0.0  # too many classes for the scan: no bound beyond "a list costs >= 0"
    found = fastpath.scan(relaxed, "min_cost", target)
    return None if found is None else float(found[0].cost[found[1]])


def plain_upper(problem: Problem, target: float) -> tuple[float, Plan] | None:
    """A list reaching ``target`` without signals or divisions, the cheapest such (count
    scan), as the search's first upper end; None when the scan does not apply (fee_extra)
    or no plain list reaches the target."""
    found = fastpath.scan(problem.without_bonuses().with_limits(budget=math.inf), "min_cost", target)
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
    free = problem.with_limits(budget=math.inf)
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


class _Search:
    """The budget search for the cheapest list reaching ``target``: an upper end ``hi`` (the
    cost of a list ``held`` known to reach it) and a lower end ``lo`` (a budget at which
    the target is proven out of reach), closed by max-P(match) trials on one model."""

    def __init__(self, problem: Problem, target: float, cand: np.ndarray, time_limit, engine: str):
        self.pr, self.target, self.cand = problem, target, np.asarray(cand, int)
        self.time_limit, self.engine = time_limit, engine
        self.t0 = time.perf_counter()
        self.unit = cost_unit(problem, self.cand)
        self.levels = _count_levels(problem, self.cand)
        self.solves, self.secs, self.pool = 0, 0.0, {}
        self.best: Outcome | None = None  # the trial whose list is the answer (None: a list not from a trial)
        self.hi, self.held, self.proven = math.inf, None, True
        self.lo, self.v_lo, self.hint_lo, self.moves = -1.0, None, None, []
        self.b_top = self._top_cost()
        self.f = build(problem.with_limits(budget=self.b_top), self.cand, "p_match")

    def _top_cost(self) -> float:
        """The most any list can cost: every specialty at its count cap, the largest fee_extra."""
        pr, spec = self.pr, self.pr.spec[self.cand]
        top = 0.0
        for s, name in enumerate(pr.specialties):
            k = min(int((spec == s).sum()), pr.max_apps, pr.spec_max.get(name, pr.max_apps))
            top += pr.schedule.fee(k)
        return top + float(np.sort(pr.extra[self.cand])[::-1][:pr.max_apps].sum())

    def cost(self, plan: Plan) -> float:
        return self.pr.list_cost(plan.idx)[0]

    def next_cost(self, lo_b: float) -> float:
        if self.levels is not None:
            above = self.levels[self.levels > lo_b + 1e-9]
            return float(above[0]) if len(above) else math.inf
        return (math.floor(lo_b / self.unit + 1e-9) + 1) * self.unit

    def done(self, status, plan, value, lo_known, message, reachable=None) -> Outcome:
        bound = None if lo_known is None else value if status is Status.OPTIMAL else self.next_cost(lo_known)
        gap = None if value is None or bound is None else max(0.0, value - bound)
        return Outcome(status, plan, value, bound, gap, self.secs, time.perf_counter() - self.t0, self.solves,
                       len(self.cand), "milp", message, engine=self.engine, reachable=reachable)

    def trial(self, budget: float, hint: Plan | None) -> Outcome:
        """The best P(match) within ``budget``, exactly, on the search's one model."""
        pr = self.pr.with_limits(budget=float(budget))
        sub = np.intersect1d(dominance.reduce(pr), self.cand)
        start = pipeline.start_list(pr, sub, hint=hint, polish=True)
        left = None if self.time_limit is None else max(1.0, self.time_limit - (time.perf_counter() - self.t0))
        out = solve_milp(pr, sub, "p_match", start=start, time_limit=left, engine=self.engine, formulation=self.f,
                         seed_cuts=self.pool or None)
        self.pool = out.cut_pool or self.pool
        self.solves += out.solves
        self.secs += out.seconds
        return out

    def reached(self, out: Outcome) -> bool:
        return out.status.has_list and out.objective >= self.target - P_TOL

    def tighten(self, plan: Plan) -> None:
        """A shorter list that still reaches the target lowers hi without a solve."""
        s = shrink(self.pr, plan, self.target)
        if s is not None and self.cost(s) < self.hi - 1e-9:
            self.hi, self.held, self.best = self.cost(s), s, None

    def next_budget(self) -> float | None:
        """The next trial budget (None: no list cost lies strictly between the two ends):
        log P(no match) interpolated between the measured ends, bisection when one end
        moved twice in a row."""
        lo, hi, unit, levels = self.lo, self.hi, self.unit, self.levels
        grid = levels[(levels > lo + 1e-9) & (levels < hi - 1e-9)] if levels is not None else None
        k_lo, k_hi = math.floor(lo / unit + 1e-9), math.ceil(hi / unit - 1e-9)
        if (grid is not None and not len(grid)) or (grid is None and k_hi - k_lo <= 1):
            return None
        guess = None
        if self.v_lo is not None and self.moves[-2:] != [self.moves[-1]] * 2:
            v_hi = evaluate(self.pr, self.held, correlations=()).p_match
            y_lo, y_hi = math.log(max(1 - self.v_lo, 1e-300)), math.log(max(1 - v_hi, 1e-300))
            if y_hi < y_lo:
                guess = lo + (math.log(1 - self.target) - y_lo) / (y_hi - y_lo) * (hi - lo)
        if grid is not None:
            return float(grid[(len(grid) - 1) // 2]) if guess is None else float(grid[min(
                int(np.searchsorted(grid, guess - 1e-9)), len(grid) - 1)])
        return ((k_lo + k_hi) // 2) * unit if guess is None else \
            min(max(math.ceil(guess / unit - 1e-9), k_lo + 1), k_hi - 1) * unit

    def step(self, budget: float) -> bool:
        """One trial at ``budget``: move an end; False when it settled neither."""
        out = self.trial(budget, self.hint_lo)
        if self.reached(out):
            self.best, self.hi, self.held = out, self.cost(out.plan), out.plan
            self.proven = self.proven and out.status is Status.OPTIMAL
            self.moves.append("hi")
            self.tighten(out.plan)
        elif out.status in (Status.OPTIMAL, Status.INFEASIBLE):
            self.lo, self.v_lo = budget, (out.objective if out.status.has_list else 0.0)
            self.hint_lo = out.plan
            self.moves.append("lo")
        else:
            return False
        return True


class _PercentileSearch(_Search):
    """The budget search judged at the 10th percentile over the plausible models
    (``--target-on p10``): a trial reaches the target when the best-P(match) list at its
    budget (proven best on average) has a 10th percentile at or above it.  That is a rule,
    not a proof: a list with a lower average but a higher 10th percentile could be cheaper,
    and the 10th percentile of the budgets' best lists is assumed to rise with the budget
    (bisection).  So the answer is never called optimal (status "feasible", no bound)."""

    def reached(self, out: Outcome) -> bool:
        return out.status.has_list and p10(self.pr, out.plan) >= self.target - P_TOL

    def tighten(self, plan: Plan) -> None:  # shrink judges by the average
        return None

    def step(self, budget: float) -> bool:
        moved = super().step(budget)
        self.v_lo = None  # the interpolation guess is for the average: bisect
        return moved


def check_p10(problem: Problem) -> None:
    """InputError unless the lists are chosen under the two-stage model and it has a range of
    plausible models (at least two cards) to take a 10th percentile over."""
    fe = problem.fm_ensemble
    if fe is None or fe.n_cards < 2:
        raise InputError("--target-on p10 needs a range over plausible models, and these probabilities have none "
                         "(one card, or the catalog's own p_match column): use --target-on average")
    if problem.fm is None:
        raise InputError("--target-on p10 judges the target over the two-stage model's plausible models, but a set "
                         "correlation chooses the lists under the one-factor copula: leave the correlation unset, "
                         "or use --target-on average")


def p10(problem: Problem, plan: Plan) -> float:
    """The 10th percentile of ``plan``'s P(match) over the ensemble's cards."""
    return float(ensemble_values(problem, plan)["p_match_interval"][0])


def _cheapest_at_p10(problem: Problem, target: float, cand: np.ndarray, time_limit, engine: str) -> Outcome:
    """:func:`cheapest` judged at the 10th percentile (see :class:`_PercentileSearch`)."""
    check_p10(problem)
    s = _PercentileSearch(problem, target, cand, time_limit, engine)
    top = _top_trial(s)
    if not top.status.has_list:
        return top
    at = p10(problem, top.plan)
    if at < target - P_TOL:  # (s.reached(top), without computing it twice)
        if top.status is not Status.OPTIMAL:
            return s.done(Status.NO_SOLUTION, None, None, None, "no list reaching the target at the 10th percentile "
                          f"was found in time (the best found gives {at:.4f} there, not proven best)")
        return s.done(Status.INFEASIBLE, top.plan, None, None, "the best-P(match) list within the other limits "
                      f"gives {at:.4f} at the 10th percentile", at)
    s.best, s.hi, s.held = top, s.cost(top.plan), top.plan
    s.proven = top.status is Status.OPTIMAL
    stopped = False
    while True:
        if time_limit is not None and time.perf_counter() - s.t0 > time_limit:
            stopped = True
            break
        budget = s.next_budget()
        if budget is None:
            break
        if not s.step(budget):
            stopped = True
            break
    each = "each list proven best on average for its budget" if s.proven else \
        "not every list proven best on average for its budget"
    msg = (f"budget search judged at the 10th percentile: {s.solves} integer-program solves; the cheapest budget "
           f"whose best-P(match) list reaches the target there ({each}, none proven the cheapest at the 10th "
           "percentile)" + ("; time limit reached: a cheaper budget may reach it too" if stopped else ""))
    return s.done(Status.FEASIBLE, s.best.plan, s.hi, None, msg)


def _top_trial(s: _Search) -> Outcome:
    """The best-P(match) list at the largest cost any list can have, or, when there is none,
    the search's answer saying so (an Outcome without a list)."""
    top = s.trial(s.b_top, None)
    if not top.status.has_list:
        return s.done(top.status, None, None, None, top.message or "no list within the other limits")
    return top


def _upper_end(s: _Search) -> Outcome | None:
    """Set the search's first upper end (a plain list by count scan, or the all-budget
    solve); an Outcome when that already settles the answer (out of reach, no list)."""
    pr, target = s.pr, s.target
    start_hi = plain_upper(pr, target) if (pr.has_signals or pr.has_geo) else None
    if start_hi is not None and set(start_hi[1].idx) <= set(s.cand.tolist()):
        s.hi, s.held = start_hi  # a plain list reaches the target
        return None
    top = _top_trial(s)
    if not top.status.has_list:
        return top
    if top.objective < target - P_TOL:
        if top.status is Status.OPTIMAL:  # the best list rides along (no list: infeasible), for the message's range
            return s.done(Status.INFEASIBLE, top.plan, None, None,
                          f"the best P(match) within the other limits is {top.objective:.4f}", top.objective)
        return s.done(Status.NO_SOLUTION, None, None, None, "no list reaching the target was found in time "
                      f"(best found {top.objective:.4f}, not proven best)")
    s.best, s.hi, s.held = top, s.cost(top.plan), top.plan
    s.proven = top.status is Status.OPTIMAL
    return None


def cheapest(problem: Problem, target: float, cand: np.ndarray, *, time_limit: float | None = None,
             engine: str = DEFAULT_ENGINE, on: str = "average") -> Outcome:
    """The cheapest list over candidates ``cand`` with P(match) >= ``target`` (problem.budget
    is ignored: the answer is a cost).  Outcome.objective is that cost in USD, bound the
    proven lower bound on it; among the cheapest lists, the plan has the highest P(match).
    ``on="p10"``: the target judged at the 10th percentile over the plausible models, by
    the rule of :class:`_PercentileSearch` (status "feasible", no bound)."""
    if on == "p10":
        return _cheapest_at_p10(problem, target, cand, time_limit, engine)
    low = relaxed_lower_cost(problem, target)
    s = _Search(problem, target, cand, time_limit, engine)
    if low is None:  # even the relaxation cannot reach the target
        return s.done(Status.INFEASIBLE, None, None, None, "the target is out of reach even with every "
                      "program at its best probability")
    settled = _upper_end(s)
    if settled is not None:
        return settled
    s.lo = low - s.unit / 2 if low > 0 else -1.0
    s.tighten(s.held)
    while True:
        if time_limit is not None and time.perf_counter() - s.t0 > time_limit:
            s.proven = False
            break
        budget = s.next_budget()
        if budget is None:
            break
        if not s.step(budget):  # neither reached nor proven out of reach: stop with what is proven
            s.proven = False
            break
    if s.best is None:  # the answer's cost came from a list no trial returned: the best list at that cost
        s.best = s.trial(s.hi, s.held)
        if not s.reached(s.best):
            raise SolverError("the max-P solve at a cost a known list reaches found no such list "
                              "(a bug; please report)")
        s.hi = s.cost(s.best.plan)
        s.proven = s.proven and s.best.status is Status.OPTIMAL
    status = Status.OPTIMAL if s.proven else Status.FEASIBLE
    msg = f"budget search: {s.solves} integer-program solves" + ("" if s.proven else "; time limit reached, gap shown")
    return s.done(status, s.best.plan, s.hi, s.lo, msg)
