"""Signals and geographic preference, optimized jointly with the list: brute force as oracle."""
import itertools
from dataclasses import replace

import numpy as np
import pytest

from allocator import optimize
from allocator.optim.evaluate import objective_value
from allocator.optim.feasibility import violations
from allocator.optim.problem import Plan
from allocator.status import Status

from .helpers import random_problem

DIVS = ["Pacific", "East North Central", "South Atlantic"]


def odds(p, r):
    return p * r / (1 - p + p * r)


def with_bonuses(pr, rng, *, gold=1, silver=1, divisions=0):
    n = pr.n
    progs = pr.candidates.with_column("division", [DIVS[int(k)] for k in rng.integers(0, 3, n)])
    p = pr.p
    ps = {"gold": odds(p, 4.0), "silver": odds(p, 2.0)}
    spec = pr.specialties[0]
    avail = {(spec, "gold"): gold, (spec, "silver"): silver}
    kw = dict(candidates=progs, p_signal=ps, signals_available={k: v for k, v in avail.items() if v})
    if divisions:
        kw |= dict(p_geo=odds(p, 2.2), p_signal_geo={k: odds(v, 2.2) for k, v in ps.items()},
                   max_divisions=divisions)
    out = replace(pr, **kw)

    return out


def brute(pr):
    best = -1.0
    n = pr.n
    kinds = [k for (_, k), v in pr.signals_available.items() if v]
    divsets = [()]
    if pr.has_geo:
        divsets = [c for r in range(pr.max_divisions + 1) for c in itertools.combinations(DIVS, r)]
    for k in range(1, min(n, pr.max_apps) + 1):  # a list holds a program (optimize answers no list otherwise)
        for sub in itertools.combinations(range(n), k):
            base = Plan.of(sub)
            if violations(pr, base):
                continue
            # every assignment of at most one signal per program, within the caps
            options = [[None] + kinds for _ in sub]
            for assign in itertools.product(*options):
                sig = {i: a for i, a in zip(sub, assign) if a}
                if any(sum(1 for a in sig.values() if a == kind) > pr.signals_available[(pr.specialties[0], kind)]
                       for kind in kinds):
                    continue
                for D in divsets:
                    v = objective_value(pr, Plan.of(sub, sig, D))
                    best = max(best, v)
    return best


@pytest.mark.parametrize("seed", range(11))
def test_signals_match_brute_force(seed):
    rng = np.random.default_rng(40 + seed)
    # three draws in four afford a list (as tests/test_solver.py's brute-force tests); seed 7 stays infeasible
    pr = with_bonuses(random_problem(rng, 6, rho=[0.0, 0.35, 0.6][seed % 3], affordable=seed % 4 != 3), rng,
                      gold=1, silver=int(seed % 2))
    out = optimize(pr, method="milp")
    want = brute(pr)
    if want < 0:
        assert out.status is Status.INFEASIBLE
        return
    assert violations(pr, out.plan) == []
    assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_divisions_match_brute_force(seed):
    rng = np.random.default_rng(80 + seed)
    pr = with_bonuses(random_problem(rng, 6, rho=[0.0, 0.35][seed % 2]), rng, gold=seed % 2, silver=0,
                      divisions=1 + seed % 2)
    out = optimize(pr, method="milp")
    want = brute(pr)
    assert want >= 0, "the instance family must leave a feasible list"
    assert violations(pr, out.plan) == []
    assert len(out.plan.divisions) <= pr.max_divisions
    assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_adding_signals_never_lowers_the_optimum(seed):
    rng = np.random.default_rng(120 + seed)
    base = random_problem(rng, 9, rho=0.35, affordable=True)  # a budget that buys a list (2024: $99 first)
    values = []
    for gold, silver in [(0, 0), (1, 0), (1, 2), (3, 3)]:
        pr = with_bonuses(base, np.random.default_rng(seed), gold=gold, silver=silver)
        out = optimize(pr, method="milp")
        assert out.plan is not None, "the instance family must leave a feasible list"
        values.append(objective_value(pr, out.plan))
    assert all(b >= a - 1e-12 for a, b in zip(values, values[1:]))


def test_utility_objective_prefers_la_when_worth_it():
    rng = np.random.default_rng(5)
    pr = random_problem(rng, 10, rho=0.35, objective="utility")
    out = optimize(pr, method="milp")
    fast = optimize(pr, method="fast")
    assert objective_value(pr, out.plan) == pytest.approx(objective_value(pr, fast.plan), abs=1e-9)


def _highs_case(seed):
    rng = np.random.default_rng(1000 + seed)
    rho = [0.0, 0.35, 0.6, 0.8][seed % 4]
    n = int(rng.choice([5, 6]))
    gold, silver = int(rng.choice([0, 1, 1, 2, 3])), int(rng.choice([0, 0, 1, 2]))
    divisions = int(rng.choice([0, 0, 1, 2])) if gold + silver <= 2 else 0
    # three draws in four afford a list (as tests/test_solver.py's brute-force tests); a draw that
    # affords one is unchanged, so the regression seeds below are the instances they were
    pr = random_problem(rng, n, rho=rho, extras=bool(rng.random() < 0.3), affordable=seed % 4 != 3)
    return with_bonuses(pr, rng, gold=gold or int(silver == 0), silver=silver, divisions=divisions)


# HiGHS 1.16's presolve got 11 of 300 such cases wrong, all labelled "optimal": at rho = 0.6 its
# reduced model lost the signalled lists (dual bound above the master's optimum; seeds 42,
# 46, 54, 70), at rho = 0 it returned the MIP start's columns with a better list's objective
# (seeds 100, 280).  The loop now stops only on a bound from a solve without presolve.
@pytest.mark.parametrize("seed", list(range(40, 66)) + [70, 100, 280])
def test_highs_matches_brute_force(seed):
    pr = _highs_case(seed)
    out = optimize(pr, method="milp", engine="highs")
    want = brute(pr)
    if want < 0:
        assert out.status is Status.INFEASIBLE
        return
    assert out.status is Status.OPTIMAL
    assert violations(pr, out.plan) == []
    assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)
    assert out.bound >= objective_value(pr, out.plan) - 1e-7  # the reported bound is a valid one
