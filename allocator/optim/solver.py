"""Solve the integer program with CBC (PuLP), exactly, by outer approximation.

``solve_milp`` builds the model (:mod:`allocator.optim.formulation`), seeds tangent cuts, and
re-solves with CBC, adding cuts at each new list, until the true objective of the best
list found is within ``tol`` of the master problem's bound (Kelley's cutting-plane method
for a convex objective; DESIGN.md "Exact optimization").  With one quadrature node
(independent outcomes) the objective is linear and one solve is exact.

Every list CBC returns is re-checked with :mod:`allocator.optim.feasibility`; a violation is a
bug and raises.  PuLP's statuses are mapped in exactly one place
(:func:`allocator.status.from_pulp`); CBC's cutoff increment is set to 1e-10 (its default
returned non-optimal lists labelled optimal; DESIGN.md "Solver pitfalls"), and CBC 2.10's
integer preprocessing is switched off: on the exposure rows (many continuous l_k = sum a_ik
x_i equalities) it reduced 14 binaries to 4 and reported a list 53 points below the optimum
as "Optimal" (tests/test_solver.py keeps the brute-force check that caught it).  LP
presolve is off too: on the signal-and-division models it halved CBC's time (5.4 s to
2.1 s on the typical demo profile) and changed no optimum in the brute-force tests.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pulp

from allocator.optim import dominance

from allocator.optim import fastpath

from allocator.optim import feasibility
from allocator.studies.heuristics import greedy
from allocator.errors import SolverError
from allocator.optim.formulation import DROPPABLE, OBJ_SCALE, Formulation, build
from allocator.optim.problem import Plan, Problem
from allocator.status import Status, from_pulp

_ENGINE_NAME = {"highs": "HiGHS", "cbc": "CBC"}
log = logging.getLogger(__name__)

TOL = 1e-7  # absolute gap on the objective (a probability or an expected utility)
CUT_OFFSETS = (-2.0, -1.0, -0.5, -0.2, 0.0, 0.2, 0.5, 1.0)


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


@dataclass(frozen=True)
class CbcRun:
    status: Status
    objective: float | None
    bound: float | None
    seconds: float  # CBC's own wall time (from its log)
    total_seconds: float  # including PuLP writing the model and reading the solution


_BOUND_RE = re.compile(r"^(Lower bound|Best possible):\s*(-?[0-9.eE+-]+)", re.M)
_BEST_POSSIBLE_RE = re.compile(r"best possible (-?[0-9.eE+-]+)")
_TIME_RE = re.compile(r"Total time \(CPU seconds\):\s*[0-9.]+\s*\(Wallclock seconds\):\s*([0-9.]+)")


def run_cbc(f: Formulation, time_limit: float | None = None, warm: bool = False) -> CbcRun:
    """One CBC solve of the current model; returns the mapped status and the bound."""
    f.materialize()
    fd, logpath = tempfile.mkstemp(suffix=".cbc.log")
    os.close(fd)
    try:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=None if time_limit is None else max(1, math.ceil(time_limit)),
                                gapRel=0, gapAbs=1e-11, options=["increment 1e-10", "preprocess off"], presolve=False, warmStart=warm,
                                logPath=logpath, threads=1)
        t0 = time.perf_counter()
        try:
            f.model.solve(cmd)
        except pulp.PulpSolverError as e:
            raise SolverError(f"CBC failed: {e}") from None
        secs = time.perf_counter() - t0
        status = from_pulp(f.model.status, f.model.sol_status)
        val = pulp.value(f.model.objective) if status.has_list else None
        obj = (val or 0.0) / f.objective_scale if status.has_list else None
        bound = obj if status is Status.OPTIMAL else None
        with open(logpath) as fh:
            txt = fh.read()
        own = _TIME_RE.findall(txt)  # CBC's own wall time, without PuLP's file writing
        if status is Status.FEASIBLE:
            mm = _BOUND_RE.findall(txt)
            fine = _BEST_POSSIBLE_RE.findall(txt)  # 8 digits; the summary's "Lower bound:" has only 3
            if fine:
                bound = float(fine[-1]) / f.objective_scale
            elif mm:
                bound = float(mm[-1][1]) / f.objective_scale
            if bound is not None and obj is not None:
                bound = min(bound, obj)  # a lower bound never exceeds the incumbent (log rounding)
        return CbcRun(status, obj, bound, float(own[-1]) if own else secs, secs)
    finally:
        try:
            os.unlink(logpath)
        except OSError:
            pass


@contextlib.contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to /dev/null (C-level prints included) for the block."""
    import sys

    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


