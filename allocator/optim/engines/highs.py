"""The HiGHS adapter (highspy), with its own status map and one persistent model per formulation.

PuLP's HiGHS interface rebuilds the whole model at every solve; the outer approximation
solves the same model many times, adding only tangent rows (and a budget sweep changes only
the budget row).  A :class:`HighsSession` builds the highspy model once (with PuLP's own
builder), then appends the rows added since the last solve and re-reads the budget and count
right-hand sides.  Sessions are kept per formulation in a weak dictionary, so the formulation
itself holds no solver state.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass, replace

import numpy as np
from allocator.optim.engines.pulp_import import pulp

from allocator.errors import SolverError
from allocator.optim.engines import MasterRun
from allocator.optim.formulation import OBJ_SCALE, Formulation
from allocator.status import Status

_SESSIONS: "weakref.WeakKeyDictionary[Formulation, HighsSession]" = weakref.WeakKeyDictionary()


_QUIET = threading.Lock()


@contextlib.contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to /dev/null (C-level prints included) for the block: around
    creating a HiGHS model, whose banner would corrupt --json on stdout (a run with
    output_flag off prints nothing, so runs are not wrapped).  The descriptor is process-wide,
    so one block at a time: two threads' blocks interleaved left stdout pointing at /dev/null."""
    import sys

    with _QUIET:
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


def _set_time_limit(h, seconds: float | None) -> None:
    """Limit the next run to ``seconds``.  HiGHS compares its time_limit with the run time
    summed over every run of the same Highs object (ERGO-Code/HiGHS#1477; highspy 1.16 has
    no zeroAllClocks), so the limit is set past the time already run: a persistent session
    otherwise hit the limit at once after a long integer program (a frontier point's first
    linear program stopped unsolved, with no bound)."""
    h.setOptionValue("time_limit", math.inf if seconds is None else h.getRunTime() + float(seconds))


# Dual pricing for a run that starts from a basis (a relaxation re-solved after tangent rows
# were added, or with binaries fixed): Devex.  HiGHS's default (dual steepest edge) first
# computes exact edge weights for the basis, one solve per row: on the safety-first models
# (5,000 rows, 490,000 nonzeros) a 510-iteration re-solve took 0.38-0.54 s, 0.16-0.35 s with
# Devex.  A cold run keeps HiGHS's choice, steepest edge here (Devex took 0.83 s against
# 0.42-0.55 s for 2,870 iterations).  Same optima, fewer seconds: benchmarks/warm_pricing.py.
WARM_DUAL_PRICING = 1  # simplex_dual_edge_weight_strategy: -1 choose, 0 Dantzig, 1 Devex, 2 steepest edge


def _timed_run(h) -> float:
    """Run HiGHS (output_flag is off: it prints nothing); its own seconds.  A highspy
    exception becomes a SolverError.  A run from a valid basis prices by Devex
    (WARM_DUAL_PRICING), a cold one by HiGHS's choice."""
    h.setOptionValue("simplex_dual_edge_weight_strategy", WARM_DUAL_PRICING if h.getBasis().valid else -1)
    t1 = time.perf_counter()
    try:
        h.run()
    except Exception as e:  # highspy raises plain exceptions
        raise SolverError(f"HiGHS failed: {e}") from None
    return time.perf_counter() - t1


@dataclass(frozen=True)
class NamedBasis:
    """A relaxation's simplex basis by column name and row key (HighsSession.row_keys), so
    that a model of the same problem built with other rows can start from it."""

    cols: dict
    rows: dict


