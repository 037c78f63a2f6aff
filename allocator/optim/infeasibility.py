"""Which limits conflict: a deletion filter over the named constraint groups.

:func:`explain_infeasibility` drops one group at a time and keeps it out whenever the rest
stays infeasible (the irreducible core python-mip's ``conflict`` module computes for rows,
here for groups).  A group set is infeasible when no list of at least one program meets it
(the empty list is no answer), and with a P(match) target when the best P(match) under those
groups alone falls short of the target; count scans settle the easy cases before any solve.
For each group named it then asks whether relaxing that group alone, every other limit as set,
admits a list (and the exact value the budget or a count must reach), so that the message
advises only changes that work.
"""
from __future__ import annotations

import math

import numpy as np

from allocator.errors import SolverError
from allocator.optim import dominance, fastpath, feasibility
from allocator.optim.engines.pulp_import import pulp
from allocator.optim.engines import DEFAULT_ENGINE, run_master
from allocator.optim.builder import build
from allocator.optim.evaluate import evaluate
from allocator.optim.formulation import Formulation
from allocator.optim.outer import LP_ROUNDS, LP_SETTLED, TOL, _relaxed_point, seed_tangents, true_values
from allocator.optim.problem import DROPPABLE, Plan, Problem
from allocator.optim.start import greedy
from allocator.status import Status


class Conflict(tuple):
    """The conflicting constraint groups (a tuple of names), with what relaxing
    each of them does when every other limit stays as set (what the message advises):

    ``alone``: group -> True when relaxing that group alone admits a list of at least one
    program; ``amounts``: group -> the exact value it must reach when that is one number (the
    budget: the cheapest such list's cost; max_applications: its smallest count;
    min_applications: the largest count of such a list); ``specialty``: the specialty limits
    in the conflict, each (specialty, "min" or "max", value, True when changing that limit
    alone admits a list); ``also``: another conflict among the limits left when every
    relaxation of this one alone still leaves no list; ``no_candidate``: no program is left
    at all (never_apply, eligibility), so no limit can be relaxed to give a list;
    ``with_target``: a P(match) target was among the groups present (a list must reach it);
    ``mode``: the mode explained."""

    alone: dict
    amounts: dict
    specialty: tuple
    also: tuple
    no_candidate: bool
    with_target: bool
    mode: str

    def __new__(cls, groups=(), *, alone=None, amounts=None, specialty=(), also=(), no_candidate=False,
                with_target=False, mode="p_match"):
        out = super().__new__(cls, tuple(groups))
        out.alone, out.amounts, out.specialty = dict(alone or {}), dict(amounts or {}), tuple(specialty)
        out.also, out.no_candidate, out.with_target = tuple(also), bool(no_candidate), bool(with_target)
        out.mode = mode
        return out


def explain_infeasibility(problem: Problem, cand: np.ndarray, *, mode: str = "p_match",
                          target: float | None = None, engine: str = DEFAULT_ENGINE,
                          known: bool = False) -> Conflict:
    """The smallest set of named constraint groups that cannot hold together (a deletion
    filter over the groups present: drop a group whenever the rest stays infeasible).

    A set of groups is infeasible when no list *of at least one program* meets them: the empty
    list is no answer (``solve`` refuses it), so a group whose relaxation would leave only the
    empty list is not named as a way out.  With a P(match) target (min_cost,
    la_given_target) a set of groups is infeasible when the best P(match) under those groups
    alone is below the target (a max-P solve that stops as soon as a list reaches the target
    or the bound falls short of it).  min_cost answers to no budget, so the budget is never one
    of its groups.  ``known``: every group together is already proven infeasible (the
    caller's own solve), so that check is skipped.  When the limits admit no list whatever the
    target, their conflict is named (without the target: lowering it cannot help).

    The answer is a :class:`Conflict`: it also says, for each group named, whether relaxing
    it alone (every other limit as set, the target too) admits a list, and (without a target)
    the exact value it must reach where that is one number."""
    present = set(build(problem, cand, "p_match", feasibility_only=True).groups)
    if mode == "min_cost":
        present.discard("budget")
    if mode in ("min_cost", "la_given_target") and target is not None:
        present.add("target")
    groups = [g for g in DROPPABLE if g in present]
    if not len(cand):
        # no candidate: the empty list is the only list, and no relaxation of a limit gives
        # another; the groups it breaks are named, and the message says that no limit helps
        broken = {g for g, _ in feasibility.violations(problem, Plan.of([], {}, ()))}
        if "target" in groups and target is not None and target > 0:
            broken.add("target")
        return Conflict([g for g in groups if g in broken], alone={g: False for g in broken}, no_candidate=True,
                        mode=mode)
    check = _Check(problem, cand, target, engine, mode)
    if not known and not check.infeasible(groups):
        return Conflict(mode=mode)
    if "target" in groups:
        limits = [g for g in groups if g != "target"]
        if limits and check.infeasible(limits):
            # the limits admit no list whatever the target: that conflict first (lowering the target
            # cannot help), each relaxation still judged with the target
            return check.relaxations(groups, _filter(check, limits))
        if limits and check.infeasible(["target"]):
            return check.relaxations(groups, ["target"])  # out of reach with every limit lifted: the smallest core
    return check.relaxations(groups, _filter(check, groups))


