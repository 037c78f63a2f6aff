"""The distribution of a count of independent successes (Poisson-binomial), counts above a
cap pooled in the last cell: the calibration's interview counts and the published-curve
check of a list (:mod:`allocator.verification.published_curve`)."""
from __future__ import annotations

import numpy as np


def poisson_binomial(p: np.ndarray, n_max: int) -> np.ndarray:
    """pmf of the number of successes of independent Bernoulli(p[j, m]) over j, per column m;
    counts above ``n_max`` pooled at ``n_max`` (that row only gains).  ``p`` is (L, M);
    returns (n_max + 1, M).  O(L n_max M): with a small cap, far cheaper than the full pmf."""
    f = np.zeros((n_max + 1, p.shape[1]))
    f[0] = 1.0
    for j in range(p.shape[0]):
        d = f * p[j]
        d[n_max] = 0.0
        f -= d
        f[1:] += d[:-1]
    return f