class HighsSession:
    """One persistent HiGHS model per formulation.

    PuLP's HiGHS interface rebuilds the whole model at every solve; the outer approximation
    solves the same model many times, adding only tangent rows (and a budget sweep changes
    only the budget row).  The session builds the highspy model once (with PuLP's own
    builder), then appends the rows added since the last solve and re-reads the budget and
    count right-hand sides.  Solutions are written back into the PuLP variables, so the rest
    of the code reads them as before.
    """

    SYNCED_ROWS = ("budget", "budget_count", "la_count", "max_applications", "target")

    def __init__(self, f: Formulation):
        # a weak reference: the session is _SESSIONS' value for the key f, and a strong one kept
        # f alive for ever (every solve's HiGHS models, 70 MB each on the safety-first models,
        # stayed in memory: a web server grew by 200 MB per request)
        self.f = weakref.proxy(f)
        # mip_feasibility_tolerance 1e-7 (default 1e-6): HiGHS otherwise accepts a MIP
        # solution its own final check (primal tolerance 1e-7) rejects as a "solve error"
        self.cmd = pulp.HiGHS(msg=False, gapRel=0.0, gapAbs=1e-11, mip_heuristic_run_feasibility_jump=False,
                              mip_feasibility_tolerance=1e-7)
        m = f.model
        with _quiet_stdout():  # highspy prints a banner from C, which would corrupt --json on stdout
            self.cmd.createAndConfigureSolver(m)
            self.cmd.buildSolverModel(m)
        self.h = m.solverModel
        self.n_pulp = len(m.constraints)  # PuLP rows (materialized cuts included)
        if not f.exposures_in_model:  # the dense l = L rows, in one call
            starts, idx, val = f.exposure_csr()
            k = len(starts)
            if k:
                self.h.addRows(k, np.zeros(k), np.zeros(k), len(idx), starts, idx, val)
        self.n_base = self.n_rows = self.h.getNumRow()  # PuLP rows, then the exposure rows
        self.n_cuts = f.n_materialized  # cuts (f.cuts) already in the model
        self.epoch = f.cut_epoch  # the formulation's clear_cuts count when these rows were taken
        self.vars = sorted(m.variables(), key=lambda v: v.index)  # the formulation adds no variable later
        self.ids = {id(v) for v in self.vars}
        self.ints = np.array([v.index for v in self.vars if v.cat == pulp.LpInteger], np.int32)
        self.relaxed = False  # the binaries are continuous (run_relaxation) until a MIP solve restores them
        self.fixed: dict[int, float] = {}  # column -> value fixed for one relaxation (set_fixed)

    def set_fixed(self, fixed: dict[int, float]) -> None:
        """Fix the given binaries (column index -> 0 or 1), freeing those fixed before
        (back to their PuLP bounds, which also carry restrict()'s fixings)."""
        free = [j for j in self.fixed if j not in fixed]
        if free:
            vs = [self.vars[j] for j in free]
            self.h.changeColsBounds(len(free), np.array(free, np.int32),
                                    np.array([v.lowBound or 0.0 for v in vs], float),
                                    np.array([1.0 if v.upBound is None else v.upBound for v in vs], float))
        if fixed:
            js = np.array(list(fixed), np.int32)
            val = np.array([fixed[j] for j in fixed], float)
            self.h.changeColsBounds(len(js), js, val, val)
        self.fixed = dict(fixed)

    def set_relaxed(self, relaxed: bool) -> None:
        """Make the binaries continuous (the linear relaxation) or integer again."""
        import highspy

        if relaxed == self.relaxed or not len(self.ints):
            self.relaxed = relaxed
            return
        kind = highspy.HighsVarType.kContinuous if relaxed else highspy.HighsVarType.kInteger
        self.h.changeColsIntegrality(len(self.ints), self.ints, np.full(len(self.ints), kind))
        self.relaxed = relaxed

    def row_keys(self) -> list[tuple]:
        """A key for each row that another model of the same problem gives the same row:
        PuLP rows by name, exposure rows by their l variable, tangent rows by (t, l, slope,
        right-hand side)."""
        f = self.f
        keys: list[tuple] = [("row", name) for name in f.model.constraints]
        if not f.exposures_in_model:
            keys += [("l", lv.name) for tm in f.terms.values() for lv in tm.l]
        first = f.n_materialized
        keys += [("cut", c.t.name, c.l.name, c.l_coef, c.rhs) for c in f.cuts[first:first + self.n_rows - len(keys)]]
        return keys

    def named_basis(self) -> NamedBasis | None:
        """The basis of the last relaxation solved here, by column and row key (None when
        there is none: no relaxation yet, or an integer program since)."""
        b = self.h.getBasis()
        if not (self.relaxed and b.valid):
            return None
        cols, rows = list(b.col_status), list(b.row_status)
        return NamedBasis({v.name: cols[v.index] for v in self.vars}, dict(zip(self.row_keys(), rows)))

    def start_from(self, basis: NamedBasis) -> None:
        """Start the next relaxation from ``basis`` (another model's, e.g. step 1's for step
        2): columns and rows both models have keep their status; a new exposure row sits at
        its bound with its l variable basic, a new tangent row is basic, any other new column
        at its lower bound.  HiGHS takes it as an alien basis, completing and repairing it."""
        import highspy

        S = highspy.HighsBasisStatus
        new_l = set()
        rows = []
        for key in self.row_keys():
            st = basis.rows.get(key)
            if st is None and key[0] == "l":
                st = S.kLower
                new_l.add(key[1])
            rows.append(S.kBasic if st is None else st)
        cols = [S.kLower] * len(self.vars)
        for v in self.vars:
            st = basis.cols.get(v.name)
            cols[v.index] = S.kBasic if v.name in new_l else (S.kLower if st is None else st)
        b = highspy.HighsBasis()
        b.col_status, b.row_status, b.alien, b.valid = cols, rows, True, True
        if self.h.setBasis(b) != highspy.HighsStatus.kOk:
            self.h.setBasis()  # HiGHS refused it: the usual cold start

    def clear_cuts(self) -> None:
        """Delete the tangent rows this session added (they follow every PuLP row)."""
        if self.n_rows > self.n_base:
            self.h.deleteRows(self.n_rows - self.n_base, np.arange(self.n_base, self.n_rows, dtype=np.int32))
        self.n_rows, self.n_cuts = self.n_base, self.f.n_materialized

    def _sync(self) -> None:
        import highspy

        m, h = self.f.model, self.h
        if self.f.cut_epoch != self.epoch:  # the formulation dropped its tangent rows: drop ours
            self.clear_cuts()
            self.epoch = self.f.cut_epoch
        x = self.f.x
        h.changeColsBounds(len(x), np.array([v.index for v in x], np.int32),
                           np.array([v.lowBound or 0.0 for v in x], float),
                           np.array([1.0 if v.upBound is None else v.upBound for v in x], float))
        cons = m.constraints
        if len(cons) != self.n_pulp:
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
        """HiGHS's model status onto :class:`Status` (this engine's own map)."""
        import highspy

        S = highspy.HighsModelStatus
        if ms == S.kOptimal:
            return Status.OPTIMAL
        if ms in (S.kInfeasible, S.kUnboundedOrInfeasible):
            return Status.INFEASIBLE
        if ms in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kObjectiveBound, S.kObjectiveTarget):
            has_list = math.isfinite(info.objective_function_value) and info.primal_solution_status == 2
            return Status.FEASIBLE if has_list else Status.NO_SOLUTION
        if ms == S.kUnbounded:
            return Status.ERROR  # our models are bounded: unbounded means a modelling bug
        if ms in (S.kSolveError, S.kPresolveError, S.kPostsolveError, S.kModelError, S.kLoadError):
            return Status.ERROR
        return Status.NO_SOLUTION

    def run(self, time_limit: float | None, presolve: bool) -> MasterRun:
        m, h = self.f.model, self.h
        t0 = time.perf_counter()
        self._sync()
        self.set_fixed({})
        self.set_relaxed(False)
        h.clearSolver()  # no stale basis or solution from the previous solve
        if self.f.start_values:  # the best list so far, as HiGHS's first incumbent
            sv = [(v.index, val) for v, val in self.f.start_values.items() if id(v) in self.ids]
            h.setSolution(len(sv), np.array([i for i, _ in sv], np.int32), np.array([x for _, x in sv], float))
        h.setOptionValue("presolve", "on" if presolve else "off")
        _set_time_limit(h, time_limit)
        own = _timed_run(h)
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
        # OPTIMAL: the list's value (HiGHS leaves mip_dual_bound at 0 when presolve solves the
        # whole model); run_highs checks that this value is the objective HiGHS reports
        bound = obj if status is Status.OPTIMAL else None
        if status is Status.FEASIBLE and math.isfinite(info.mip_dual_bound):
            bound = min(info.mip_dual_bound / self.f.objective_scale, obj)
        return MasterRun(status, obj, bound, own, time.perf_counter() - t0, proven=not presolve)


