"""Exact evaluation of P(>=1) under the one-factor copula, and the correlated optimizer.

The reference values are computed here, independently of :mod:`allocator.model.copula`:
scipy.integrate.quad of phi(z) * prod_i Phi((sqrt(rho) z - Phi^-1(p_i)) / sqrt(1 - rho))
(log-space, scipy.special.log_ndtr) over [-10, 10], split at a fixed grid and at the
programs' sigmoid centres, epsabs 1e-15 per piece.  The evaluator under test uses the
problem's quadrature nodes (``Problem.nodes(rho)``), built once per candidate catalog, so
every list drawn from the catalog must be integrated accurately by the same nodes.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from allocator.optim import dominance

from allocator.optim import outer as solver
from allocator.inputs.catalog import catalog_from_frame
from allocator.optim.evaluate import objective_value, p_at_least_one
from allocator.optim.feasibility import violations
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict
from allocator.status import Status

STRICT_RHOS = (0.05, 0.15, 0.25, 0.35, 0.5, 0.6, 0.7, 0.8)
LOOSE_RHOS = (0.9, 0.95)
STRICT_TOL = 1e-8  # issue 4: accurate to 1e-8 for correlation up to 0.8
LOOSE_TOL = 1e-7  # beyond the requirement; measured worst ~1e-9 (see the assertion message)


# ---------------------------------------------------------------------- reference
def reference_p_none(p: np.ndarray, rho: float) -> tuple[float, float]:
    """(P(no success), quad's summed error estimate) by adaptive quadrature."""
    p = np.asarray(p, float)
    if np.any(p >= 1):
        return 0.0, 0.0
    p = p[p > 0]
    if len(p) == 0:
        return 1.0, 0.0
    if rho == 0:
        return float(np.prod(1 - p)), 0.0
    thr = special.ndtri(p)
    s, c = np.sqrt(rho), np.sqrt(1 - rho)
    log_norm = -0.5 * np.log(2 * np.pi)

    def f(z: float) -> float:
        return float(np.exp(log_norm - 0.5 * z * z + special.log_ndtr((s * z - thr) / c).sum()))

    centres = thr / s  # program i's sigmoid in z is centred here; the product moves a few widths above
    width = np.sqrt((1 - rho) / rho)
    marks = np.concatenate([np.quantile(centres, np.linspace(0, 1, 9)),
                            np.quantile(centres, np.linspace(0, 1, 5)) + 3 * width])
    pts = np.unique(np.concatenate([np.linspace(-10, 10, 41), np.clip(marks, -10, 10)]))
    total, err = 0.0, 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        if b - a < 1e-9:
            continue
        v, e = integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)
        total += v
        err += e
    return total, err


# ---------------------------------------------------------------------- instances
def _catalog_problem(p: np.ndarray, *, rho: float = 0.35, extra=None, la=None, strategy=None):
    n = len(p)
    la = np.zeros(n, bool) if la is None else la
    df = pd.DataFrame({
        "program_id": [f"C{i:04d}" for i in range(n)],
        "name": [f"Program {i}" for i in range(n)],
        "specialty": "Internal Medicine",
        "city": np.where(la, "Los Angeles", "Columbus"),
        "state": np.where(la, "CA", "OH"),
        "la_area": np.where(la, "true", "false"),
        "p_match": [repr(float(x)) for x in p],
        "fee_extra": [repr(float(x)) for x in (np.zeros(n) if extra is None else extra)],
    })
    strat = {"budget": 2500, "season": "2026", "max_applications": 300, "la_share_max": 1.0,
             "correlation": rho} | (strategy or {})
    return build_problem(catalog_from_frame(df, "<test>"), profile_from_dict({"strategy": strat}, "<test>"))


def _random_p(rng: np.random.Generator, n: int) -> np.ndarray:
    """p log-uniform in [1e-4, 0.9]; a few exact 0 and 1; one cluster of equal p (the
    product of many equal sigmoids is the sharpest integrand a list can make)."""
    p = np.exp(rng.uniform(np.log(1e-4), np.log(0.9), n))
    p[rng.choice(n, 4, replace=False)] = 0.0
    p[rng.choice(n, 2, replace=False)] = 1.0
    cluster = rng.choice(n, 120, replace=False)
    p[cluster] = np.exp(rng.uniform(np.log(0.01), np.log(0.5)))
    return p


@pytest.fixture(scope="module")
def catalogs():
    return [_catalog_problem(_random_p(np.random.default_rng(seed), 420)) for seed in range(3)]