def _filter(check: "_Check", groups: list[str]) -> list[str]:
    """The deletion filter: drop each group in turn whenever the rest stays infeasible."""
    core = list(groups)
    for g in list(groups):
        trial = [x for x in core if x != g]
        if check.infeasible(trial):
            core = trial
    return core


class _Check:
    """Is there a list of at least one program under a set of named groups (and the target)?"""

    def __init__(self, problem: Problem, cand: np.ndarray, target: float | None, engine: str, mode: str):
        self.problem, self.cand, self.target, self.engine, self.mode = problem, cand, target, engine, mode

    def infeasible(self, keep: list[str], problem: Problem | None = None) -> bool:
        """No list of at least one program meets the groups ``keep`` of ``problem`` (default:
        the problem explained); every other group is lifted."""
        problem = self.problem if problem is None else problem
        cand, target, engine = self.cand, self.target, self.engine
        drop = tuple(g for g in DROPPABLE if g not in keep)
        if "target" in keep:  # a list with P(match) >= target > 0 has a program on it
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
        return self.extreme(keep, problem=problem) is None

    def extreme(self, keep: list[str], sense: str | None = None, problem: Problem | None = None) -> Plan | None:
        """A list of at least one program under the groups ``keep`` (no target), None when
        there is none; ``sense``: "min_cost", "min_count" or "max_count" makes it the list
        that is cheapest, shortest or longest."""
        problem = self.problem if problem is None else problem
        drop = tuple(g for g in DROPPABLE if g not in keep)
        f = build(problem, self.cand, "p_match", drop=drop, feasibility_only=True)
        total = pulp.lpSum(f.x)
        f.model.addConstraint(total >= 1, "nonempty")  # the empty list is no answer
        if sense == "min_cost":
            f.model.setObjective(f.cost_expr)
        elif sense == "min_count":
            f.model.setObjective(total)
        elif sense == "max_count":
            f.model.setObjective(-total)
        run = run_master(f, engine=self.engine)
        if not run.status.has_list:
            if run.status is Status.INFEASIBLE:
                return None
            raise SolverError(f"the {self.engine} engine could not settle which limits conflict "
                              f"({run.status.value}); retry with the other --solver, and please report")
        plan = f.plan()
        bad = feasibility.violations(_loosen(problem, keep), plan)
        if not len(plan.idx) or bad:
            raise SolverError(f"the list found while explaining the conflict breaks "
                              f"{bad[0][0] if bad else 'the one-program minimum'} (a bug; please report)")
        return plan

    def relaxations(self, groups: list[str], core: list[str]) -> Conflict:
        """What relaxing each group of ``core`` alone (every other group of ``groups`` as set)
        does: admits a list or not, and the value it must reach (not with a P(match) target
        among the groups: that value would need the target's own search)."""
        pr = self.problem
        alone, amounts = {}, {}
        sense = {"budget": "min_cost", "max_applications": "min_count", "min_applications": "max_count"}
        with_target = "target" in groups
        for g in core:
            rest = [x for x in groups if x != g]
            if g == "must_apply" and "la_share" in core and pr.la[list(pr.must)].any():
                # the LA cap's conflict: is removing only the Greater-LA programs from must_apply enough?
                non_la = tuple(i for i in pr.must if not pr.la[i])
                if not self.infeasible(groups, pr.with_limits(must=non_la)):
                    alone[g], amounts[g] = True, "la_only"
                    continue
            if with_target or g not in sense:
                alone[g] = not self.infeasible(rest)
                continue
            plan = self.extreme(rest, sense[g])
            alone[g] = plan is not None
            if plan is not None:
                amounts[g] = pr.list_cost(plan.idx)[0] if g == "budget" else len(plan.idx)
        specialty = self._specialty(groups, core) if "specialty_limits" in core else ()
        also = ()
        if not any(alone.values()):
            left = [g for g in groups if g not in core]
            if left and self.infeasible(left):  # a second conflict among the limits not named
                also = tuple(_filter(self, left))
        return Conflict(core, alone=alone, amounts=amounts, specialty=specialty, also=also, with_target=with_target,
                        mode=self.mode)

    def _specialty(self, groups: list[str], core: list[str]) -> tuple:
        """The specialty limits in the conflict: a deletion filter over the limits set (each
        specialty's minimum and maximum), the other groups of ``core`` kept; each with whether
        changing it alone (every other limit as set) admits a list."""
        pr = self.problem
        entries = [(s, "min", int(v)) for s, v in pr.spec_min.items() if v] + \
                  [(s, "max", int(v)) for s, v in pr.spec_max.items() if v is not None]

        def limits(kept):
            return pr.with_limits(spec_min={s: v for s, k, v in kept if k == "min"},
                                  spec_max={s: v for s, k, v in kept if k == "max"})

        needed = list(entries)
        for e in entries:
            trial = [x for x in needed if x != e]
            if self.infeasible(core, limits(trial)):
                needed = trial
        return tuple((s, k, v, not self.infeasible(groups, limits([x for x in entries if x != (s, k, v)])))
                     for s, k, v in needed)


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
