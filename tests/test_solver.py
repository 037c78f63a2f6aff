"""Brute force is the oracle: the optimizer's value equals the best subset's value."""
import numpy as np
import pytest

from allocator import optimize
from allocator.optim.evaluate import evaluate, objective_value
from allocator.optim.feasibility import violations
from allocator.status import Status

from .helpers import brute_force, random_problem


def _check(problem, method, mode="p_match", target=None):
    # the public optimize answers no list when the limits admit only the empty one
    want, _ = brute_force(problem, mode, target, nonempty=True)
    out = optimize(problem, mode, target=target, method=method)
    if want is None:
        assert out.status is Status.INFEASIBLE
        if brute_force(problem, mode, target)[0] is not None:  # the empty list alone: the message says so
            assert out.message.startswith("only the empty list meets these limits: "), out.message
        return
    assert out.status is Status.OPTIMAL, out
    assert violations(problem, out.plan) == []
    if mode == "min_cost":
        m = evaluate(problem, out.plan, correlations=())
        assert m.p_match >= target - 1e-12
        assert m.cost == pytest.approx(-want, abs=1e-9)
    else:
        got = objective_value(problem, out.plan) if mode != "la_given_target" else \
            evaluate(problem, out.plan, correlations=()).p_match_la
        assert got == pytest.approx(want, abs=1e-9)


# AFFORD: three draws in four get a budget that pays the ERAS fee of the fewest programs a list
# may hold (helpers.random_problem's affordable; a draw that already affords one is unchanged).
# Without it a quarter to a third of the seeds only checked that a budget of $40-$88 against
# 2024's flat $99 block is reported infeasible (review 19); the fourth keeps a few such cases.
def _afford(seed):
    return seed % 4 != 3


@pytest.mark.parametrize("seed", range(100))
def test_independent_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    pr = random_problem(rng, int(rng.integers(6, 15)), rho=0.0, extras=seed % 3 == 0, must_never=seed % 2 == 0,
                        affordable=_afford(seed))
    _check(pr, "milp")
    if seed % 3:
        _check(pr, "fast")


@pytest.mark.parametrize("seed", range(48))
def test_correlated_matches_brute_force(seed):
    rng = np.random.default_rng(1000 + seed)
    rho = [0.2, 0.35, 0.6, 0.8][seed % 4]
    pr = random_problem(rng, int(rng.integers(6, 13)), rho=rho, extras=seed % 3 == 0, must_never=seed % 2 == 1,
                        affordable=_afford(seed))
    _check(pr, "milp")
    if seed % 3:
        _check(pr, "fast")


@pytest.mark.parametrize("seed", range(16))
def test_two_specialties_fee_tiers_restart(seed):
    rng = np.random.default_rng(5000 + seed)
    pr = random_problem(rng, 11, rho=0.3 if seed % 2 else 0.0, two_specs=True, affordable=_afford(seed))
    _check(pr, "milp")
    _check(pr, "fast")


@pytest.mark.parametrize("seed", range(16))
def test_utility_objective_matches_brute_force(seed):
    rng = np.random.default_rng(7000 + seed)
    pr = random_problem(rng, 10, rho=0.35, objective="utility", extras=seed % 2 == 0, affordable=_afford(seed))
    _check(pr, "milp", "utility")
    if seed % 2:
        _check(pr, "fast", "utility")


@pytest.mark.parametrize("seed", range(20))
def test_min_cost_matches_brute_force(seed):
    rng = np.random.default_rng(9000 + seed)
    # affordable: a budget that buys a list (2024's first block is a flat $99), so every seed
    # has a list with P(match) > 0 and the target below is a real one
    pr = random_problem(rng, 10, rho=[0.0, 0.35][seed % 2], extras=seed % 3 == 0, affordable=True)
    best, _ = brute_force(pr)
    assert best is not None and best > 0, "the instance family must leave a list with P(match) > 0"
    target = round(0.8 * best, 4)
    _check(pr, "milp", "min_cost", target)
    if seed % 3:
        _check(pr, "fast", "min_cost", target)


@pytest.mark.parametrize("seed", range(16))
def test_la_given_target_matches_brute_force(seed):
    rng = np.random.default_rng(11000 + seed)
    # affordable: as in test_min_cost_matches_brute_force
    pr = random_problem(rng, 10, rho=[0.0, 0.35][seed % 2], extras=seed % 4 == 0, affordable=True)
    best, _ = brute_force(pr)
    assert best is not None and best > 0, "the instance family must leave a list with P(match) > 0"
    target = round(0.7 * best, 4)
    _check(pr, "milp", "la_given_target", target)
    if seed % 4:
        _check(pr, "fast", "la_given_target", target)


@pytest.mark.parametrize("seed", range(24))
def test_cbc_engine_matches_brute_force(seed):
    """CBC stays selectable (--solver cbc); on small instances it agrees with brute force."""
    rng = np.random.default_rng(13000 + seed)
    pr = random_problem(rng, int(rng.integers(6, 13)), rho=[0.0, 0.35][seed % 2], extras=seed % 3 == 0,
                        must_never=seed % 2 == 0, affordable=_afford(seed))
    want, _ = brute_force(pr, nonempty=True)
    out = optimize(pr, method="milp", engine="cbc")
    if want is None:
        assert out.status is Status.INFEASIBLE
        return
    assert out.status is Status.OPTIMAL and out.engine == "cbc"
    assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("rho", [0.1, 0.35, 0.6, 0.9])
def test_merged_tail_nodes_keep_the_master_a_lower_bound(rho):
    """builder._tail_groups: the master's objective never exceeds the true P(no match)
    (Jensen), every node is in exactly one group, and the merged tails weigh at most
    TAIL_MASS each."""
    from allocator.model.copula import make_nodes
    from allocator.optim.builder import _tail_groups
    from allocator.optim.formulation import TAIL_MASS

    nodes = make_nodes(rho, np.array([0.01, 0.05, 0.2]))
    G, wm = _tail_groups(nodes.w)
    assert np.all((G > 0).sum(axis=0) == 1) and np.allclose(G.sum(axis=1), 1.0)
    assert wm.sum() == pytest.approx(1.0, abs=1e-14)
    merged = (G > 0).sum(axis=1) > 1
    assert np.all(wm[merged] <= TAIL_MASS * (1 + 1e-12))
    assert len(wm) < len(nodes.w) or rho < 0.2
    rng = np.random.default_rng(int(rho * 100))
    for _ in range(200):
        L = -np.cumsum(rng.exponential(rng.uniform(0.01, 2.0), len(nodes.w)))[::-1]  # any exposures
        assert wm @ np.exp(G @ L) <= nodes.w @ np.exp(L) + 1e-15


def test_highs_sessions_are_freed_with_their_models():
    """A solve's HiGHS models (about 70 MB each on the safety-first models) are freed once the
    solve is done: the session held its formulation, the key of its weak dictionary, strongly,
    so every model stayed in memory (a web server grew by about 200 MB per request)."""
    import gc

    from allocator.optim.engines import highs
    from allocator.optim.safety import safety_first
    from tests.test_safety import _tiered_problem

    gc.collect()
    before = len(highs._SESSIONS)
    out = safety_first(_tiered_problem(2200, 0), margin=0.05)
    assert out.chosen.plan is not None
    del out
    gc.collect()
    assert len(highs._SESSIONS) <= before
