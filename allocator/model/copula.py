"""The one-factor Gaussian copula: conditional probabilities and quadrature nodes.

Program i succeeds when ``sqrt(rho)*Z + sqrt(1-rho)*E_i < Phi^-1(p_i)`` with Z, E_i iid
N(0, 1); Z is the applicant's latent strength (low Z = strong).  Given Z = z the outcomes
are independent with ``p_i(z) = Phi((Phi^-1(p_i) - sqrt(rho) z) / sqrt(1 - rho))``.
``rho = 0`` is the independent model.

P(no success on list x) = E_Z[prod_i (1 - p_i(Z))^x_i] = sum_k w_k exp(sum_i x_i a_ik) with
``a_ik = ln(1 - p_i(z_k))`` on quadrature nodes z_k.  The nodes are composite
Gauss-Legendre panels on [-8.5, 8.5] times the normal density.  Each factor 1 - p_i(z) is a
sigmoid in z of width ``sqrt((1-rho)/rho)`` centred at ``Phi^-1(p_i)/sqrt(rho)``; panels no
wider than that width (8 nodes each) inside the zone where the candidates' sigmoids move,
and 1-wide panels elsewhere, keep the error below 1e-10 for rho <= 0.8 (tested against
scipy.integrate.quad in tests/test_correlation.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial.legendre import leggauss

from allocator.model import normal

# scipy.special (ndtr, ndtri, log_ndtr) is imported in the functions that need it: loading it
# costs about 0.1 s, which a solve on the default two-stage model need not spend.
Z_MAX = 8.5  # the normal mass beyond +-8.5 is below 2e-17
LOG_FLOOR = -60.0  # ln(1 - p) for p = 1: exp(-60) ~ 1e-26 stands for "certain success"
_GL_POINTS = 8
_DROP_WEIGHT = 1e-16  # nodes lighter than this are dropped (their total is below 1e-14)


@dataclass(frozen=True)
class Nodes:
    """Quadrature nodes ``z`` and weights ``w`` (sum to 1) for E[g(Z)], Z ~ N(0, 1)."""

    z: np.ndarray
    w: np.ndarray
    rho: float

    def __len__(self) -> int:
        return len(self.z)


def transition_width(rho: float) -> float:
    return float(np.sqrt((1.0 - rho) / rho)) if rho > 0 else np.inf


def make_nodes(rho: float, p: np.ndarray | None = None) -> Nodes:
    """Nodes for correlation ``rho`` and candidate probabilities ``p`` (any list drawn from
    these candidates is integrated accurately).  ``rho = 0`` gives the single node z = 0."""
    if rho <= 0:
        return Nodes(np.zeros(1), np.ones(1), 0.0)
    w_tr = transition_width(rho)
    h_fine = min(1.0, w_tr)
    lo, hi = -Z_MAX, Z_MAX
    if p is not None:
        pp = np.asarray(p, float)
        pp = pp[(pp > 0) & (pp < 1)]
        if len(pp):
            c = normal.ndtri(np.array([pp.min(), pp.max()])) / np.sqrt(rho)  # Phi^-1 is increasing
            lo = max(-Z_MAX, float(c.min()) - 8 * w_tr)
            hi = min(Z_MAX, float(c.max()) + 8 * w_tr)
            if hi <= lo:
                lo, hi = -Z_MAX, Z_MAX
    edges = [-Z_MAX]
    while edges[-1] < Z_MAX - 1e-12:
        x = edges[-1]
        step = h_fine if (lo - 1e-12 <= x < hi) else 1.0
        nxt = x + step
        if x < lo < nxt:
            nxt = lo
        if x < hi < nxt:
            nxt = hi
        edges.append(min(nxt, Z_MAX))
    e = np.asarray(edges)
    a, b = e[:-1], e[1:]
    gx, gw = leggauss(_GL_POINTS)
    z = (((b - a) / 2)[:, None] * gx[None, :] + ((a + b) / 2)[:, None]).ravel()
    w = (((b - a) / 2)[:, None] * gw[None, :]).ravel() * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    keep = w > _DROP_WEIGHT
    z, w = z[keep], w[keep]
    return Nodes(z, w / w.sum(), float(rho))


def log_fail(p: np.ndarray, rho: float, z: np.ndarray, *, small: bool = False) -> np.ndarray:
    """``ln(1 - p_i(z_k))`` as a (len(z), len(p)) array, accurate in the tails, floored at
    LOG_FLOOR (p = 1).  ``small``: Phi from the standard library (:mod:`allocator.model.normal`)
    instead of scipy.special, for a few thousand values (a report's rows at other correlations)."""
    p = np.asarray(p, float)
    with np.errstate(divide="ignore"):
        if rho <= 0:
            out = np.broadcast_to(np.log1p(-p), (len(z), len(p))).copy()
        else:
            if small:
                ndtri, log_ndtr = normal.ndtri, normal.log_ndtr
            else:
                from scipy.special import log_ndtr, ndtri
            thr = ndtri(p)
            out = log_ndtr(-(thr[None, :] - np.sqrt(rho) * np.asarray(z)[:, None]) / np.sqrt(1 - rho))
    return np.maximum(out, LOG_FLOOR)
