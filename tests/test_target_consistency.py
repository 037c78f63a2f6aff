"""benchmarks/target_consistency.py: the linear programs behind models/README.md's "Where the
published figures disagree" (the bounds it quotes, and the distributions they return
re-checked with the calibration module's own quartile and conversion rules)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from allocator.model import calibration as cal

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("target_consistency", ROOT / "benchmarks" / "target_consistency.py")
tc = importlib.util.module_from_spec(_spec)
sys.modules["target_consistency"] = tc
_spec.loader.exec_module(tc)

ISSUE = tc.Spec(0.10, 2, 40)


def _passes(x: np.ndarray, spec: tc.Spec, eps: float = 1e-7) -> bool:
    """Re-check a distribution x = [m_1..m_n, u_1..u_n] against the published figures with
    allocator.model.calibration's quantile rule.  An LP optimum sits on the closure of the
    quantile conditions (a cumulative share exactly q), so each quartile is taken at the
    levels q - eps and q + eps: both must lie within the tolerance."""
    n = spec.n_max
    m, u = np.r_[0.0, x[:n]], np.r_[0.0, x[n:]]
    for pmf, qs in ((m, tc.MATCHED_Q), (u, tc.UNMATCHED_Q)):
        for Q, q in zip(qs, tc.QS):
            if cal._quantile(pmf, q - eps) > Q + spec.qtol or cal._quantile(pmf, q + eps) < Q - spec.qtol:
                return False
    for N, c in tc.CONVERSION.items():
        t = m[N] + u[N]
        if t > 1e-9 and abs(m[N] / t - c) > spec.tol + 1e-6:
            return False
    return True


def test_quoted_bounds():
    hi_c, _ = tc.bound(tc.Spec(0.0, 0, 40), +1)
    lo_c, _ = tc.bound(tc.Spec(0.0, 0, 40), -1)
    hi, x = tc.bound(ISSUE, +1)
    assert (round(lo_c, 3), round(hi_c, 3), round(hi, 3)) == (0.400, 0.508, 0.760)
    assert tc.rising_exact(ISSUE, x, +1) == pytest.approx(hi, abs=1e-6)   # attained by a rising curve
    assert round(tc.types_bound(ISSUE, 77)[0], 3) == 0.677
    assert tc.types_bound(tc.Spec(0.0, 0, 40), 77)[0] is None


@pytest.mark.parametrize("spec", [tc.Spec(0.0, 0, 40), ISSUE, tc.Spec(0.20, 3, 40)])
def test_extreme_distributions_meet_the_figures(spec):
    for sense in (+1, -1):
        v, x = tc.bound(spec, sense)
        assert abs(x.sum() - 1) < 1e-7 and x.min() > -1e-9 and x[:40].sum() == pytest.approx(v)
        assert _passes(x, spec)


def test_curve_given_counts_is_rising_and_within_the_windows():
    # about the default card's own counts (benchmarks/results/target_consistency.txt)
    t = np.r_[0.097, 0.103, 0.101, 0.096, 0.089, 0.081, 0.072, 0.064, 0.055, 0.047, 0.039, 0.032,
              0.032 * 0.78 ** np.arange(1, 29)]
    v, x = tc.curve_given_counts(ISSUE, t / t.sum(), +1)
    assert 0.6 < v < 0.7
    c = x[:40] / (x[:40] + x[40:])
    assert np.all(np.diff(c) >= -1e-7) and _passes(x, ISSUE)
    assert v == pytest.approx(x[:40].sum())


def test_reaching_the_match_rate():
    x = tc.reaching(ISSUE, tc.MATCH_RATE)
    assert x[:40].sum() == pytest.approx(tc.MATCH_RATE) and _passes(x, ISSUE)
    assert tc.reaching(tc.Spec(0.0, 0, 40), tc.MATCH_RATE) is None