def _lists(problem, rng: np.random.Generator, count: int, *, allow_certain: bool = True):
    """Random lists (index arrays) of sizes 1..300, log-spread, a few all from the cluster."""
    p = problem.p
    zero_one = np.nonzero((p == 0) | (p == 1))[0]
    inner = np.nonzero((p > 0) & (p < 1))[0]
    values, counts = np.unique(p[inner], return_counts=True)
    cluster = inner[p[inner] == values[np.argmax(counts)]]
    out = []
    for k in range(count):
        size = int(np.clip(np.round(np.exp(rng.uniform(0, np.log(300)))), 1, 300))
        if k % 5 == 4:
            idx = rng.choice(cluster, min(size, len(cluster)), replace=False)
        else:
            idx = rng.choice(inner, size, replace=False)
        if k % 3 == 0:  # add p = 0 entries, and (sometimes) a p = 1 entry
            extra = zero_one[p[zero_one] == 0] if (k % 2 or not allow_certain) else zero_one
            idx = np.concatenate([idx, extra[: int(rng.integers(1, len(extra) + 1))]])
        out.append(np.sort(idx))
    return out


def _worst_error(problem, rho: float, lists) -> tuple[float, float, tuple]:
    worst, worst_ref_err, where = 0.0, 0.0, ()
    for idx in lists:
        p = problem.p[idx]
        ref_none, ref_err = reference_p_none(p, rho)
        got = p_at_least_one(problem, p, rho)
        err = abs(got - (1.0 - ref_none))
        worst_ref_err = max(worst_ref_err, ref_err)
        if err > worst:
            worst, where = err, (len(idx), float(np.median(p)), got, 1.0 - ref_none)
    return worst, worst_ref_err, where


# ---------------------------------------------------------------------- exact evaluation
@pytest.mark.parametrize("rho", STRICT_RHOS)
def test_p_at_least_one_matches_adaptive_quadrature(catalogs, rho):
    rng = np.random.default_rng(int(rho * 1000))
    for pr in catalogs:
        worst, ref_err, where = _worst_error(pr, rho, _lists(pr, rng, 10))
        assert ref_err < 1e-11, f"reference not converged ({ref_err:.1e})"
        assert worst <= STRICT_TOL, f"rho={rho}: error {worst:.2e} (size, median p, got, reference) = {where}"


@pytest.mark.parametrize("rho", LOOSE_RHOS)
def test_p_at_least_one_high_correlation_looser_bound(catalogs, rho):
    rng = np.random.default_rng(int(rho * 1000))
    for pr in catalogs:
        worst, ref_err, where = _worst_error(pr, rho, _lists(pr, rng, 8))
        assert ref_err < 1e-11
        assert worst <= LOOSE_TOL, f"rho={rho}: error {worst:.2e} (size, median p, got, reference) = {where}"


@pytest.mark.parametrize("rho", (0.4, 0.5, 0.6, 0.8))
def test_p_at_least_one_many_equal_programs(rho):
    """300 programs with one p: the product of equal sigmoids is far narrower than one
    sigmoid (the hardest lists for nodes placed by single-sigmoid width)."""
    pr = _catalog_problem(np.concatenate([_random_p(np.random.default_rng(5), 200),
                                          np.exp(np.linspace(np.log(1e-3), np.log(0.5), 10))]))
    worst = 0.0
    for p0 in np.exp(np.linspace(np.log(1e-3), np.log(0.5), 10)):
        p = np.full(300, p0)
        ref, _ = reference_p_none(p, rho)
        worst = max(worst, abs(p_at_least_one(pr, p, rho) - (1.0 - ref)))
    assert worst <= STRICT_TOL, f"rho={rho}: error {worst:.2e}"


def test_reference_is_stable_under_other_breakpoints():
    """The reference itself: a different split of the range gives the same value."""
    rng = np.random.default_rng(11)
    for rho in (0.2, 0.5, 0.8, 0.95):
        p = np.exp(rng.uniform(np.log(1e-4), np.log(0.9), 200))
        a, _ = reference_p_none(p, rho)
        s, c = np.sqrt(rho), np.sqrt(1 - rho)
        thr = special.ndtri(p)
        b, _ = integrate.quad(lambda z: np.exp(-0.5 * z * z + special.log_ndtr((s * z - thr) / c).sum())
                              / np.sqrt(2 * np.pi), -np.inf, np.inf, epsabs=1e-15, epsrel=1e-13, limit=500,
                              points=None)
        assert abs(a - b) < 1e-11


