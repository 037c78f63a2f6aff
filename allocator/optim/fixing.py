"""Reduced-cost fixing: the programs the root relaxation proves cannot be on a better list.

When the relaxation tree (:mod:`allocator.optim.outer`) hands a problem to the integer program,
its root linear program has been solved to optimality with presolve off: a bound ``z`` and, for
every column, a reduced cost ``d``.  For any list, the master's value is at least ``z`` plus the
reduced costs of the columns the list sets to 1 that sat at 0 in the relaxation (linear
programming duality; the tangent rows added since only raise it), and the master never exceeds
a list's true value (the tangents under-estimate).  A program listed in any of its states
(plain, signalled, in a preferred division) sets its ``x`` column and one state column, so if
``d(x) + min over its states d(state)`` exceeds ``incumbent - z`` (plus :data:`MARGIN` times the
solve's tolerance), no list holding it is better than the incumbent: it is dropped from the
candidates, and the integer program runs on the rest (the answer is the same, proven the same).

That needs a good incumbent: the root point floored (its fractional programs dropped) and
climbed by the local search of :mod:`allocator.optim.tradeup`.  On the two-specialty example
applicant's budget curve (IM and FM, gold and silver signals, 724 to 1,034 candidates) the floored and
climbed root point was the optimum at all four points that reached the integer program, and the
fixing left 239 of the 960 candidates of the $1,600 point: the integer programs there took 2.8 + 2.5 s instead
of 18.2 + 17.2 s (a HiGHS model of a quarter of the nonzeros; bounds fixed at 0 in the full model
saved only a fifth).
"""
from __future__ import annotations

import numpy as np

from allocator.optim import feasibility
from allocator.optim.problem import Plan, Problem

ENABLED = True  # False: the integer program on every candidate (benchmarks/two_specialties.py compares)
MARGIN = 10.0  # x the solve's tolerance: a reduced-cost bound must beat the incumbent by this much
MIN_SHARE = 0.25  # reduce only when at least this share of the candidates goes
MIN_CANDIDATES = 40  # smaller integer programs are fast as they are
LP_ZERO = 1e-9  # a relaxation column at most this is at its lower bound 0


def floored_root(f, columns: np.ndarray) -> Plan:
    """The relaxation's point with every fractional program dropped: the programs at 1 in the
    state the relaxation gives them, and the divisions it prefers (rounded), all read from
    ``columns`` (the model's own values may be a later node's or a list's)."""
    keep = [*f.x, *(v for vs in f.blocks.values() for v in vs), *f.g.values()]
    saved = {v: v.varValue for v in keep}
    try:
        for v in keep:
            v.varValue = float(columns[v.index])
        for v in f.x:
            if columns[v.index] <= 1.0 - 1e-6:
                v.varValue = 0.0
        plan = f.plan()
    finally:
        for v, val in saved.items():
            v.varValue = val
    on = set(plan.idx)  # a dropped program's state columns may still read as a signal
    return Plan.of(plan.idx, {i: k for i, k in plan.signals if i in on}, plan.divisions)


def climbed(problem: Problem, plan: Plan, cand: np.ndarray, mode: str, target: float | None) -> Plan | None:
    """``plan`` improved by the local search for ``mode`` (None: the mode has none, the plan
    breaks a limit, or below the P(match) floor it cannot be climbed above it on P(match))."""
    from allocator.optim.evaluate import evaluate
    from allocator.optim.tradeup import la_utility, trade_up

    utility = {"p_match": np.ones(problem.n), "utility": problem.utility,
               "utility_given_target": problem.utility, "la_given_target": None}.get(mode, False)
    if utility is False or not feasibility.is_feasible(problem, plan):
        return None
    floor = float(target or 0.0) if mode.endswith("_given_target") else 0.0
    if floor > 0 and evaluate(problem, plan, correlations=()).p_match < floor:  # climb P(match) to the floor first
        plan = trade_up(problem, plan, 0.0, np.ones(problem.n), cand)
        if evaluate(problem, plan, correlations=()).p_match < floor:
            return None
    if utility is None:
        utility = la_utility(problem)
    return trade_up(problem, plan, floor, utility, cand)


def kept(f, columns: np.ndarray, duals: np.ndarray, room: float, keep: Plan | None) -> np.ndarray:
    """The candidates a list better than the incumbent may hold: those whose reduced-cost bound
    ``d(x) + min d(state)`` (columns at 0 in the relaxation; a basic or positive column counts 0)
    is at most ``room`` (the incumbent's value above the root bound, plus the margin, in the
    engine's objective units), and every program of ``keep`` (the incumbent)."""
    def d(v) -> float:
        return float(duals[v.index]) if columns[v.index] <= LP_ZERO else 0.0

    multi = len(f.states) > 1
    on = set(keep.idx) if keep is not None else set()
    out = []
    for j, xv in enumerate(f.x):
        bound = d(xv) + (min(d(f.blocks[st.name][j]) for st in f.states) if multi else 0.0)
        if bound <= room or int(f.cand[j]) in on:
            out.append(int(f.cand[j]))
    return np.array(out, int)
