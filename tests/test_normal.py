"""allocator.model.normal (the standard library's normal distribution on arrays) against
scipy.special, and the copula's two ways of computing ln(1 - p_i(z))."""
import numpy as np
import pytest
from scipy import special

from allocator.model import normal
from allocator.model.copula import log_fail, make_nodes


def test_log_ndtr_matches_scipy_in_both_tails():
    x = np.concatenate([np.linspace(-37, 37, 30_001), np.random.default_rng(3).normal(0, 4, 10_000).reshape(100, 100).ravel()])
    ours, ref = normal.log_ndtr(x), special.log_ndtr(x)
    assert np.all(np.abs(ours - ref) <= 1e-13 * np.abs(ref) + 1e-300)
    assert normal.log_ndtr(-40.0) == -np.inf and normal.log_ndtr(40.0) == 0.0
    assert normal.log_ndtr(np.zeros((2, 3))).shape == (2, 3)


def test_ndtri_matches_scipy_and_its_ends():
    p = np.concatenate([np.linspace(1e-300, 1 - 1e-16, 20_001), np.random.default_rng(4).random(5_000)])
    assert np.allclose(normal.ndtri(p), special.ndtri(p), rtol=1e-13, atol=1e-14)
    assert list(normal.ndtri([0.0, 1.0, 0.5])) == [-np.inf, np.inf, 0.0]
    assert np.isnan(normal.ndtri([-0.1, 1.1, np.nan])).all()


@pytest.mark.parametrize("rho", [0.05, 0.3, 0.6, 0.95])
def test_log_fail_with_the_standard_library_matches_scipy(rho):
    rng = np.random.default_rng(int(rho * 100))
    p = np.concatenate([rng.random(60), [0.0, 1.0, 1e-12, 1 - 1e-12]])
    z = make_nodes(rho, p).z
    small, ref = log_fail(p, rho, z, small=True), log_fail(p, rho, z)
    assert small.shape == ref.shape == (len(z), len(p))
    # Phi^-1's last-ulp differences, amplified in the far tail (terms of 1e-79 there)
    assert np.allclose(small, ref, rtol=1e-12, atol=1e-15)


def test_nodes_zone_ends_match_scipy_quantiles():
    """make_nodes takes Phi^-1 of the smallest and largest p only (it is increasing)."""
    p = np.random.default_rng(5).random(500)
    rho = 0.3
    lo = special.ndtri(p).min() / np.sqrt(rho)
    nodes = make_nodes(rho, p)
    assert np.isclose(nodes.w.sum(), 1.0)
    width = np.sqrt((1 - rho) / rho)
    assert nodes.z.min() < max(-8.5, lo - 8 * width) + 1.0
