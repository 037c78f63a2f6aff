"""allocator.model.logistic's expit and logit against scipy.special's, value by value."""
import numpy as np
import pytest
from scipy import special

from allocator.model.logistic import expit, logit

ULP = np.finfo(float).eps


def test_expit_matches_scipy_to_a_few_ulp():
    rng = np.random.default_rng(7)
    x = np.concatenate([np.linspace(-745, 745, 20_001), rng.normal(0, 6, 20_000), [0.0, -0.0, 1e-300]])
    ours, ref = expit(x), special.expit(x)
    assert np.all(np.abs(ours - ref) <= 4 * ULP * ref)
    assert expit(-800.0) == 0.0 and expit(800.0) == 1.0 and expit(0.0) == 0.5


def test_logit_matches_scipy_to_a_few_ulp_and_inverts_expit():
    rng = np.random.default_rng(8)
    p = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 20_001), rng.random(20_000), [1e-300, 0.3, 0.65, 0.5]])
    ours, ref = logit(p), special.logit(p)
    assert np.all(np.abs(ours - ref) <= 4 * ULP * np.maximum(np.abs(ref), 1e-300))
    assert np.allclose(expit(ours), p, rtol=1e-12, atol=0)
    assert logit(0.0) == -np.inf and logit(1.0) == np.inf and logit(0.5) == 0.0
    assert np.isnan(logit(1.5)) and np.isnan(logit(-0.1))


@pytest.mark.parametrize("x", [0.25, np.float64(0.25), np.array(0.25), [0.1, 0.9]])
def test_shapes_follow_the_input(x):
    assert np.shape(logit(x)) == np.shape(x) and np.shape(expit(x)) == np.shape(x)
