"""The CBC adapter (PULP_CBC_CMD, bundled with PuLP 3.x), with its own status map.

CBC's cutoff increment is set to 1e-10 (its default returned non-optimal lists labelled
optimal), and CBC 2.10's integer preprocessing is switched off: on the exposure rows (many
continuous l_k = sum a_ik x_i equalities) it reduced 14 binaries to 4 and reported a list 53
points below the optimum as "Optimal" (tests/test_solver.py keeps the brute-force check that
caught it).  LP presolve is off too: on the signal-and-division models it halved CBC's time
and changed no optimum in the brute-force tests.  PuLP reports "Optimal" when CBC stops at a
time limit with a solution: :func:`from_pulp` reads ``sol_status`` to tell the two apart.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
import time

from allocator.optim.engines.pulp_import import pulp

from allocator.errors import SolverError
from allocator.optim.engines import MasterRun
from allocator.optim.formulation import Formulation
from allocator.status import Status

_BOUND_RE = re.compile(r"^(Lower bound|Best possible):\s*(-?[0-9.eE+-]+)", re.M)
_BEST_POSSIBLE_RE = re.compile(r"best possible (-?[0-9.eE+-]+)")
_TIME_RE = re.compile(r"Total time \(CPU seconds\):\s*[0-9.]+\s*\(Wallclock seconds\):\s*([0-9.]+)")


def from_pulp(status: int, sol_status: int) -> Status:
    """Map PuLP's (``prob.status``, ``prob.sol_status``) pair onto :class:`Status`.

    PuLP reports ``status == 1`` ("Optimal") even when CBC stopped at a time limit with an
    integer solution; ``sol_status`` tells the two apart (1 optimal, 2 integer feasible).
    """
    if sol_status == pulp.LpSolutionOptimal and status == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    if sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionOptimal):
        return Status.FEASIBLE
    if sol_status == pulp.LpSolutionInfeasible or status == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if sol_status == pulp.LpSolutionNoSolutionFound or status == pulp.LpStatusNotSolved:
        return Status.NO_SOLUTION
    if status == pulp.LpStatusUnbounded or sol_status == pulp.LpSolutionUnbounded:
        return Status.ERROR  # our models are bounded; unbounded means a modelling bug
    return Status.ERROR


def run_cbc(f: Formulation, time_limit: float | None = None, warm: bool = False) -> MasterRun:
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
        return MasterRun(status, obj, bound, float(own[-1]) if own else secs, secs)
    finally:
        try:
            os.unlink(logpath)
        except OSError:
            pass
