"""Exact optimum of the integer program by outer approximation (Kelley's cutting planes).

``solve_milp`` builds the model (:mod:`allocator.optim.formulation`), seeds tangent cuts, and
re-solves the master problem with an engine (:mod:`allocator.optim.engines`), adding cuts at
each new list, until the true objective of the best list found is within ``tol`` of the master
problem's bound.  With one quadrature node (independent outcomes) the objective is linear and
one solve is exact.  Every list an engine returns is re-checked with
:mod:`allocator.optim.feasibility`; a violation is a bug and raises.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from allocator.optim.engines.pulp_import import pulp

from allocator.errors import SolverError
from allocator.optim import deadline, feasibility, fixing
from allocator.optim.engines import DEFAULT_ENGINE, ENGINES, run_master
from allocator.optim.builder import build
from allocator.optim.formulation import Formulation
from allocator.optim.problem import Plan, Problem
from allocator.status import Status

log = logging.getLogger(__name__)

TOL = 1e-7  # gap on the objective: a probability, or an expected utility per unit of the largest utility (_in_units)
CUT_OFFSETS = (-2.0, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)
# The linear relaxation first (HiGHS): Kelley rounds on the master's LP, each a warm-started
# dual simplex, until the LP's own point is within LP_SETTLED of its true value (the LP bound
# then cannot rise by more) or LP_ROUNDS rounds; an integral LP point is a list, and its value
# within tol of the LP bound proves it optimal with no integer solve at all.
LP_ROUNDS = 40  # per node of the relaxation's branch and bound
NODE_LPS = 60  # relaxations in all before the integer program takes over
# The tree branches on divisions and fee blocks only: fractional programs are knapsack items
# (fee_extra, LA share, a target row), which HiGHS's own cuts close far faster than this
# tree (a frontier point: 160 s branching on programs, 1-15 s handing them to HiGHS).
BRANCH_PROGRAMS = False
# the message of an outcome stopped at the relaxation's root by its settle gap
SETTLED = "proven gap left by the relaxation"
MIP_UNPRESOLVED = True  # after the relaxation tree, integer programs run without presolve (proven bounds)
LP_SETTLED = 0.1  # x tol
# With a settle gap (solve_milp's settle_gap) the root gets at most this many Kelley rounds and
# no clock: its bound, valid after any round, is then the same on a busy machine as on an idle
# one (the shipped profiles' floored roots settle in 3-5 rounds; a frontier point near the
# safest list on the strong profile took more than its 3 s window before)
SETTLE_ROUNDS = 12
# ... and stops early when a round raised its bound by less than SETTLE_RISE (a probability, or
# per unit of the largest utility: _in_units): the bound is valid after any round, and the rounds after such a one
# moved it by 1e-9 to 9e-7 on the shipped profiles (the strong profile's LA-leaning root rose
# 8.4e-7, 5e-7, 2.5e-7, 1e-7, 4e-9 in its last five rounds, against a gap of 3e-3), while each
# cost 0.02-0.2 s.  The rule reads only the LP bounds, so the root stops at the same round on
# any machine and whatever list the local search found.
SETTLE_RISE = 1e-6
# ... or after a round whose LP point is valued within SETTLE_POINT of its true value (the
# point gap): the next round's tangents there would lift the bound by about that much (1.0-2.5x
# the point gap on the shipped profiles' floored roots, where the point also misses the floor
# a little, so this is a measured ratio, not a bound).  The bound is valid after any round; on
# the shipped profiles every floored root stops after its second round, 1.4e-6 to 3.2e-5 of
# point gap, with a bound looser by 7e-7 to 4.6e-5 than fully settled, against stated gaps of
# 1e-3 to 1e-2, and saves the third and fourth rounds (0.1-0.3 s each on the typical profile).
SETTLE_POINT = 5e-5
# ... but a root that leaves WIDE_GAP or more (a probability, or per unit of the largest
# utility) above the best list found is not settled: the local search is then far from the
# optimum (seen with 3-4 applications, where no single move reaches a list that changes two
# programs at once: E[U] 15.6 points short, P(match in LA) 0 where 0.38 was reachable), and
# the integer program gets the step's window (it closed those in 0.1-1 s).  The shipped
# profiles' floored roots leave 0.0004-0.012, so their answers are unchanged.  A settle gap of
# 0 (stop at the root, whatever its gap) is exempt.
WIDE_GAP = 0.05
LP_VIOLATION = 1e-9  # a target row the relaxation misses by less is met to the LP's own tolerance


@dataclass(frozen=True)
class Outcome:
    """What one optimization returned."""

    status: Status
    plan: Plan | None
    objective: float | None  # true value of the best list (P, E[U], or USD for min_cost)
    bound: float | None  # proven bound on the optimum (same units)
    gap: float | None  # |bound - objective|, absolute
    seconds: float  # CBC's own time, summed over solves (PuLP's file writing excluded)
    wall: float  # total wall time
    solves: int
    n_candidates: int
    path: str  # "milp" or "fast"
    message: str = ""
    iterations: list = field(default_factory=list)
    # term name -> exposures L (K,) of every list CBC returned; tangents there are valid cuts for
    # any budget or count/LA limit with the same quadrature nodes (pass back as seed_cuts)
    cut_pool: dict = field(default_factory=dict)
    engine: str = ""  # "highs" or "cbc" for the integer program; "" for the count scan
    reachable: float | None = None  # min_cost out of reach: the best P(match) within the other limits
    # HiGHS: the last relaxation's basis (engines.highs.NamedBasis), when asked (solve_milp's
    # keep_basis), for a following model to start from (its warm_basis)
    basis: object = None


def seed_tangents(f: Formulation, start: Plan | None, seed_cuts=None) -> None:
    """Tangent cuts around a starting list (or the empty list), and at ``seed_cuts``
    exposures, so that the first master problem is already close."""
    if not f.terms:
        return
    xs = np.zeros(len(f.cand))
    if start is not None:
        on = set(start.idx)
        xs = np.array([1.0 if int(i) in on else 0.0 for i in f.cand])
    for name, tm in f.terms.items():
        base = tm.plain() @ xs
        for L in [base + d for d in CUT_OFFSETS]:
            f.add_tangents(tm, np.minimum(L, 0.0))
        f.add_tangents(tm, np.zeros(len(tm.w)))
        if seed_cuts and name in seed_cuts:
            for L in seed_cuts[name]:
                f.add_tangents(tm, L)


def true_values(f: Formulation, vals: dict | None = None) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(exposures, value) of every term at the master's current point, or at block values ``vals``."""
    vals = f.values() if vals is None else vals
    Ls = {name: t.exposures(vals) for name, t in f.terms.items()}
    vals = {name: f.terms[name].value(L) for name, L in Ls.items()}
    return Ls, vals


