"""The posterior over the applicant's latent factor(s) given the answers so far.

Generic input (:class:`NodeModel`): quadrature nodes with prior weights ``w`` (K,), and at
each node the conditional probabilities of every application on the list, ``q[k, i]`` =
P(interview_i | node k) and ``m[k, i]`` = P(match_i | interview_i, node k).  Given the node,
programs are independent.  Any model whose factors are integrated on nodes fits (one factor
today; separate interview- and match-stage factors give 2-D nodes, and nothing here
changes).  ``strength`` (K,) is the node's interview-stage factor, used only to say how the
applicant's standing moved (low = strong).

Observations per program (codes below) and their likelihood at a node, with F = the share of
a program's invitations sent by today and R = the share of non-inviting programs that have
sent a rejection by today (the model card's timing curves; both independent of the factor):

- invited / interviewed: F q (F cancels: q);
- rejected: R (1 - q) (R cancels: 1 - q);
- no answer yet: 1 - F q - R (1 - q) (silence: not invited yet, or not invited and not told);
  with R = 0 this is 1 - F q, and at F = R = 0 (before invitations start) it is 1;
- withdrawn (before any answer): 1 (no evidence, and no chance of a match there);
- declined (invited, then the interview declined or the application withdrawn): q, as an
  invitation, and no chance of a match there.

Posterior weight of node k: w_k L_k / sum_j w_j L_j, with L_k the product of the likelihoods.
Given node k and the observations, programs stay independent; P(no match at i | obs, k) is
1 - m (invited), 1 (rejected, withdrawn, declined) and 1 - (1 - F) q m / (1 - F q - R (1 - q)) (silent).
So P(match | obs) = 1 - sum_k pi_k prod_i c_ik: again a finite mixture over the nodes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

APPLIED, INVITED, REJECTED, WITHDRAWN, DECLINED = 0, 1, 2, 3, 4
CODES = {"applied": APPLIED, "invited": INVITED, "interviewed": INVITED, "rejected": REJECTED, "withdrawn": WITHDRAWN,
         "declined": DECLINED}


@dataclass(frozen=True)
class NodeModel:
    """Prior nodes and per-node conditional probabilities of the applications on a list."""

    w: np.ndarray  # (K,) prior weights, sum 1
    q: np.ndarray  # (K, n) P(interview_i | node)
    m: np.ndarray  # (K, n) P(match_i | interview_i, node)
    strength: np.ndarray | None = None  # (K,) interview-stage factor (low = strong)

    @property
    def n(self) -> int:
        return self.q.shape[1]

    def subset(self, cols) -> "NodeModel":
        cols = np.asarray(cols, dtype=int)
        return NodeModel(self.w, self.q[:, cols], self.m[:, cols], self.strength)


@dataclass(frozen=True)
class Observed:
    """Status codes (n,) and the timing shares F (invitations sent) and R (rejections sent)."""

    code: np.ndarray
    F: np.ndarray
    R: np.ndarray

    @staticmethod
    def of(statuses, F, R) -> "Observed":
        code = np.array([CODES[s] for s in statuses], dtype=int)
        n = len(code)
        return Observed(code, np.broadcast_to(np.asarray(F, float), (n,)).copy(),
                        np.broadcast_to(np.asarray(R, float), (n,)).copy())


def _silence(nm: NodeModel, obs: Observed) -> np.ndarray:
    """P(no answer by today | node) per program: 1 - F q - R (1 - q)."""
    return np.clip(1.0 - obs.F * nm.q - obs.R * (1.0 - nm.q), 1e-300, 1.0)


def log_likelihood(nm: NodeModel, obs: Observed) -> np.ndarray:
    """ln P(observations | node), (K,), up to constants that do not depend on the node."""
    q = np.clip(nm.q, 1e-300, 1.0)
    with np.errstate(divide="ignore"):
        parts = np.where((obs.code == INVITED) | (obs.code == DECLINED), np.log(q),
                         np.where(obs.code == REJECTED, np.log(np.clip(1.0 - nm.q, 1e-300, 1.0)),
                                  np.where(obs.code == APPLIED, np.log(_silence(nm, obs)), 0.0)))
    return parts.sum(axis=1)


def posterior_weights(nm: NodeModel, obs: Observed) -> np.ndarray:
    """pi_k proportional to w_k P(obs | node k), summing to 1."""
    ll = log_likelihood(nm, obs)
    with np.errstate(divide="ignore"):
        a = np.log(nm.w) + ll
    a = a - np.max(a)
    pi = np.exp(a)
    return pi / pi.sum()


def no_match_factors(nm: NodeModel, obs: Observed) -> np.ndarray:
    """c[k, i] = P(no match at program i | its observation, node k)."""
    silent_succ = (1.0 - obs.F) * nm.q * nm.m / _silence(nm, obs)
    return np.where(obs.code == INVITED, 1.0 - nm.m,
                    np.where(obs.code == APPLIED, 1.0 - np.clip(silent_succ, 0, 1), 1.0))


def further_interview_probs(nm: NodeModel, obs: Observed) -> np.ndarray:
    """r[k, i] = P(an invitation is still to come from program i | no answer yet, node k) (0 otherwise)."""
    r = (1.0 - obs.F) * nm.q / _silence(nm, obs)
    return np.where(obs.code == APPLIED, np.clip(r, 0, 1), 0.0)


def p_match(pi: np.ndarray, c: np.ndarray, cols=None) -> float:
    """1 - sum_k pi_k prod_{i in cols} c[k, i] (all columns when cols is None)."""
    cc = c if cols is None else c[:, np.asarray(cols, dtype=int)]
    if cc.shape[1] == 0:
        return 0.0
    return float(1.0 - np.dot(pi, np.exp(np.log(np.clip(cc, 1e-300, 1.0)).sum(axis=1))))


def count_distribution(pi: np.ndarray, r: np.ndarray, base: int = 0) -> np.ndarray:
    """P(total = base + j), j = 0..n: a Poisson-binomial at each node (success probs r[k]), mixed by pi."""
    K, n = r.shape
    dist = np.zeros((K, n + 1))
    dist[:, 0] = 1.0
    for i in range(n):
        ri = r[:, i:i + 1]
        if not np.any(ri):
            continue
        dist[:, 1:] = dist[:, 1:] * (1 - ri) + dist[:, :-1] * ri
        dist[:, 0] *= (1 - ri[:, 0])
    mix = pi @ dist
    return np.concatenate([np.zeros(base), mix])


def weighted_percentile(v, weights, u: float) -> float:
    """The ``u``-quantile (0-1) of values ``v`` carrying ``weights``, continuous in the weights.

    Sort the values; value k holds the slice of [0, 1] its normalized weight covers (the
    inverse of the weighted distribution, a step function).  The quantile is the average of that
    step function over a window one equal share wide (h = 1 / len(v)), placed at
    ``u (1 - h)`` to ``u (1 - h) + h``.  Equal weights give exactly ``np.percentile(v, 100 u)``
    (its default linear rule: the window then straddles two neighbouring values in proportion),
    so the ranges before any answer are solve's.  Moving a share ``d`` of the weight moves the
    quantile by at most ``d / h`` times the values' spread, so a model of negligible weight moves
    it negligibly and no weight crossing 10% makes it jump; it never falls as ``u`` rises.  A
    zero weight holds no slice (its value drops out) but still counts in h.  A value carrying
    99% of the weight is exactly every percentile from the 2nd to the 98th, however many values
    there are (its slice covers those windows); nearer the ends the others pull the quantile
    toward them.

    >>> weighted_percentile([0.1, 0.5, 0.9], [1, 1, 1], 0.25)  # np.percentile's 0.3
    0.3
    """
    v, w = np.asarray(v, float), np.asarray(weights, float)
    if v.shape != w.shape or v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError("give one finite value per weight")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be finite, not negative, and not all zero")
    if np.ptp(w) <= 1e-12 * w.max():  # equal weights: numpy's own rule, to the last bit
        return float(np.percentile(v, 100 * u))
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o] / w.sum()
    edge = np.r_[0.0, np.cumsum(w)]  # value k holds [edge[k], edge[k + 1]]
    edge[-1] = 1.0
    h = 1.0 / len(v)
    a = float(np.clip(u, 0.0, 1.0)) * (1.0 - h)
    cover = np.clip(np.minimum(edge[1:], a + h) - np.maximum(edge[:-1], a), 0.0, None)  # each slice in the window
    first = v[int(np.argmax(cover > 0))]  # a window inside one slice gives its value to the last bit
    return float(np.clip(first + np.dot(v - first, cover) / cover.sum(), v[0], v[-1]))


def spread(v, weights, lo: float = 0.1, hi: float = 0.9) -> list[float]:
    """[lo, hi] percentiles of ``v`` under ``weights``, the same weights as their average; when a
    lone outlying value drags that average outside them, the range is widened to include it."""
    mean = float(np.dot(weights, v) / np.sum(weights))
    a, b = weighted_percentile(v, weights, lo), weighted_percentile(v, weights, hi)
    return [min(a, mean), max(b, mean)]


def quantile(z: np.ndarray, weights: np.ndarray, u: float) -> float:
    """The ``u``-quantile of a discrete distribution on nodes ``z`` (linear between nodes)."""
    order = np.argsort(z)
    zz, cw = z[order], np.cumsum(weights[order])
    cw = cw / cw[-1]
    return float(np.interp(u, cw, zz))
