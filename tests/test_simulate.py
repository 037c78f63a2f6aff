"""The Monte Carlo simulator against closed forms and an independent quad() reference.

Every statistical check is "within 4 standard errors" at a fixed seed, the standard error
taken from the *reference* probability (sqrt(P(1-P)/draws)) so that it is never zero.
The reference integral is written here with scipy.integrate.quad and shares nothing with
allocator.model.copula / allocator.optim.evaluate.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import norm

import allocator.verification.draws as draws_mod
import allocator.verification.simulate as sim_mod
from allocator.errors import InputError
from allocator.verification.simulate import SimulationResult, simulate


# ---------------------------------------------------------------------------- references


def p_independent(p) -> float:
    return 1.0 - float(np.prod(1.0 - np.asarray(p, float)))


def p_quad(p, rho: float) -> float:
    """1 - E_Z[prod_i (1 - Phi((Phi^-1(p_i) - sqrt(rho) z) / sqrt(1 - rho)))] by quad."""
    p = np.asarray(p, float)
    if rho == 0:
        return p_independent(p)
    a = norm.ppf(p)
    s, c = math.sqrt(rho), math.sqrt(1.0 - rho)

    def integrand(z: float) -> float:
        return norm.pdf(z) * float(np.prod(norm.sf((a - s * z) / c)))

    # break the range at the centre of every program's sigmoid (sharp when rho -> 1)
    centres = sorted({float(np.clip(x / s, -9.9, 9.9)) for x in a[np.isfinite(a)]})
    val, err = integrate.quad(integrand, -10.0, 10.0, points=centres or None, limit=500,
                              epsabs=1e-12, epsrel=1e-10)
    assert err < 1e-8
    return 1.0 - val


def within(est: float, ref: float, draws: int, k: float = 4.0) -> bool:
    se = math.sqrt(max(ref * (1.0 - ref), 1e-12) / draws)
    return abs(est - ref) <= k * se


def rand_p(seed: int, n: int, hi: float) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, hi, n)


# ---------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize(
    "n, hi, seed",
    [(1, 0.5, 1), (5, 0.3, 2), (30, 0.08, 3), (60, 0.03, 4), (12, 0.9, 5)],
)
def test_independent_matches_closed_form(n, hi, seed):
    p = rand_p(100 + seed, n, hi)
    r = simulate(p, 0.0, draws=100_000, seed=seed)
    ref = p_independent(p)
    assert within(r.p_match, ref, r.draws), (r.p_match, ref)
    assert r.ci95[0] <= r.p_match <= r.ci95[1]


@pytest.mark.parametrize(
    "n, hi, rho, seed",
    [(10, 0.3, 0.2, 1), (40, 0.1, 0.5, 2), (25, 0.15, 0.8, 3), (8, 0.4, 0.95, 4),
     (15, 0.2, 0.995, 5)],  # rho = 0.995 exercises the float64 path
)
def test_correlated_matches_quadrature(n, hi, rho, seed):
    p = rand_p(200 + seed, n, hi)
    r = simulate(p, rho, draws=100_000, seed=seed)
    ref = p_quad(p, rho)
    assert within(r.p_match, ref, r.draws), (r.p_match, ref)
    # correlation lowers P(>= 1) below the independent value
    assert ref < p_independent(p)


def test_la_probability_matches_subset():
    p = rand_p(7, 30, 0.12)
    la = np.arange(30) % 3 == 0
    for rho in (0.0, 0.4):
        r = simulate(p, rho, la=la, draws=100_000, seed=11)
        ref_la = p_quad(p[la], rho)
        assert within(r.p_match_la, ref_la, r.draws), (rho, r.p_match_la, ref_la)
        assert r.std_error_la == pytest.approx(math.sqrt(r.p_match_la * (1 - r.p_match_la) / r.draws))
        assert r.p_match_la <= r.p_match


def test_la_absent_or_empty():
    p = [0.2, 0.3]
    assert simulate(p, 0.3, draws=1_000).p_match_la is None
    assert simulate(p, 0.3, la=[False, False], draws=1_000).p_match_la == 0.0
    assert simulate(p, 0.3, la=[1, 1], draws=1_000).p_match_la == simulate(p, 0.3, draws=1_000).p_match


def test_interview_counts_match_q():
    """At rho = 0 the number of interviews has mean sum(q), and P(>= 1 interview) is closed form."""
    p = rand_p(3, 20, 0.1)
    q = np.minimum(1.0, 3 * p)
    draws = 100_000
    r = simulate(p, 0.0, q=q, draws=draws, seed=5)
    sd = math.sqrt(float(np.sum(q * (1 - q))) / draws)
    assert abs(r.mean_interviews - q.sum()) <= 4 * sd
    assert within(1 - r.interviews_hist[0] / draws, p_independent(q), draws)
    assert within(r.p_match, p_independent(p), draws)


def test_sobol_within_tolerance():
    p = rand_p(9, 40, 0.1)
    for rho in (0.0, 0.5):
        r = simulate(p, rho, draws=2**16, seed=3, method="sobol")
        assert r.method == "sobol" and r.draws == 2**16
        assert r.ci_method.startswith("student-t")
        # randomized QMC should be at least as good as plain MC: hold it to the MC yardstick
        assert within(r.p_match, p_quad(p, rho), r.draws), (rho, r.p_match)
        assert r.ci95[0] <= r.p_match <= r.ci95[1]


def test_sobol_rounds_draws_to_replicates_of_powers_of_two():
    r = simulate([0.2, 0.1], 0.3, draws=200_000, method="sobol")
    assert r.draws == 8 * 32_768
    assert int(r.interviews_hist.sum()) == r.draws


# ---------------------------------------------------------------------------- exact edges


@pytest.mark.parametrize("method", ["mc", "sobol"])
@pytest.mark.parametrize("rho", [0.0, 0.3, 0.999])
def test_certain_and_impossible(method, rho):
    r = simulate([0.0, 1.0, 0.2], rho, draws=4_096, method=method)
    assert r.p_match == 1.0 and r.std_error == 0.0
    assert r.successes_hist[0] == 0
    r = simulate([0.0, 0.0, 0.0], rho, q=[0.0, 1.0, 0.5], draws=4_096, method=method)
    assert r.p_match == 0.0
    assert r.successes_hist[0] == r.draws
    assert r.interviews_hist[0] == 0  # q = 1 always interviews, even with p = 0
    assert r.median_interviews_matched is None


def test_hand_checkable_medians_and_quantiles():
    r = simulate([1.0, 0.0, 0.0], 0.5, q=[1.0, 1.0, 0.0], draws=500)
    assert r.interviews_hist.tolist() == [0, 0, 500, 0]
    assert r.successes_hist.tolist() == [0, 500, 0, 0]
    assert r.mean_interviews == 2.0
    assert r.median_interviews_matched == 2
    assert r.median_interviews_unmatched is None
    assert r.interviews_quantiles([0.0, 0.5, 1.0]) == [2, 2, 2]
    assert r.interviews_quantiles(0.5, among="unmatched") == [None]
    with pytest.raises(InputError):
        r.interviews_quantiles(0.5, among="everyone")


def test_interviews_dominate_successes():
    p = rand_p(4, 25, 0.1)
    q = np.minimum(1.0, p * np.random.default_rng(5).uniform(1.0, 4.0, 25))
    r = simulate(p, 0.4, q=q, draws=50_000, seed=2)
    n = len(p)
    assert r.interviews_hist.shape == r.successes_hist.shape == (n + 1,)
    assert r.interviews_hist.sum() == r.successes_hist.sum() == r.draws
    assert r.mean_interviews >= r.mean_successes
    # per draw interviews >= successes implies the tail counts are ordered for every k
    tail_i = np.cumsum(r.interviews_hist[::-1])[::-1]
    tail_s = np.cumsum(r.successes_hist[::-1])[::-1]
    assert np.all(tail_i >= tail_s)
    # a matched draw has at least one interview
    assert r.interviews_hist_matched[0] == 0
    assert r.interviews_hist_matched.sum() == round(r.p_match * r.draws)
    assert np.all(r.interviews_hist_unmatched >= 0)
    assert r.median_interviews_matched >= r.median_interviews_unmatched


# ---------------------------------------------------------------------------- determinism


def test_seed_determinism():
    p = rand_p(1, 20, 0.1)
    a = simulate(p, 0.3, draws=20_000, seed=42)
    b = simulate(p, 0.3, draws=20_000, seed=42)
    c = simulate(p, 0.3, draws=20_000, seed=43)
    assert a == b
    assert a != c and a.p_match != c.p_match
    s1 = simulate(p, 0.3, draws=4_096, seed=42, method="sobol")
    assert s1 == simulate(p, 0.3, draws=4_096, seed=42, method="sobol")
    assert s1 != simulate(p, 0.3, draws=4_096, seed=43, method="sobol")


def test_chunking_invariance_is_exact():
    """By design (one sequential stream per list position, one for Z) every chunk size
    gives bit-for-bit the same counts, not merely the same within SE."""
    p = rand_p(2, 15, 0.15)
    q = np.minimum(1.0, 2 * p)
    la = np.arange(15) < 5
    runs = [simulate(p, 0.45, q=q, la=la, draws=1_501, seed=7, chunk=c)
            for c in (None, 1, 7, 1_000, 1_501, 10**6)]
    assert all(r == runs[0] for r in runs[1:])
    sob = [simulate(p, 0.45, la=la, draws=2_048, seed=7, method="sobol", chunk=c)
           for c in (None, 1, 16, 256)]
    assert all(r == sob[0] for r in sob[1:])


def test_thread_split_invariance(monkeypatch):
    p = rand_p(3, 12, 0.2)
    base = simulate(p, 0.3, la=np.arange(12) < 4, draws=5_000, seed=1)
    for k in (1, 3, 12):
        monkeypatch.setattr(
            draws_mod, "program_groups",
            lambda n, k=k: [range(j * n // k, (j + 1) * n // k) for j in range(k)],
        )
        assert simulate(p, 0.3, la=np.arange(12) < 4, draws=5_000, seed=1) == base


# ---------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=0, max_size=12),
    rho=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**32),
    bump=st.integers(0, 11),
)
def test_invariants_and_monotone_in_p(p, rho, seed, bump):
    p = np.array(p)
    la = np.arange(len(p)) % 2 == 0
    r = simulate(p, rho, la=la, draws=1_000, seed=seed)
    assert r.draws == int(r.successes_hist.sum()) == int(r.interviews_hist.sum())
    assert r.p_match == pytest.approx(1.0 - r.successes_hist[0] / r.draws)
    assert 0.0 <= r.ci95[0] <= r.p_match <= r.ci95[1] <= 1.0
    assert r.p_match_la <= r.p_match
    if len(p) and np.any(p == 1.0):
        assert r.p_match == 1.0
    if not np.any(p > 0):
        assert r.p_match == 0.0
    # common random numbers: raising one p can only add successes, draw by draw
    if len(p):
        i = bump % len(p)
        p2 = p.copy()
        p2[i] = min(1.0, p2[i] + 0.2)
        r2 = simulate(p2, rho, la=la, draws=1_000, seed=seed)
        assert r2.p_match >= r.p_match
        assert r2.p_match_la >= r.p_match_la


# ---------------------------------------------------------------------------- output & input


def test_to_dict_is_json_and_has_contract_keys():
    r = simulate([0.1, 0.2, 0.05], 0.3, la=[True, False, True], q=[0.3, 0.5, 0.05],
                 draws=10_000, seed=3)
    d = json.loads(json.dumps(r.to_dict()))
    for key in ("p_match", "ci95", "std_error", "draws", "seed", "method", "p_match_la",
                "mean_interviews", "median_interviews_matched",
                "median_interviews_unmatched", "interviews_distribution"):
        assert key in d
    assert d["draws"] == 10_000 and d["seed"] == 3 and d["method"] == "mc"
    assert d["ci_method"] == "wilson"
    assert len(d["interviews_distribution"]) == 4
    assert sum(d["interviews_distribution"]) == 10_000
    assert isinstance(r, SimulationResult)
    with pytest.raises(ValueError):
        r.interviews_hist[0] = 1  # read-only


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(p=[0.2, 1.5]), "p[1]"),
        (dict(p=[-0.1]), "p[0]"),
        (dict(p=[float("nan")]), "p[0]"),
        (dict(p=[[0.1, 0.2]]), "1-D"),
        (dict(p=["x"]), "not a list of numbers"),
        (dict(p=[0.2, 0.3], q=[0.5, 0.1]), "q[1]"),
        (dict(p=[0.2], q=[1.1]), "q[0]"),
        (dict(p=[0.2, 0.3], q=[0.5]), "q has 1"),
        (dict(p=[0.2], la=[True, False]), "la has 2"),
        (dict(p=[0.2], la=[2]), "la"),
        (dict(p=[0.2], rho=1.0), "rho"),
        (dict(p=[0.2], rho=-0.1), "rho"),
        (dict(p=[0.2], rho="high"), "rho"),
        (dict(p=[0.2], draws=0), "draws"),
        (dict(p=[0.2], draws=10.5), "draws"),
        (dict(p=[0.2], seed=-3), "seed"),
        (dict(p=[0.2], chunk=0), "chunk"),
        (dict(p=[0.2], method="quasi"), "method"),
        (dict(p=[0.2], method="sobol", chunk=1000), "power of two"),
    ],
)
def test_bad_input_raises(kwargs, fragment):
    kwargs = {"rho": 0.3, **kwargs}
    with pytest.raises(InputError) as exc:
        simulate(**kwargs)
    assert fragment in str(exc.value)


def test_simulator_is_independent_of_the_evaluator():
    """simulate.py and draws.py import numpy, scipy, the standard library, allocator.errors
    and each other only: nothing of the analytic evaluator."""
    import ast
    import inspect
    import sys

    own = {sim_mod.__name__, draws_mod.__name__}
    for mod in (sim_mod, draws_mod):
        imported = set()
        for node in ast.walk(ast.parse(inspect.getsource(mod))):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(node.module)
        allocator_imports = {m for m in imported if m and m.startswith("allocator")}
        assert "allocator.errors" in allocator_imports, mod.__name__
        assert allocator_imports <= {"allocator.errors"} | own, (mod.__name__, allocator_imports)
        others = {m.split(".")[0] for m in imported if m and not m.startswith("allocator")}
        assert others <= {"numpy", "scipy"} | set(sys.stdlib_module_names), (mod.__name__, others)


# ---------------------------------------------------------------------------- standard errors and intervals


@pytest.mark.parametrize("rho", [0.0, 0.4])
def test_mc_standard_error_and_wilson_interval_follow_their_formulas(rho):
    """Plain MC: the standard error is the binomial sqrt(p(1-p)/draws) of the estimate, it is
    close to the one of the quad reference, and the interval is the Wilson score interval with
    z = Phi^-1(0.975), recomputed here from the count.  At 100 000 draws and P near 0.3 Wilson
    equals the normal interval p +- 1.96 SE to a relative 1e-4 (z^2/n = 4e-5), so the width is
    held to 2 x 1.96 x SE at rel 1e-3 and the midpoint to p within 0.01 SE."""
    p = rand_p(31, 12, 0.06)
    draws = 100_000
    r = simulate(p, rho, draws=draws, seed=8)
    ref = p_quad(p, rho)
    assert 0.2 < ref < 0.5  # the regime the tolerances above are stated for
    assert r.std_error == pytest.approx(math.sqrt(r.p_match * (1 - r.p_match) / draws), rel=1e-12)
    # the estimate is within 4 SE of ref, so its SE is within a relative 3% of the reference's
    assert r.std_error == pytest.approx(math.sqrt(ref * (1 - ref) / draws), rel=0.03)
    z = norm.ppf(0.975)
    k, n = round(r.p_match * draws), draws
    centre = (k / n + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(k / n * (1 - k / n) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert r.ci95 == pytest.approx((centre - half, centre + half), rel=1e-12)
    lo, hi = r.ci95
    assert hi - lo == pytest.approx(2 * z * r.std_error, rel=1e-3)
    assert abs((lo + hi) / 2 - r.p_match) <= 0.01 * r.std_error


def test_sobol_interval_is_student_t_on_the_reported_error():
    """Sobol: 8 scrambled replicates, the interval p +- t(0.975, 7) SE."""
    from scipy.stats import t

    r = simulate(rand_p(33, 6, 0.2), 0.3, draws=2_048, seed=4, method="sobol")
    assert r.std_error > 0 and 0.05 < r.ci95[0] and r.ci95[1] < 0.95  # no clipping at 0 or 1
    lo, hi = r.ci95
    assert (lo + hi) / 2 == pytest.approx(r.p_match, rel=1e-12)
    assert hi - lo == pytest.approx(2 * t.ppf(0.975, 7) * r.std_error, rel=1e-9)


def test_sobol_standard_error_matches_the_spread_over_seeds():
    """The Sobol standard error (the spread of 8 scrambled replicates / sqrt 8) against the spread
    of the estimate itself over 30 seeds: the ratio SD(estimates) / mean(reported SE) is 1 in
    expectation.  Were the 8 replicate estimates normal, the ratio falls outside [0.5, 2] with
    probability 9e-6 (2 x 10^6 simulated ratios: the 1e-5 and 1 - 1e-5 quantiles are 0.51 and 1.73),
    so a failure is a wrong formula (an SE 3 times too large gives a ratio near 0.33), not chance.
    256 points per replicate keep the replicate estimates far from the 1/256 lattice."""
    p = rand_p(32, 5, 0.2)
    runs = [simulate(p, 0.3, draws=2_048, seed=s, method="sobol") for s in range(30)]
    assert all(r.draws == 2_048 for r in runs)
    est = np.array([r.p_match for r in runs])
    se = np.array([r.std_error for r in runs])
    ratio = float(np.std(est, ddof=1) / np.mean(se))
    assert 0.5 <= ratio <= 2.0, ratio
    # and the estimates centre on the reference (4 standard errors of their mean)
    assert abs(est.mean() - p_quad(p, 0.3)) <= 4 * np.std(est, ddof=1) / math.sqrt(len(est))
