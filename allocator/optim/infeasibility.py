"""Which limits conflict: a deletion filter over the named constraint groups.

:func:`explain_infeasibility` drops one group at a time and keeps it out whenever the rest
stays infeasible (the irreducible core python-mip's ``conflict`` module computes for rows,
here for groups).  A group set with a P(match) target is infeasible when the best P(match)
under those groups alone falls short of the target; count scans settle the easy cases
before any solve.
"""
from __future__ import annotations

import math

import numpy as np

from allocator.optim import dominance, fastpath, feasibility
from allocator.optim.engines import DEFAULT_ENGINE, run_master
from allocator.optim.builder import build
from allocator.optim.evaluate import evaluate
from allocator.optim.formulation import DROPPABLE, Formulation
from allocator.optim.outer import LP_ROUNDS, LP_SETTLED, TOL, _relaxed_point, seed_tangents, true_values
from allocator.optim.problem import Plan, Problem
from allocator.optim.start import greedy
from allocator.status import Status


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
    # no candidate: the engines call a model with no column "empty", not infeasible, so the
    # empty list (the only list) decides which groups fail
    broken = {g for g, _ in feasibility.violations(problem, Plan.of([], {}, ()))} if not len(cand) else None

    def infeasible(keep: list[str]) -> bool:
        if broken is not None and "target" not in keep:
            return bool(broken & set(keep))
        drop = tuple(g for g in DROPPABLE if g not in keep)
        if "target" in keep:
            loose = _loosen(problem, keep)
            quick = _target_by_scan(loose, float(target))
            if quick is not None:
                return quick
            # the limits left out no longer cap the counts: reduce the candidates for what is kept
            sub = np.intersect1d(dominance.reduce(loose), cand)
            start = greedy(loose, candidates=sub)
            if start is not None and feasibility.is_feasible(loose, start) and \
                    evaluate(loose, start, correlations=()).p_match >= target - 1e-12:
                return False  # a list that meets what is kept reaches the target: no solve needed
            f = build(loose, sub, "p_match", drop=drop)
            seed_tangents(f, start)
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
    return problem.with_limits(
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
    if engine == "highs" and not f.linear_objective:
        settled = _relaxation_settles(f, target)
        if settled is not None:
            return settled
    confirm = False
    for _ in range(max_solves):
        run = run_master(f, engine=engine, proven=confirm)
        confirm = False
        if not run.status.has_list:
            return run.status
        Ls, vals = true_values(f)
        p_no = float(np.exp(Ls["none"][0])) if f.linear_objective else vals["none"]
        if 1.0 - p_no >= target - 1e-12:
            return Status.OPTIMAL
        if run.bound is not None:
            lower_p_no = float(np.exp(run.bound)) if f.linear_objective else run.bound
            if 1.0 - lower_p_no < target - 1e-12:
                if run.proven:
                    return Status.INFEASIBLE
                confirm = True  # out of reach only on a presolved bound: solve again without presolve
                continue
        if f.linear_objective or f.add_cuts(f.terms["none"], Ls["none"]) == 0:
            return Status.ERROR
    return Status.ERROR


def _relaxation_settles(f: Formulation, target: float) -> Status | None:
    """Kelley rounds on the linear relaxation (HiGHS, presolve off, so its bound is proven):
    INFEASIBLE when even the relaxation's best P(match) falls short of the target (or it has
    no point), OPTIMAL when an integral point reaches it, None when the integer program must
    decide."""
    for _ in range(LP_ROUNDS):
        run = run_master(f, engine="highs", relax=True)
        if run.status is Status.INFEASIBLE:
            return Status.INFEASIBLE
        if run.status is not Status.OPTIMAL:
            return None
        if 1.0 - run.bound < target - 1e-12:
            return Status.INFEASIBLE
        Ls, gap, _ = _relaxed_point(f)
        if run.integral and feasibility.is_feasible(f.problem, f.plan()):
            if 1.0 - true_values(f)[1]["none"] >= target - 1e-12:
                return Status.OPTIMAL
        if f.add_cuts(f.terms["none"], Ls["none"]) == 0 or gap <= LP_SETTLED * TOL:
            return None
    return None