def _objective_from_terms(f: Formulation, vals: dict[str, float]) -> float:
    """The minimized quantity (P(no match), or sum_j du_j P_no_j) at the current list."""
    return sum(c * vals[name] for c, name in f.objective_terms)


def _report_value(f: Formulation, minimized: float) -> float:
    """Convert the minimized quantity into what the user maximizes."""
    if f.mode == "p_match":
        return 1.0 - minimized
    if f.mode in ("utility", "utility_given_target"):
        return -f.objective_offset - minimized
    if f.mode == "la_given_target":
        return 1.0 - minimized
    return minimized  # min_cost: USD


def solve_milp(problem: Problem, cand: np.ndarray, mode: str = "p_match", *, target: float | None = None,
               budget: float | None = None, start: Plan | None = None, time_limit: float | None = None,
               tol: float = TOL, max_solves: int = 60, seed_cuts=None, engine: str = DEFAULT_ENGINE,
               formulation: Formulation | None = None, keep_cuts: bool = False,
               settle_gap: float | None = None, keep_basis: bool = False, warm_basis=None) -> Outcome:
    """Exact optimum over candidates ``cand`` (a dominance-reduced index set), by outer
    approximation with the master problem solved by ``engine`` ("highs" or "cbc").

    ``formulation``: a model built earlier (:func:`allocator.optim.builder.build`, same mode,
    candidates ``cand``, built with a finite budget) to solve again at ``problem.budget``
    (or ``budget``): its tangent rows stay valid at any budget, so a budget sweep or a
    search over the budget keeps every cut and, with HiGHS, one persistent model.

    ``keep_cuts``: solve ``formulation`` again under the same limits, only its P(match) floor
    set to ``target`` (a frontier's next point): the tangent rows in it are kept (the
    frontier clears them first and passes the last point's exposures as ``seed_cuts``).

    ``settle_gap``: when the root of the relaxation tree (Kelley rounds until its bound
    settles, so the same on any machine) leaves a proven gap above this, stop there with the
    best list and that gap (status "feasible") instead of branching and running the integer
    program, which do not close such gaps in seconds on the floored objectives (the
    safety-first steps).

    ``keep_basis`` (HiGHS): the outcome carries the last relaxation's basis; ``warm_basis``
    such a basis of an earlier solve of the same problem (step 1's, for the floored steps), to
    start this model's first relaxation from: on the shipped profiles the floored steps' first
    linear programs then take 0.3x the simplex iterations (2,870 -> 975 for the typical
    answer's, 2,820 -> 809 for its LA-leaning list's)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    if formulation is not None:
        if formulation.mode != mode or not np.isin(np.asarray(cand, int), formulation.cand).all():
            raise ValueError("a reused formulation must have the same mode and include every candidate")
        if "budget" not in formulation.model.constraints and not keep_cuts:
            raise ValueError("a reused formulation needs a budget row")
    if not len(cand):
        return replace(_no_candidate(problem, mode, target, budget), engine=engine)
    cap = deadline.left()  # a hard deadline (the web page's time limit) bounds every window given here
    if cap is not None:  # passed: no solve starts (each one checks the time left first)
        time_limit = cap if time_limit is None else min(time_limit, cap)
    out = _solve_milp(problem, cand, mode, target=target, budget=budget, start=start, time_limit=time_limit,
                      tol=tol, max_solves=max_solves, seed_cuts=seed_cuts, engine=engine, f=formulation,
                      keep_cuts=keep_cuts, settle_gap=settle_gap, warm_basis=warm_basis, keep_basis=keep_basis)
    return replace(out, engine=engine)


def _no_candidate(problem: Problem, mode: str, target: float | None, budget: float | None) -> Outcome:
    """No candidate (every program excluded or unaffordable): the empty list is the only list,
    optimal when it meets the limits and the P(match) floor (a floor of 0), else none is
    feasible.  The engines are not asked: HiGHS calls a model with no column "empty", not
    solved (a sweep or an expected-utility solve then said "no list; raise the time limit")."""
    from allocator.optim.evaluate import mode_value

    t0 = time.perf_counter()
    empty = Plan.of([], {}, ())
    limits = problem if budget is None else problem.with_limits(budget=float(budget))
    floored = mode in ("min_cost", "la_given_target", "utility_given_target")  # the others ignore a target
    if mode == "min_cost" or not feasibility.is_feasible(limits, empty) or (floored and target is not None
                                                                            and target > 0):
        return Outcome(Status.INFEASIBLE, None, None, None, None, 0.0, time.perf_counter() - t0, 0, 0, "milp",
                       "no candidate program")
    val = mode_value(problem, empty, mode)
    return Outcome(Status.OPTIMAL, empty, val, val, 0.0, 0.0, time.perf_counter() - t0, 0, 0, "milp",
                   "no candidate program")


def _prepare(problem: Problem, cand: np.ndarray, mode: str, target, budget, f: Formulation | None,
             keep_cuts: bool = False):
    """The model for this solve (built, or a reused one set to this point's budget and
    candidates with fresh tangent rows) and the problem its lists are re-checked against."""
    if f is None:
        f = build(problem, cand, mode, target=target, budget=budget)
    elif keep_cuts:
        if target is not None:
            f.set_target(target)
    else:
        f.clear_cuts()
        f.restrict(np.isin(f.cand, cand))
        f.set_budget(problem.budget if budget is None else budget)
    # re-check lists against the budget this model enforces (an override, or none for min_cost)
    enforced = budget if budget is not None else (math.inf if mode == "min_cost" else problem.budget)
    checked = problem if enforced == problem.budget else problem.with_limits(budget=float(enforced))
    return f, checked


class _Loop:
    """The state of one outer approximation: the best list, the proven bound, the history."""

    def __init__(self, f: Formulation, checked: Problem, engine: str, n_cand: int):
        self.f, self.checked, self.engine, self.n_cand = f, checked, engine, n_cand
        self.t0 = time.perf_counter()
        self.best_plan, self.best_min, self.bound_min = None, math.inf, -math.inf
        self.secs, self.solves, self.history, self.pool = 0.0, 0, [], {}
        self.warm = self.confirm = False
        self.unpresolved = False  # every integer program without presolve (after the relaxation tree)
        self.engine_lists = 0  # lists the engine returned (the start list is an incumbent, not one of them)
        self.lp_solves = 0  # relaxations solved (not counted against max_solves)
        self.keep_basis = False  # the outcome carries the last relaxation's basis (HiGHS)
        self.root_lp = None  # the root relaxation's last (bound, columns, reduced costs): optim.fixing
        self.root_points: dict[str, list] = {}  # exposures at the root's relaxation points

    def minimized(self, Ls, vals) -> float:
        f = self.f
        if f.linear_objective:
            return float(np.exp(Ls["none"][0]))
        if f.mode == "min_cost":
            return float(pulp.value(f.cost_expr))
        return _objective_from_terms(f, vals)

    def take_start(self, plan: Plan) -> None:
        """The start list as the first incumbent, when it meets every constraint term for real
        (max-P and utility modes)."""
        if not (self.f.mode == "min_cost" or self.f.linear_objective):
            self.offer(plan)

    def offer(self, plan: Plan) -> bool:
        """Take ``plan`` as the incumbent when it meets every constraint term for real and is
        better than the best so far (whether it was taken)."""
        f = self.f
        Ls, vals = true_values(f, f.values_at(plan))
        if any(vals[name] > rhs + 1e-12 for name, rhs in f.constraint_terms):
            return False
        value = self.minimized(Ls, vals)
        if value < self.best_min - 1e-15:
            self.best_min, self.best_plan = value, plan
            return True
        return False

    def read(self, run, bound: bool = True) -> tuple[bool, float | None]:
        """Take the master's list: re-check it, keep it if best; (target violated, its bound hint)."""
        f = self.f
        plan = f.plan()
        self.engine_lists += 1
        bad = feasibility.violations(self.checked, plan)
        if bad:
            raise SolverError(f"the {self.engine} engine returned a list that breaks {bad[0][0]}: {bad[0][1]} "
                              "(a bug; please report)")
        point = f.values()
        Ls, vals = true_values(f, point)
        for name, L in Ls.items():
            self.pool.setdefault(name, []).append(L)
        violated = False
        for name, rhs in f.constraint_terms:  # constraint terms (targets): met for real
            if vals[name] > rhs + 1e-12:
                violated = True
                f.add_cuts(f.terms[name], Ls[name])
        value = self.minimized(Ls, vals)
        canon = f.values_at(plan)
        if any(not np.array_equal(canon[k], v) for k, v in point.items()):
            # the master's point left a benefit unused (a list found before the optimum, e.g. at a
            # time limit): the list is worth more than the point, and that is what is reported
            Lc, vc = true_values(f, canon)
            violated = any(vc[name] > rhs + 1e-12 for name, rhs in f.constraint_terms)
            value = self.minimized(Lc, vc)
        if not violated and value < self.best_min - 1e-15:
            self.best_min, self.best_plan = value, plan
            f.set_start(plan)
            self.warm = True
        b = None
        if run.bound is not None and bound:
            b = run.bound if not f.linear_objective else float(np.exp(run.bound))
            # only a proven bound (CBC, or HiGHS without presolve) is one to stop on and report;
            # every proven bound holds (the cuts under-estimate), so the tightest is kept: a program
            # stopped by its clock early (a busy machine) must not replace the relaxation's bound
            # with its own looser one (the strong applicant's gap read 0.17 instead of 7.7e-5)
            if run.proven:
                self.bound_min = max(self.bound_min, b)
        self.history.append({"solve": self.solves, "cbc_seconds": run.seconds, "solve_seconds": run.total_seconds,
                             "value": value, "bound": self.bound_min, "violated_target": violated})
        self._Ls = Ls
        return violated, b

    def outcome(self, status: Status, message: str, tol: float) -> Outcome:
        wall = time.perf_counter() - self.t0
        if self.best_plan is None:  # no list met every constraint for real: never a status that promises one
            final = status if status in (Status.INFEASIBLE, Status.ERROR) else Status.NO_SOLUTION
            return Outcome(final, None, None, None, None, self.secs, wall, self.solves, self.n_cand, "milp",
                           message, self.history, self.pool)
        f, bmin = self.f, self.bound_min
        val = _report_value(f, self.best_min)
        bnd = _report_value(f, bmin) if bmin > -math.inf else None
        # a bound a hair above the best value is solver tolerance (1e-7 on rows), not a gap
        gap = max(0.0, self.best_min - bmin) if bmin > -math.inf else None
        if status is Status.OPTIMAL and gap is not None and gap > tol and f.mode != "min_cost":
            status = Status.FEASIBLE
        return Outcome(status, self.best_plan, val, bnd, gap, self.secs, wall, self.solves, self.n_cand, "milp",
                       message, self.history, self.pool, basis=self._basis())

    def _basis(self):
        """The last relaxation's basis, when asked (solve_milp's keep_basis)."""
        if not self.keep_basis:
            return None
        from allocator.optim.engines.highs import named_basis

        return named_basis(self.f)