ENGINES = ("highs", "cbc")
DEFAULT_ENGINE = "highs"


class HighsSession:
    """One persistent HiGHS model per formulation.

    PuLP's HiGHS interface rebuilds the whole model at every solve; the outer approximation
    solves the same model many times, adding only tangent rows (and a budget sweep changes
    only the budget row).  The session builds the highspy model once (with PuLP's own
    builder), then appends the rows added since the last solve and re-reads the budget and
    count right-hand sides.  Solutions are written back into the PuLP variables, so the rest
    of the code reads them as before.
    """

    SYNCED_ROWS = ("budget", "max_applications")

    def __init__(self, f: Formulation):
        self.f = f
        # mip_feasibility_tolerance 1e-7 (default 1e-6): HiGHS otherwise accepts a MIP
        # solution its own final check (primal tolerance 1e-7) rejects as a "solve error"
        self.cmd = pulp.HiGHS(msg=False, gapRel=0.0, gapAbs=1e-11, mip_heuristic_run_feasibility_jump=False,
                              mip_feasibility_tolerance=1e-7)
        m = f.model
        with _quiet_stdout():  # highspy prints a banner from C, which would corrupt --json on stdout
            self.cmd.createAndConfigureSolver(m)
            self.cmd.buildSolverModel(m)
        self.h = m.solverModel
        self.n_base = self.n_rows = len(m.constraints)  # PuLP rows (materialized cuts included)
        self.n_cuts = f.n_materialized  # cuts (f.cuts) already in the model
        self.vars = sorted(m.variables(), key=lambda v: v.index)  # the formulation adds no variable later
        self.ids = {id(v) for v in self.vars}

    def clear_cuts(self) -> None:
        """Delete the tangent rows this session added (they follow every PuLP row)."""
        if self.n_rows > self.n_base:
            self.h.deleteRows(self.n_rows - self.n_base, np.arange(self.n_base, self.n_rows, dtype=np.int32))
        self.n_rows, self.n_cuts = self.n_base, self.f.n_materialized

    def _sync(self) -> None:
        import highspy

        m, h = self.f.model, self.h
        x = self.f.x
        h.changeColsBounds(len(x), np.array([v.index for v in x], np.int32),
                           np.array([v.lowBound or 0.0 for v in x], float),
                           np.array([1.0 if v.upBound is None else v.upBound for v in x], float))
        cons = m.constraints
        if len(cons) != self.n_base:
            raise SolverError("the PuLP model gained rows after the HiGHS model was built (a bug; please report)")
        new = self.f.cuts[self.n_cuts:]
        if new:
            k = len(new)
            lo = np.array([c.rhs for c in new], float)
            starts = np.arange(0, 2 * k, 2, dtype=np.int32)
            idx = np.array([i for c in new for i in (c.t.index, c.l.index)], np.int32)
            val = np.array([v for c in new for v in (OBJ_SCALE, c.l_coef)], float)
            h.addRows(k, lo, np.full(k, highspy.kHighsInf), 2 * k, starts, idx, val)
            self.n_rows += k
            self.n_cuts = len(self.f.cuts)
        for name in self.SYNCED_ROWS:
            c = cons.get(name)
            if c is not None:
                lb, ub = c.getLb(), c.getUb()
                h.changeRowBounds(c.index, -highspy.kHighsInf if lb is None else lb,
                                  highspy.kHighsInf if ub is None else ub)

    @staticmethod
    def _status(ms, info) -> Status:
        import highspy

        S = highspy.HighsModelStatus
        if ms == S.kOptimal:
            return from_pulp(pulp.LpStatusOptimal, pulp.LpSolutionOptimal)
        if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
            return from_pulp(pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible)
        if ms == S.kUnbounded:
            return from_pulp(pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded)
        if ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kObjectiveBound, S.kObjectiveTarget):
            if math.isfinite(info.objective_function_value) and info.primal_solution_status == 2:
                return from_pulp(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
            return from_pulp(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
        if ms in (S.kSolveError, S.kPresolveError, S.kPostsolveError, S.kModelError, S.kLoadError):
            return Status.ERROR
        return from_pulp(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)

    def run(self, time_limit: float | None, presolve: bool) -> CbcRun:
        m, h = self.f.model, self.h
        t0 = time.perf_counter()
        self._sync()
        h.clearSolver()  # no stale basis or solution from the previous solve
        if self.f.start_values:  # the best list so far, as HiGHS's first incumbent
            sv = [(v.index, val) for v, val in self.f.start_values.items() if id(v) in self.ids]
            h.setSolution(len(sv), np.array([i for i, _ in sv], np.int32), np.array([x for _, x in sv], float))
        h.setOptionValue("presolve", "on" if presolve else "off")
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else math.inf)
        t1 = time.perf_counter()
        try:
            with _quiet_stdout():
                h.run()
        except Exception as e:  # highspy raises plain exceptions
            raise SolverError(f"HiGHS failed: {e}") from None
        own = time.perf_counter() - t1
        info = h.getInfo()
        status = self._status(h.getModelStatus(), info)
        if status.has_list:
            col = h.getSolution().col_value
            for v in self.vars:
                v.varValue = col[v.index]
        if status is Status.FEASIBLE and info.primal_solution_status != 2:
            status = Status.NO_SOLUTION  # stopped at the time limit before any list
        val = pulp.value(m.objective) if status.has_list else None
        obj = (val or 0.0) / self.f.objective_scale if status.has_list else None
        bound = obj if status is Status.OPTIMAL else None
        if status is Status.FEASIBLE and math.isfinite(info.mip_dual_bound):
            bound = min(info.mip_dual_bound / self.f.objective_scale, obj)
        return CbcRun(status, obj, bound, own, time.perf_counter() - t0)


def run_highs(f: Formulation, time_limit: float | None = None, warm: bool = False) -> CbcRun:
    """One HiGHS solve of the current model, on the formulation's persistent session.

    Presolve is on: it fixes dominated binaries and merges parallel columns (the master of
    the 760-program sweep drops from 507 to 226 columns and solves about 4x faster;
    benchmarks/sweep_speed.py).  HiGHS 1.16's presolve has declared feasible tangent-cut
    models infeasible (tests/test_solver.py, min-cost cases), so an "infeasible" or a
    "solve error" is re-checked with presolve off before it is believed.
    """
    if f.session is None or len(f.model.constraints) != f.session.n_base:
        f.session = HighsSession(f)  # first solve, or CBC has solved this model since
    run = f.session.run(time_limit, presolve=True)
    if run.status in (Status.INFEASIBLE, Status.ERROR):
        left = None if time_limit is None else max(1.0, time_limit - run.total_seconds)
        again = f.session.run(left, presolve=False)
        return replace(again, seconds=again.seconds + run.seconds, total_seconds=again.total_seconds + run.total_seconds)
    return run


def run_master(f: Formulation, time_limit: float | None = None, warm: bool = False, engine: str = DEFAULT_ENGINE) -> CbcRun:
    """Solve the current master problem with the chosen engine ("highs" or "cbc")."""
    if engine == "cbc":
        return run_cbc(f, time_limit, warm)
    if engine == "highs":
        return run_highs(f, time_limit, warm)
    raise ValueError(f"unknown engine {engine!r}")


def _seed(f: Formulation, start: Plan | None, seed_cuts=None) -> None:
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


def _true_values(f: Formulation) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    vals = f.values()
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
    if f.mode == "utility":
        return -f.objective_offset - minimized
    if f.mode == "la_given_target":
        return 1.0 - minimized
    return minimized  # min_cost: USD


def solve_milp(problem: Problem, cand: np.ndarray, mode: str = "p_match", *, target: float | None = None,
               budget: float | None = None, start: Plan | None = None, time_limit: float | None = None,
               tol: float = TOL, max_solves: int = 60, seed_cuts=None, engine: str = DEFAULT_ENGINE,
               formulation: Formulation | None = None) -> Outcome:
    """Exact optimum over candidates ``cand`` (a dominance-reduced index set), by outer
    approximation with the master problem solved by ``engine`` ("highs" or "cbc").

    ``formulation``: a model built earlier (:func:`allocator.optim.formulation.build`, same mode,
    candidates ``cand``, built with a finite budget) to solve again at ``problem.budget``
    (or ``budget``): its tangent rows stay valid at any budget, so a budget sweep or a
    search over the budget keeps every cut and, with HiGHS, one persistent model."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    if formulation is not None:
        if formulation.mode != mode or not np.isin(np.asarray(cand, int), formulation.cand).all():
            raise ValueError("a reused formulation must have the same mode and include every candidate")
        if "budget" not in formulation.model.constraints:
            raise ValueError("a reused formulation needs a budget row")
    out = _solve_milp(problem, cand, mode, target=target, budget=budget, start=start, time_limit=time_limit,
                      tol=tol, max_solves=max_solves, seed_cuts=seed_cuts, engine=engine, f=formulation)
    return replace(out, engine=engine)


def _solve_milp(problem: Problem, cand: np.ndarray, mode: str, *, target, budget, start, time_limit, tol,
                max_solves, seed_cuts, engine, f=None) -> Outcome:
    t_wall = time.perf_counter()
    if f is None:
        f = build(problem, cand, mode, target=target, budget=budget)
    else:  # a model solved before: this point's budget and candidates, fresh tangent rows
        f.clear_cuts()
        f.restrict(np.isin(f.cand, cand))
        f.set_budget(problem.budget if budget is None else budget)
    n_cand = len(cand)  # this point's candidates (a reused model may hold more, fixed at 0)
    cand = f.cand
    # re-check lists against the budget this model enforces (an override, or none for min_cost)
    enforced = budget if budget is not None else (math.inf if mode == "min_cost" else problem.budget)
    checked = problem if enforced == problem.budget else replace(problem, budget=float(enforced))
    _seed(f, start, seed_cuts)
    if start is not None and feasibility.is_feasible(problem, start):
        f.set_start(start)
        warm = True
    else:
        warm = False
    best_plan, best_min = None, math.inf
    bound_min = -math.inf
    cbc_secs = 0.0
    solves = 0
    history = []
    pool: dict[str, list] = {}
    status_final = Status.OPTIMAL
    message = ""
    while True:
        left = None if time_limit is None else time_limit - (time.perf_counter() - t_wall)
        if left is not None and left <= 0:
            status_final = Status.FEASIBLE if best_plan is not None else Status.NO_SOLUTION
            message = "time limit reached"
            break
        run = run_master(f, left, warm, engine)
        solves += 1
        cbc_secs += run.seconds
        if run.status in (Status.INFEASIBLE, Status.ERROR) or (run.status is Status.NO_SOLUTION and best_plan is None):
            if run.status is Status.INFEASIBLE and best_plan is not None:
                # cannot happen for a relaxation that contained a feasible list
                raise SolverError(f"{_ENGINE_NAME.get(engine, engine)} declared a relaxation infeasible after a feasible list was found")
            return Outcome(run.status, None, None, None, None, cbc_secs, time.perf_counter() - t_wall,
                           solves, n_cand, "milp", f"{_ENGINE_NAME.get(engine, engine)}: " + run.status.value)
        if run.status is Status.NO_SOLUTION:
            status_final, message = Status.FEASIBLE, "time limit reached"
            break
        plan = f.plan()
        bad = feasibility.violations(checked, plan)
        if bad:
            raise SolverError(f"{_ENGINE_NAME.get(engine, engine)} returned a list that breaks {bad[0][0]}: {bad[0][1]} (a bug; please report)")
        Ls, vals = _true_values(f)
        for name, L in Ls.items():
            pool.setdefault(name, []).append(L)
        # constraint terms (targets): the list must satisfy them for real
        violated = False
        for name, rhs in f.constraint_terms:
            if vals[name] > rhs + 1e-12:
                violated = True
                f.add_cuts(f.terms[name], Ls[name])
        if f.linear_objective:
            minimized = float(np.exp(Ls["none"][0]))
        elif f.mode == "min_cost":
            minimized = float(pulp.value(f.cost_expr))
        else:
            minimized = _objective_from_terms(f, vals)
        if not violated and minimized < best_min - 1e-15:
            best_min, best_plan = minimized, plan
            f.set_start(plan)
            warm = True
        if run.bound is not None:
            b = run.bound if not f.linear_objective else float(np.exp(run.bound))
            bound_min = max(bound_min, b) if run.status is Status.OPTIMAL else b
        history.append({"solve": solves, "cbc_seconds": run.seconds, "solve_seconds": run.total_seconds,
                        "value": minimized, "bound": bound_min,
                        "violated_target": violated})
        if run.status is Status.FEASIBLE:  # CBC itself stopped at the time limit
            status_final, message = Status.FEASIBLE, "time limit reached"
            break
        if violated:
            if solves >= max_solves:
                status_final, message = Status.FEASIBLE if best_plan else Status.NO_SOLUTION, "cut limit reached"
                break
            continue
        if f.mode == "min_cost" or f.linear_objective or best_min - bound_min <= tol:
            status_final = Status.OPTIMAL
            break
        added = sum(f.add_cuts(f.terms[name], Ls[name]) for _, name in f.objective_terms)
        if added == 0 or solves >= max_solves:
            status_final = Status.FEASIBLE
            message = "no further cut (numerical tolerance)" if added == 0 else "cut limit reached"
            break
    if best_plan is None:  # no list met every constraint for real: never a status that promises one
        final = status_final if status_final in (Status.INFEASIBLE, Status.ERROR) else Status.NO_SOLUTION
        return Outcome(final, None, None,
                       None, None, cbc_secs, time.perf_counter() - t_wall, solves, n_cand, "milp", message,
                       history, pool)
    val = _report_value(f, best_min)
    bnd = _report_value(f, bound_min) if bound_min > -math.inf else None
    # a bound a hair above the best value is solver tolerance (1e-7 on rows), not a gap
    gap = max(0.0, best_min - bound_min) if bound_min > -math.inf else None
    if status_final is Status.OPTIMAL and gap is not None and gap > tol and f.mode != "min_cost":
        status_final = Status.FEASIBLE
    return Outcome(status_final, best_plan, val, bnd, gap, cbc_secs, time.perf_counter() - t_wall, solves,
                   n_cand, "milp", message, history, pool)


def explain_infeasibility(problem: Problem, cand: np.ndarray, *, mode: str = "p_match",
                          target: float | None = None, engine: str = DEFAULT_ENGINE,
                          known: bool = False) -> tuple[str, ...]:
    """The smallest set of named constraint groups that cannot hold together (a deletion
    filter over the groups present: drop a group whenever the rest stays infeasible).

    With a P(match) target (min_cost, la_given_target) a set of groups is infeasible when
    the best P(match) under those groups alone is below the target (a max-P solve that stops
    as soon as a list reaches the target or the bound falls short of it).  min_cost answers
    to no budget, so the budget is never one of its groups.  ``known``: every group together
    is already proven infeasible (the caller's own solve), so that check is skipped."""
    present = set(build(problem, cand, "p_match", feasibility_only=True).groups)
    if mode == "min_cost":
        present.discard("budget")
    if mode in ("min_cost", "la_given_target") and target is not None:
        present.add("target")
    groups = [g for g in DROPPABLE if g in present]

    def infeasible(keep: list[str]) -> bool:
        drop = tuple(g for g in DROPPABLE if g not in keep)
        if "target" in keep:
            loose = _loosen(problem, keep)
            quick = _target_by_scan(loose, float(target))
            if quick is not None:
                return quick
            # the limits left out no longer cap the counts: reduce the candidates for what is kept
            sub = np.intersect1d(dominance.reduce(loose), cand)
            f = build(loose, sub, "p_match", drop=drop)
            _seed(f, greedy(loose, candidates=sub))
            return _reaches_target(f, float(target), engine) is Status.INFEASIBLE
        f = build(problem, cand, "p_match", drop=drop, feasibility_only=True)
        return run_master(f, engine=engine).status is Status.INFEASIBLE

    if not known and not infeasible(groups):
        return ()
    if "target" in groups and len(groups) > 1 and infeasible(["target"]):
        return ("target",)  # out of reach even with every other limit lifted: the smallest core
    core = list(groups)
    for g in list(groups):
        trial = [x for x in core if x != g]
        if infeasible(trial):
            core = trial
    return tuple(core)


def _loosen(problem: Problem, keep: list[str]) -> Problem:
    """The problem with every limit outside ``keep`` lifted."""
    return replace(problem,
                   budget=problem.budget if "budget" in keep else math.inf,
                   max_apps=problem.max_apps if "max_applications" in keep else problem.n,
                   min_apps=problem.min_apps if "min_applications" in keep else 0,
                   la_share_max=problem.la_share_max if "la_share" in keep else 1.0,
                   spec_min=problem.spec_min if "specialty_limits" in keep else {},
                   spec_max=problem.spec_max if "specialty_limits" in keep else {},
                   must=problem.must if "must_apply" in keep else ())


def _target_by_scan(problem: Problem, target: float) -> bool | None:
    """Settle "can any list reach the P(match) target?" by count scans when they can:
    True (out of reach) when even the relaxation with every program at its best
    probability and no fee_extra falls short; False (reachable) when a plain list (no
    signals or divisions) reaches it; None when neither scan settles it."""
    best = problem.with_best_bonuses()
    if fastpath.applicable(best, "p_match"):
        found = fastpath.scan(best, "p_match")
        if found is None or found[0].p_match()[found[1]] < target - 1e-12:
            return True
    found = fastpath.scan(problem.without_bonuses(), "p_match")
    if found is not None and found[0].p_match()[found[1]] >= target - 1e-12:
        return False
    return None


def _reaches_target(f: Formulation, target: float, engine: str, max_solves: int = 60) -> Status:
    """OPTIMAL when some list under ``f``'s rows reaches P(match) >= target, INFEASIBLE when
    none can (no list at all, or the master's bound on P(match) is below the target), ERROR
    when neither is settled (numerical tolerance)."""
    for _ in range(max_solves):
        run = run_master(f, engine=engine)
        if not run.status.has_list:
            return run.status
        Ls, vals = _true_values(f)
        p_no = float(np.exp(Ls["none"][0])) if f.linear_objective else vals["none"]
        if 1.0 - p_no >= target - 1e-12:
            return Status.OPTIMAL
        if run.bound is not None:
            lower_p_no = float(np.exp(run.bound)) if f.linear_objective else run.bound
            if 1.0 - lower_p_no < target - 1e-12:
                return Status.INFEASIBLE
        if f.linear_objective or f.add_cuts(f.terms["none"], Ls["none"]) == 0:
            return Status.ERROR
    return Status.ERROR
