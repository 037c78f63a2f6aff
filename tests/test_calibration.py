"""The default model card meets its calibration targets (allocator.model.calibration), and the
exact cohort evaluation agrees with independent computations."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from allocator.model import calibration as cal
from allocator.model.copula import log_fail, make_nodes
from allocator.model.card import load_card
from allocator.model.probability import eligibility, program_arrays, probabilities

CARD = load_card()


@pytest.fixture(scope="module")
def catalog():
    return cal.cohort_catalog(CARD)


@pytest.fixture(scope="module")
def cohort(catalog):
    return cal.make_cohort(CARD, catalog)


@pytest.fixture(scope="module")
def result(catalog, cohort):
    return cal.evaluate(CARD, catalog, cohort)


@pytest.mark.parametrize("name", sorted(CARD.calibration.targets))
def test_target_within_the_cards_tolerance(name, result):
    t = CARD.calibration.targets[name]
    value = getattr(result, name)
    assert abs(value - t.target) <= t.tolerance, f"{name}: model {value:.4f}, target {t.target} ± {t.tolerance}"


@pytest.mark.parametrize("name", sorted(CARD.calibration.targets))
def test_card_records_what_the_script_reproduces(name, result):
    """`achieved` in the card is what benchmarks/calibrate.py prints for this card."""
    t = CARD.calibration.targets[name]
    assert t.achieved is not None
    assert getattr(result, name) == pytest.approx(t.achieved, abs=5e-4)


def test_matched_hold_clearly_more_interviews(result):
    assert result.median_interviews_matched >= result.median_interviews_unmatched + 3
    assert result.mean_interviews_matched > 2.5 * result.mean_interviews_unmatched_ranked
    # the correlated number is well below what independence would claim for the same lists
    assert result.match_rate_all < result.match_rate_all_independent - 0.05


def test_cohort_is_seeded_realistic_and_eligible(catalog, cohort):
    again = cal.make_cohort(CARD, catalog)
    assert np.array_equal(again.lists, cohort.lists)
    assert np.array_equal(again.applicants.step2, cohort.applicants.step2)
    spec = CARD.calibration.cohort
    n_apps = cohort.lists.sum(axis=1)
    assert len(cohort) == spec.size
    assert abs(n_apps.mean() - spec.applications_mean) < 2
    assert n_apps.min() >= spec.applications_min and n_apps.max() <= spec.applications_max
    prog = program_arrays(catalog, CARD)
    low, att, yrs = eligibility(prog, cohort.applicants)
    assert not (cohort.lists & (low | att | yrs)).any()
    la_share = (cohort.lists & prog.la).sum(axis=1) / n_apps
    ties = cohort.applicants.la_ties
    assert la_share[ties].mean() == pytest.approx(spec.la_share_with_ties, abs=0.02)
    assert la_share[~ties].mean() == pytest.approx(spec.la_share_without_ties, abs=0.02)
    assert abs(cohort.applicants.step2.mean() - spec.step2_mean) < 1.5


def test_poisson_binomial_against_enumeration():
    rng = np.random.default_rng(3)
    p = rng.random((7, 4))                      # 7 programs, 4 independent columns
    for n_max in (2, 4, 7):
        f = cal._poisson_binomial(p, n_max)
        for m in range(4):
            exact = np.zeros(8)
            for bits in itertools.product((0, 1), repeat=7):
                b = np.array(bits)
                exact[b.sum()] += np.prod(np.where(b, p[:, m], 1 - p[:, m]))
            want = np.append(exact[:n_max], exact[n_max:].sum())
            assert np.allclose(f[:, m], want, atol=1e-14)


@pytest.fixture(scope="module")
def small(catalog):
    return cal.make_cohort(CARD, catalog, size=40, seed=11)


def test_match_rate_equals_package_quadrature(catalog, small):
    """The cohort's P(match) is the DESIGN.md formula with allocator.model.copula's nodes."""
    rho = CARD.correlation
    res = cal.evaluate(CARD, catalog, small)
    prog = program_arrays(catalog, CARD)
    pi, q, _ = probabilities(prog, small.applicants, CARD)
    ps = pi * q
    total = 0.0
    for a in range(len(small)):
        p = ps[a, small.lists[a]]
        nodes = make_nodes(rho, p)
        total += 1 - nodes.w @ np.exp(log_fail(p, rho, nodes.z).sum(axis=1))
    assert res.match_rate_all == pytest.approx(total / len(small), abs=1e-9)


def test_interview_counts_against_monte_carlo(catalog, small):
    """Nested thresholds simulated directly: interview iff X < Phi^-1(p_interview), success
    iff X < Phi^-1(p_match), X = sqrt(rho) Z + sqrt(1-rho) E."""
    from scipy.stats import norm

    rho = CARD.correlation
    res = cal.evaluate(CARD, catalog, small)
    prog = program_arrays(catalog, CARD)
    pi, q, _ = probabilities(prog, small.applicants, CARD)
    rng = np.random.default_rng(7)
    draws = 4000
    matched, n_int, ranked = [], [], []
    for a in range(len(small)):
        idx = np.flatnonzero(small.lists[a])
        ti, ts = norm.ppf(pi[a, idx]), norm.ppf(pi[a, idx] * q[a, idx])
        x = np.sqrt(rho) * rng.standard_normal((draws, 1)) + np.sqrt(1 - rho) * rng.standard_normal((draws, len(idx)))
        n = (x < ti).sum(axis=1)
        matched.append((x < ts).any(axis=1))
        n_int.append(n)
    matched, n_int = np.concatenate(matched), np.concatenate(n_int)
    ranked = n_int > 0
    N = len(matched)

    def close(est, exact, se):
        assert abs(est - exact) < 4 * se + 1e-3, (est, exact)

    close(matched.mean(), res.match_rate_all, np.sqrt(res.match_rate_all * (1 - res.match_rate_all) / N))
    close((~ranked).mean(), res.share_no_interview, np.sqrt(res.share_no_interview / N))
    mr = matched[ranked].mean()
    close(mr, res.match_rate, np.sqrt(mr * (1 - mr) / ranked.sum()))
    m = n_int[matched]
    close(m.mean(), res.mean_interviews_matched, m.std() / np.sqrt(len(m)))
    u = n_int[~matched & ranked]
    close(u.mean(), res.mean_interviews_unmatched_ranked, u.std() / np.sqrt(len(u)))
    # medians are integers: the simulated ones sit within one of the exact ones
    assert abs(np.median(m) - res.median_interviews_matched) <= 1
    assert abs(np.median(u) - res.median_interviews_unmatched) <= 1


def test_correlation_lowers_the_match_rate_and_spreads_interviews(catalog, small):
    rs = [cal.evaluate(CARD, catalog, small, rho=r) for r in (0.0, 0.3, 0.6)]
    all_rates = [r.match_rate_all for r in rs]
    assert all_rates[0] > all_rates[1] > all_rates[2]
    assert rs[0].match_rate_all == pytest.approx(rs[0].match_rate_all_independent, abs=1e-12)
    no_int = [r.share_no_interview for r in rs]
    assert no_int[0] < no_int[1] < no_int[2]
    gap = [r.mean_interviews_matched - r.mean_interviews_unmatched_ranked for r in rs]
    assert gap[0] < gap[1] < gap[2]