def _in_units(f: Formulation, amount: float) -> float:
    """A tolerance on the objective (TOL, a settle gap, SETTLE_RISE) in the objective's own
    units: times the largest utility for E[U] (builder.objective_unit), as is for a probability."""
    return amount * f.objective_unit


def _solve_milp(problem: Problem, cand: np.ndarray, mode: str, *, target, budget, start, time_limit, tol,
                max_solves, seed_cuts, engine, f=None, relax: bool = True, keep_cuts=False,
                settle_gap: float | None = None, warm_basis=None, keep_basis: bool = False,
                reduce: bool = True) -> Outcome:
    n_cand = len(cand)  # this point's candidates (a reused model may hold more, fixed at 0)
    f, checked = _prepare(problem, cand, mode, target, budget, f, keep_cuts)
    f.warm_basis = warm_basis if engine == "highs" else None
    tol_asked = tol
    tol, settle_gap = _in_units(f, tol), (None if settle_gap is None else _in_units(f, settle_gap))
    loop = _Loop(f, checked, engine, n_cand)
    loop.keep_basis = keep_basis and engine == "highs"
    seed_tangents(f, start, seed_cuts)
    if start is not None and feasibility.is_feasible(checked, start):
        f.set_start(start)
        loop.warm = True
        loop.take_start(start)
    if relax and engine == "highs" and not f.linear_objective:
        done = _relaxation(loop, tol, time_limit, settle_gap)
        if done is not None:
            return done
        if settle_gap is not None and loop.best_plan is not None and loop.bound_min > -math.inf:
            left = loop.best_min - loop.bound_min
            if settle_gap < left and (settle_gap == 0 or left < _in_units(f, WIDE_GAP)):
                return loop.outcome(Status.FEASIBLE, SETTLED, tol)
        if reduce:  # the integer program on the candidates the root cannot rule out (optim.fixing)
            done = _reduced(loop, problem, cand, mode, target=target, budget=budget, time_limit=time_limit,
                            tol=tol, tol_asked=tol_asked, max_solves=max_solves)
            if done is not None:
                return done
        # the relaxation's cuts already bound the master tightly: presolve (slow on the dense
        # exposure rows, and its bound not one to stop on) would only add a confirming solve,
        # after every integer program of the loop, not only the first (the typical profile's
        # --objective utility: three programs, 22.8 s, now two, 17.5-17.9 s; sweeps unchanged)
        loop.unpresolved = MIP_UNPRESOLVED
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - loop.t0)
        if left is not None and left <= 0:
            return loop.outcome(Status.FEASIBLE, "time limit reached", tol)
        run = run_master(f, left, loop.warm, engine, proven=loop.confirm or loop.unpresolved)
        loop.confirm = False
        loop.solves += 1
        loop.secs += run.seconds
        if run.status in (Status.INFEASIBLE, Status.ERROR) or (run.status is Status.NO_SOLUTION
                                                              and not loop.engine_lists):
            if run.status is Status.INFEASIBLE and loop.best_plan is not None:
                # cannot happen for a relaxation that contained a feasible list (lists that only
                # broke a target row were cut off by valid tangents: then infeasible is the answer)
                raise SolverError(f"the {engine} engine declared a relaxation infeasible after a feasible list")
            return Outcome(run.status, None, None, None, None, loop.secs, time.perf_counter() - loop.t0,
                           loop.solves, n_cand, "milp", f"{engine}: {run.status.value}")
        if run.status is Status.NO_SOLUTION:
            return loop.outcome(Status.FEASIBLE, "time limit reached", tol)
        violated, b = loop.read(run)
        if run.status is Status.FEASIBLE:  # the engine itself stopped at the time limit
            return loop.outcome(Status.FEASIBLE, "time limit reached", tol)
        if violated:
            if loop.solves - loop.lp_solves >= max_solves:
                return loop.outcome(Status.FEASIBLE, "cut limit reached", tol)
            continue
        hint = loop.bound_min if run.proven or b is None else max(loop.bound_min, b)
        if f.mode == "min_cost" or f.linear_objective or loop.best_min - hint <= tol:
            if run.proven:
                return loop.outcome(Status.OPTIMAL, "", tol)
            loop.confirm = True  # the same master (no new cut) without presolve: its bound is one to stop on
            continue
        added = sum(f.add_cuts(f.terms[name], loop._Ls[name]) for _, name in f.objective_terms)
        if added == 0 or loop.solves - loop.lp_solves >= max_solves:
            return loop.outcome(Status.FEASIBLE, "no further cut (numerical tolerance)" if added == 0
                                else "cut limit reached", tol)


