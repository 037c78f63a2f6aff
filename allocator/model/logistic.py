"""The logistic function and its inverse on numpy arrays, computed as scipy.special computes them.

``expit(x) = 1 / (1 + e^-x)`` and ``logit(p) = ln(p / (1 - p))``, with logit's
``log1p(s) - log1p(-s)`` form (``s = 2p - 1``) for 0.3 <= p <= 0.65 where the plain
quotient loses digits, as in scipy's implementation (the xsf library).  Here so that a
solve on the default two-stage model imports no scipy.special: loading it costs about
0.1 s of every command (its array-API layer imports numpy's f2py), and the model needs
only these two functions.  The normal-distribution functions of the one-factor copula
(:mod:`allocator.model.copula`) still come from scipy.special, imported when a
correlation is set.  Tests hold both functions to scipy's to a few units in the last place.
"""
from __future__ import annotations

import numpy as np


def expit(x):
    """The logistic function, 0 (not a warning) below x = -709 where e^-x overflows."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def logit(p):
    """The log-odds ln(p / (1 - p)): -inf at 0, +inf at 1, NaN outside [0, 1]."""
    p = np.asarray(p, dtype=float)
    s = 2.0 * (p - 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(p / (1.0 - p))
        mid = (p >= 0.3) & (p <= 0.65)
        if np.any(mid):
            out = np.where(mid, np.log1p(s) - np.log1p(-s), out)
    return out[()] if out.ndim == 0 else out
