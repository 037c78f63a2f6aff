"""The standard normal distribution on small numpy arrays, with the standard library:
log Phi (``log_ndtr``) and its inverse Phi^-1 (``ndtri``), named as in scipy.special.

scipy.special computes them much faster per value, but importing it costs about 0.1 s of
every command.  A solve on the default two-stage model needs them only for the report's
P(match) at other correlations (some 3 x 10^4 values, about 4 ms here) and for the two
ends of the copula's quadrature zone, so those use this module
(:func:`allocator.model.copula.log_fail` with ``small=True``, :func:`~allocator.model.copula.make_nodes`);
the copula's integer programs and the simulator use scipy.special.  ``math.erfc`` and
``statistics.NormalDist.inv_cdf`` (Wichura's AS 241) are accurate to a few ulp: these
functions agree with scipy.special's to 1e-13 relative, and the copula's terms computed
either way to 1e-12 relative or 1e-15 absolute (tests/test_normal.py).
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_STD = NormalDist()
_SQRT1_2 = math.sqrt(0.5)


def log_ndtr(x) -> np.ndarray:
    """ln Phi(x), accurate in both tails (-inf where Phi(x) underflows, below x = -38)."""
    x = np.asarray(x, float)
    flat = (np.abs(x) * _SQRT1_2).ravel().tolist()
    q = 0.5 * np.array([math.erfc(v) for v in flat], float).reshape(x.shape)  # P(N(0,1) > |x|)
    with np.errstate(divide="ignore"):
        return np.where(x < 0, np.log(q), np.log1p(-q))


def ndtri(p) -> np.ndarray:
    """Phi^-1(p): -inf at 0, +inf at 1, NaN outside [0, 1]."""
    p = np.asarray(p, float)
    out = np.array([_STD.inv_cdf(v) if 0.0 < v < 1.0 else math.nan for v in p.ravel().tolist()], float)
    out = out.reshape(p.shape)
    out[p == 0.0] = -np.inf
    out[p == 1.0] = np.inf
    return out