def _reduced(loop: _Loop, problem: Problem, cand: np.ndarray, mode: str, *, target, budget, time_limit, tol: float,
             tol_asked: float, max_solves: int) -> Outcome | None:
    """The relaxation tree handed over to the integer program: take the root point, floored and
    climbed, as the incumbent when it is better, drop the candidates whose reduced-cost bound
    rules them out against it (:mod:`allocator.optim.fixing`), and solve the rest exactly on a
    model of their own, seeded with every tangent point found here.  None when nothing is gained
    (no root relaxation or incumbent, or the rest is more than 1 - MIN_SHARE of the model's
    columns: a sweep's shared model, built at the largest budget, also counts the programs this
    point cannot afford): the caller's integer program runs on its model."""
    f = loop.f
    if (not fixing.ENABLED or loop.root_lp is None or loop.root_lp[2] is None or mode == "min_cost"
            or len(cand) < fixing.MIN_CANDIDATES):
        return None
    z, columns, duals = loop.root_lp
    start = fixing.climbed(loop.checked, fixing.floored_root(f, columns), np.asarray(cand, int), mode, target)
    if start is not None and loop.offer(start):
        f.set_start(start)
        loop.warm = True
    if loop.best_plan is None:
        return None
    room = (loop.best_min - z + fixing.MARGIN * tol) * f.objective_scale  # in the engine's objective units
    red = np.intersect1d(fixing.kept(f, columns, duals, room, loop.best_plan), np.asarray(cand, int))
    left = None if time_limit is None else time_limit - (time.perf_counter() - loop.t0)
    # the model's columns, not this point's candidates: a sweep's shared model holds every budget's
    if len(red) > (1.0 - fixing.MIN_SHARE) * len(f.cand) or (left is not None and left <= 0):
        return None
    basis = loop._basis()  # this model's last relaxation (the tree's root or last node): a floored step's
    # warm start, taken before the reduced solve, whose integer program leaves it no basis
    at_best, _ = true_values(f, f.values_at(loop.best_plan))  # its exact tangents: a master that returns it
    seeds = {name: loop.pool.get(name, []) + loop.root_points.get(name, []) + [at_best[name]]  # values it right
             for name in f.terms}
    out = _solve_milp(problem, red, mode, target=target, budget=budget, start=loop.best_plan, time_limit=left,
                      tol=tol_asked, max_solves=max_solves, seed_cuts=seeds, engine=loop.engine, reduce=False)
    if not out.status.has_list:
        return None
    pool = {name: loop.pool.get(name, []) + (out.cut_pool or {}).get(name, []) for name in f.terms}
    log.info("integer program on %d of %d candidates (the rest ruled out by the root's reduced costs; the model "
             "held %d): %s", len(red), len(cand), len(f.cand), out.status.value)
    return replace(out, seconds=loop.secs + out.seconds, wall=time.perf_counter() - loop.t0,
                   solves=loop.solves + out.solves, n_candidates=loop.n_cand,
                   iterations=loop.history + list(out.iterations), cut_pool=pool, basis=basis)


