"""Independent Monte Carlo check of a list under the two-stage model's node mixture.

Per applicant draw: a node k (a card of the ensemble and a point of its factors) is drawn
with probability w_k; then each program interviews with probability pi_ik and, if it does,
matches with probability mu_ik, all independently given k.  The applicant matches iff some
program matches.  One uniform u per (draw, program) decides both: an interview iff
u < pi_ik, a match iff u < pi_ik mu_ik (so a match implies an interview, and P(match |
interview) = mu_ik): the same law as two draws, at half the random numbers.  Uniforms and
probabilities are float32 (steps of 6e-8, far below the standard error of any draw count
used here).  Shares no code with the exact evaluator (it never forms a product over
programs); the tallies and the Wilson interval are those of :mod:`allocator.verification.draws`.
"""
from __future__ import annotations

import numpy as np

from allocator.errors import InputError
from allocator.verification.draws import Estimate, Tally, _wilson
from allocator.verification.simulate import SimulationResult, _result

_CHUNK = 16_384


def simulate_mixture(pi: np.ndarray, mu: np.ndarray, w: np.ndarray, *, la=None, draws: int = 200_000,
                     seed: int = 0) -> SimulationResult:
    """``pi``, ``mu``: (K, n) conditional interview and match probabilities; ``w``: (K,) weights."""
    pi, mu, w = np.asarray(pi, float), np.asarray(mu, float), np.asarray(w, float)
    if pi.shape != mu.shape or pi.shape[0] != len(w):
        raise InputError(f"pi {pi.shape}, mu {mu.shape} and w ({len(w)},) do not fit together")
    if draws < 1 or seed < 0:
        raise InputError("draws must be >= 1 and seed >= 0")
    n = pi.shape[1]
    la_arr = None if la is None else np.asarray(la, bool)
    rng = np.random.default_rng(seed)
    cum = np.cumsum(w / w.sum())
    p_int, p_succ = pi.astype(np.float32), (pi * np.clip(mu, 0.0, 1.0)).astype(np.float32)
    tally = Tally(n)
    left = draws
    while left > 0:
        m = min(_CHUNK, left)
        left -= m
        k = np.minimum(np.searchsorted(cum, rng.random(m), side="right"), len(w) - 1)
        u = rng.random((m, n), dtype=np.float32)
        inter = u < p_int[k]
        succ = u < p_succ[k]
        la_hit = succ[:, la_arr].any(axis=1) if la_arr is not None else None
        tally.add(np.count_nonzero(succ, axis=1), np.count_nonzero(inter, axis=1), la_hit)
    p_hat = tally.matched / tally.draws
    se = float(np.sqrt(max(p_hat * (1 - p_hat), 0.0) / tally.draws))
    p_la = se_la = None
    if la_arr is not None:
        p_la = tally.matched_la / tally.draws
        se_la = float(np.sqrt(max(p_la * (1 - p_la), 0.0) / tally.draws))
    est = Estimate(tally, p_hat, _wilson(tally.matched, tally.draws), se, p_la, se_la, "wilson")
    return _result(est, seed, "mc")