def open_session(f: Formulation) -> None:
    """The persistent session of ``f``, created now if it has none (see engines.open_session)."""
    if _SESSIONS.get(f) is None:
        _SESSIONS[f] = HighsSession(f)


def run_highs(f: Formulation, time_limit: float | None = None, warm: bool = False,
              presolve: bool = True) -> MasterRun:
    """One HiGHS solve of the current model, on the formulation's persistent session.

    Presolve is on by default: it fixes dominated binaries and merges parallel columns (the
    master of the 760-program sweep drops from 507 to 226 columns and solves about 4x
    faster; benchmarks/sweep_speed.py).  HiGHS 1.16's presolve is not reliable on these
    models: it has declared feasible tangent-cut models infeasible (tests/test_solver.py,
    min-cost cases), reported "optimal" with a dual bound above the master's true optimum
    (signal models at rho = 0.6: the reduced model had lost the signalled lists), and
    returned the MIP start's columns with the objective of a better list (signal models at
    rho = 0).  So an "infeasible", a "solve error", or a list whose value is not the
    objective HiGHS reports is re-checked with presolve off at once, and any presolved run
    comes back with ``proven=False``: callers stop only on a bound from a run with
    ``proven=True`` (tests/test_signals.py, test_highs_matches_brute_force).
    """
    session = _SESSIONS.get(f)
    if session is None or len(f.model.constraints) != session.n_pulp:
        session = _SESSIONS[f] = HighsSession(f)  # first solve, or CBC has solved this model since
    run = session.run(time_limit, presolve=presolve)
    if presolve and (run.status in (Status.INFEASIBLE, Status.ERROR)
                     or (run.status.has_list and _inconsistent(session, f, run))):
        left = None if time_limit is None else max(1.0, time_limit - run.total_seconds)
        again = session.run(left, presolve=False)
        return replace(again, seconds=again.seconds + run.seconds, total_seconds=again.total_seconds + run.total_seconds)
    return run