def _relaxed_point(f: Formulation) -> tuple[dict, float, bool]:
    """Exposures at the relaxation's (fractional) columns, the gap between the master's
    true value there and the LP objective, and whether a target row is violated there."""
    vals = f.raw_values()
    Ls = {name: t.exposures(vals) for name, t in f.terms.items()}
    true = {name: float(t.wm @ np.exp(np.minimum(t.master(Ls[name]), 0.0))) for name, t in f.terms.items()}
    lp = {name: float(t.wm @ np.array([v.varValue or 0.0 for v in t.t])) for name, t in f.terms.items()}
    gap = sum(c * (true[name] - lp[name]) for c, name in f.objective_terms)
    violated = any(true[name] > rhs + LP_VIOLATION for name, rhs in f.constraint_terms)
    return Ls, gap, violated


def _branch_column(f: Formulation, run) -> tuple[int, float] | None:
    """The binary to branch on at a fractional relaxation point, and its value: a division
    first (a handful of them decide most of the rest), then a fee block, then the most
    fractional program or state."""
    from allocator.optim.engines.highs import LP_INTEGRAL, _SESSIONS

    session = _SESSIONS[f]
    col = run.columns
    best, key = None, None
    for j in session.ints:
        v = float(col[j])
        frac = min(v, 1.0 - v)
        if frac <= LP_INTEGRAL:
            continue
        name = session.vars[j].name
        rank = 0 if name.startswith("g_") else 1 if name.startswith("fee_flat") else 2
        k = (rank, -frac)
        if key is None or k < key:
            best, key = (int(j), v), k
    if key is not None and key[0] == 2 and not BRANCH_PROGRAMS:
        return None
    return best