def test_rho_zero_is_the_closed_form(catalogs):
    rng = np.random.default_rng(0)
    for pr in catalogs:
        for idx in _lists(pr, rng, 40):
            p = pr.p[idx]
            want = 1.0 - np.prod(1.0 - p)
            assert abs(p_at_least_one(pr, p, 0.0) - want) <= 1e-14


@pytest.mark.parametrize("rho", (0.0, 0.1, 0.35, 0.6, 0.8, 0.95))
def test_one_program_gives_exactly_p(catalogs, rho):
    pr = catalogs[0]
    for p in np.unique(pr.p):
        assert p_at_least_one(pr, np.array([p]), rho) == pytest.approx(p, abs=1e-12, rel=1e-10)


def test_p_at_least_one_falls_as_correlation_rises(catalogs):
    rhos = np.round(np.arange(0.0, 0.96, 0.05), 2)
    rng = np.random.default_rng(1)
    for pr in catalogs:
        for idx in _lists(pr, rng, 30, allow_certain=False):
            p = pr.p[idx]
            p = p[(p > 0) & (p < 1)]
            if len(p) < 2:
                continue
            vals = np.array([p_at_least_one(pr, p, r) for r in rhos])
            assert np.all(np.diff(vals) < 1e-12), (len(p), vals)
            # and it really falls (by at least what the two-program lower bound allows)
            assert vals[-1] < vals[0] - 0.1 * np.prod(np.sort(p)[-2:])


def test_p_at_least_one_rises_with_each_p(catalogs):
    rng = np.random.default_rng(2)
    for pr in catalogs:
        for rho in (0.0, 0.2, 0.5, 0.8, 0.95):
            for idx in _lists(pr, rng, 6, allow_certain=False):
                p = pr.p[idx].copy()
                base = p_at_least_one(pr, p, rho)
                for i in rng.choice(len(p), min(len(p), 8), replace=False):
                    q = p.copy()
                    q[i] = p[i] + (1.0 - p[i]) * rng.uniform(0.05, 1.0)  # up, possibly to 1
                    up = p_at_least_one(pr, q, rho)
                    assert up >= base - 1e-15, (rho, i, p[i], q[i], base, up)
                    if base < 1 - 1e-9:
                        assert up > base, (rho, i, p[i], q[i], base, up)


# ---------------------------------------------------------------------- optimization
def _solver_instance(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 41))
    rho = [0.2, 0.35, 0.6, 0.8][seed % 4]
    p = rng.uniform(0.01, 0.45, n)
    p[rng.choice(n, n // 4, replace=False)] = rng.choice(p, n // 4)  # ties: dominance's tie-break
    la = rng.random(n) < 0.35
    extra = rng.choice([0, 0, 0, 15, 40], n) if seed % 2 else np.zeros(n)
    strategy = {"budget": float(rng.choice([55, 88, 132, 200, 400])),
                "max_applications": int(rng.choice([3, 4, 6, 8, 12])),
                "min_applications": int(rng.choice([0, 0, 2])),
                "la_share_max": float(rng.choice([0.25, 0.34, 0.5, 1.0]))}
    return _catalog_problem(p, rho=rho, extra=extra, la=la, strategy=strategy)


def test_dominance_reduction_never_changes_the_optimum():
    dropped = 0
    for seed in range(8):
        pr = _solver_instance(600 + seed)
        cand = dominance.reduce(pr)
        dropped += pr.n - len(cand)
        full = solver.solve_milp(pr, np.arange(pr.n))
        red = solver.solve_milp(pr, cand)
        assert full.status is red.status
        if full.status is Status.INFEASIBLE:
            continue
        assert full.status is Status.OPTIMAL, full
        assert violations(pr, red.plan) == []
        assert objective_value(pr, red.plan) == pytest.approx(objective_value(pr, full.plan), abs=2 * solver.TOL)
    assert dropped > 0  # the test reduced something


def test_correlated_optimum_not_worse_than_independent_optimum():
    for seed in range(6):
        pr = _solver_instance(700 + seed)
        pr0 = dataclasses.replace(pr, rho=0.0)
        cand = dominance.reduce(pr)
        a = solver.solve_milp(pr, cand)
        b = solver.solve_milp(pr0, dominance.reduce(pr0))
        assert a.status is b.status
        if a.plan is None:
            continue
        assert a.status is Status.OPTIMAL and a.gap <= solver.TOL
        # under correlation, the correlated optimum beats the independent optimum's list
        assert objective_value(pr, a.plan) >= objective_value(pr, b.plan) - a.gap - 1e-12
        # and, symmetrically, under independence the independent optimum wins
        assert objective_value(pr0, b.plan) >= objective_value(pr0, a.plan) - 1e-12