LP_INTEGRAL = 1e-6  # a relaxation's binaries this close to 0 or 1 are read as a list (re-checked by the caller)


def named_basis(f: Formulation) -> NamedBasis | None:
    """The basis of ``f``'s last relaxation (None: none, or no HiGHS session)."""
    session = _SESSIONS.get(f)
    return None if session is None else session.named_basis()


def run_relaxation(f: Formulation, time_limit: float | None = None, fixed: dict | None = None) -> MasterRun:
    """The linear relaxation of the current master on the formulation's session: every
    binary continuous, presolve off (its optimum is then a bound to stop on), warm-started by
    dual simplex from the previous relaxation's basis (only tangent rows were added since).
    The columns are written back into the PuLP variables unrounded; ``integral`` says
    whether every binary is within LP_INTEGRAL of 0 or 1."""
    import highspy

    session = _SESSIONS.get(f)
    if session is None or len(f.model.constraints) != session.n_pulp:
        session = _SESSIONS[f] = HighsSession(f)
    h = session.h
    t0 = time.perf_counter()
    session._sync()
    session.set_fixed(fixed or {})
    session.set_relaxed(True)
    if f.warm_basis is not None:  # the first relaxation of a model that follows another's
        if not h.getBasis().valid:
            session.start_from(f.warm_basis)
        f.warm_basis = None
    h.setOptionValue("presolve", "off")
    _set_time_limit(h, time_limit)
    own = _timed_run(h)
    ms = h.getModelStatus()
    if ms != highspy.HighsModelStatus.kOptimal:
        status = Status.INFEASIBLE if ms == highspy.HighsModelStatus.kInfeasible else Status.ERROR
        return MasterRun(status, None, None, own, time.perf_counter() - t0, proven=True, integral=False)
    sol = h.getSolution()
    col = np.asarray(sol.col_value)
    for v in session.vars:
        v.varValue = col[v.index]
    ints = col[session.ints] if len(session.ints) else np.zeros(0)
    integral = bool(np.all(np.minimum(np.abs(ints), np.abs(ints - 1.0)) <= LP_INTEGRAL))
    obj = float(pulp.value(f.model.objective) or 0.0) / f.objective_scale
    return MasterRun(Status.OPTIMAL, obj, obj, own, time.perf_counter() - t0, proven=True, integral=integral,
                     columns=col, duals=np.asarray(sol.col_dual))


def _inconsistent(session: HighsSession, f: Formulation, run: MasterRun) -> bool:
    """HiGHS reported an objective other than the value of the columns it returned."""
    info = session.h.getInfo()
    if not math.isfinite(info.objective_function_value):
        return False
    claimed = info.objective_function_value / f.objective_scale
    return abs(claimed - run.objective) > 1e-9 * max(1.0, abs(run.objective))
