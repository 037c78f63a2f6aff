"""The P(any match) / P(match in LA) frontier: every point optimal, monotone trade."""
import numpy as np
import pytest

from allocator.frontier import frontier

from .helpers import brute_force, random_problem


@pytest.mark.parametrize("seed", range(4))
def test_frontier_points_are_optimal_and_monotone(seed):
    rng = np.random.default_rng(600 + seed)
    pr = random_problem(rng, 10, rho=0.35)
    best, _ = brute_force(pr)
    if best is None or best <= 0.05:
        return
    targets = np.linspace(0.1 * best, best, 5)
    df = frontier(pr, targets)
    ok = df[df.status == "optimal"]
    assert len(ok) == len(targets)  # every target up to the maximum is reachable
    for t, la in zip(ok.target, ok.p_match_la):
        want, _ = brute_force(pr, "la_given_target", t)
        assert la == pytest.approx(want, abs=1e-9)
    assert np.all(np.diff(ok.p_match_la.to_numpy()) <= 1e-12)  # safer lists give up LA chances
    assert np.all(ok.p_match.to_numpy() >= ok.target.to_numpy() - 1e-12)
    over = frontier(pr, [min(best + 0.01, 0.999)])
    assert over.status.iloc[0] == "infeasible"