class _Tree:
    """A depth-first branch and bound over the master's linear relaxation (LP/NLP-based
    branch and bound: Kelley rounds at every node, every cut valid everywhere).  A node is
    closed when its relaxation is infeasible, its settled LP bound is within ``tol`` of the
    best list, or its point is integral (a list, read as an incumbent); the answer is
    proven when every node is closed.  Gives up (None) after NODE_LPS relaxations."""

    def __init__(self, loop: _Loop, tol: float, time_limit: float | None, settle: float | None = None):
        self.loop, self.tol, self.time_limit, self.settle = loop, tol, time_limit, settle
        self.lps = 0
        self.closed_bound = math.inf  # the least LP bound of a node closed by bound or as a list

    def left(self) -> float | None:
        return None if self.time_limit is None else self.time_limit - (time.perf_counter() - self.loop.t0)

    def node(self, fixed: dict, root: bool):
        """Kelley rounds at one node: ("closed", bound), ("branch", bound, (column, value)) or None."""
        loop, f = self.loop, self.loop.f
        names = list(dict.fromkeys([name for _, name in f.objective_terms] + [name for name, _ in f.constraint_terms]))
        settling = root and self.settle is not None  # a fixed number of rounds, whatever the clock says ...
        last = -math.inf  # the previous round's LP bound
        for _ in range(SETTLE_ROUNDS if settling else LP_ROUNDS):
            left = deadline.left() if settling else self.left()  # ... unless a hard deadline caps them
            if (left is not None and left <= 0) or self.lps >= NODE_LPS:
                return None
            run = run_master(f, left, engine=loop.engine, relax=True, fixed=fixed)
            self.lps += 1
            loop.lp_solves += 1
            loop.solves += 1
            loop.secs += run.seconds
            if run.status is Status.INFEASIBLE:  # presolve off: a relaxation with no point is proven empty
                return ("closed", math.inf) if not root else ("infeasible", run)
            if run.status is not Status.OPTIMAL:
                return None
            Ls, gap, violated = _relaxed_point(f)
            if root:
                loop.root_lp = (float(run.bound), run.columns, run.duals)
                for name, L in Ls.items():  # its points' tangents, for a reduced model (_reduced)
                    loop.root_points.setdefault(name, []).append(L)
            if run.integral and not feasibility.violations(loop.checked, f.plan()):
                loop.read(run, bound=root)
            else:
                if root:
                    loop.bound_min = max(loop.bound_min, float(run.bound))
                loop.history.append({"solve": loop.solves, "cbc_seconds": run.seconds,
                                     "solve_seconds": run.total_seconds, "value": loop.best_min,
                                     "bound": loop.bound_min, "violated_target": violated})
            loop.history[-1].update(relaxation=True, depth=len(fixed))
            if run.bound >= loop.best_min - self.tol:
                return ("closed", float(run.bound))
            added = sum(f.add_cuts(f.terms[name], Ls[name]) for name in names)
            if added == 0 or (gap <= LP_SETTLED * self.tol and not violated):
                break
            if settling and not run.integral and (float(run.bound) - last < _in_units(f, SETTLE_RISE)
                                                  or gap <= _in_units(f, SETTLE_POINT)):
                break  # (an integral point keeps its rounds: below, it closes the node, which needs it settled)
            last = float(run.bound)
        if run.integral:  # settled at a list whose value is its LP bound: nothing better below
            return None if violated else ("closed", float(run.bound))
        where = _branch_column(f, run)
        return None if where is None else ("branch", float(run.bound), where)

    def solve(self) -> Outcome | None:
        loop = self.loop
        stack = [({}, -math.inf)]
        while stack:
            fixed, parent = stack.pop()
            if parent >= loop.best_min - self.tol:
                self.closed_bound = min(self.closed_bound, parent)
                continue
            res = self.node(fixed, root=not fixed)
            if res is None:
                return None
            if res[0] == "infeasible":  # no list at all (every cut is valid)
                return Outcome(Status.INFEASIBLE, None, None, None, None, loop.secs, time.perf_counter() - loop.t0,
                               loop.solves, loop.n_cand, "milp", f"{loop.engine}: infeasible")
            if res[0] == "closed":
                self.closed_bound = min(self.closed_bound, res[1])
                continue
            _, bound, (j, v) = res
            if not fixed and self.settle is not None and loop.best_min - loop.bound_min > self.settle:
                return None  # a root gap this wide is not closed by branching on a few divisions
            near = 1.0 if v >= 0.5 else 0.0  # the nearer value is explored first (pushed last)
            stack.append(({**fixed, j: 1.0 - near}, bound))
            stack.append(({**fixed, j: near}, bound))
        if loop.best_plan is None:
            return None  # no list found in the tree: the integer program settles it
        loop.bound_min = max(loop.bound_min, min(self.closed_bound, loop.best_min))
        return loop.outcome(Status.OPTIMAL, "", self.tol)


def _relaxation(loop: _Loop, tol: float, time_limit: float | None, settle: float | None = None) -> Outcome | None:
    """Branch and bound on the master's linear relaxation (HiGHS, warm-started; :class:`_Tree`).
    The answer when every node closed; None when the integer program must take over (too
    many relaxations, a failed LP, or no list found: it then handles the model itself, with
    every cut found here), or at once after the root when ``settle`` is given and the root
    leaves a wider gap (the caller then stops with that gap)."""
    out = _Tree(loop, tol, time_limit, settle).solve()
    if out is None:
        from allocator.optim.engines.highs import _SESSIONS

        session = _SESSIONS.get(loop.f)
        if session is not None:
            session.set_fixed({})
    return out
