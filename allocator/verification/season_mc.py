"""Independent Monte Carlo check of the season update (shares no code with the evaluator or
allocator.season): simulated seasons importance-weighted on the observed answers.

Each draw: the applicant's factor Z ~ N(0, 1); for every program the latent
Y = sqrt(rho) Z + sqrt(1 - rho) E drawn *conditionally on its observed answer* (invited:
Y below the interview threshold; rejected: above it; no answer yet: interviewed-but-not-
yet-invited with probability proportional to (1 - F) P(int | Z), else not interviewed and no
rejection sent, proportional to (1 - R) P(no int | Z); withdrawn: nothing; declined: invited,
as an invitation, but never a match there).  The draw's weight
is the probability of all the observed answers given Z, so the weighted draws are seasons
sampled from the conditional law given the answers.  Extra programs (a list sent now) are
drawn unconditionally.  Estimates are self-normalised with delta-method standard errors.
:func:`simulate_season_mixture` does the same for a finite mixture of nodes (the two-stage
model): a node drawn by its weight, then each program's interview and match.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri  # scipy.stats takes seconds to import

_INV, _REJ, _SIL, _WD, _DEC = "invited", "rejected", "applied", "withdrawn", "declined"


@dataclass(frozen=True)
class SeasonMC:
    p_match: float
    p_match_se: float
    p_match_la: float
    p_match_la_se: float
    further: float
    further_se: float
    ess: float
    draws: int
    seed: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _trunc(rng, mu, sd, thr, below: np.ndarray):
    """Normal(mu, sd) truncated below/above thr (per element), by inverse CDF."""
    a = ndtr((thr - mu) / sd)
    u = rng.random(mu.shape)
    x = np.where(below, u * a, a + u * (1 - a))
    x = np.clip(x, 1e-300, 1 - 1e-16)
    return mu + sd * ndtri(x)


def _weighted(g, wt):
    W = wt.sum()
    est = float((wt * g).sum() / W)
    se = float(np.sqrt(np.sum(wt ** 2 * (g - est) ** 2)) / W)
    return est, se


def simulate_season(p, q, rho, status, F, R, la, p_extra=None, la_extra=None, draws=50_000, seed=0) -> SeasonMC:
    rng = np.random.default_rng(seed)
    p, q = np.asarray(p, float), np.asarray(q, float)
    st = np.asarray(status)
    n = len(p)
    Z = rng.standard_normal(draws)
    mu, sd = np.sqrt(rho) * Z[:, None], np.sqrt(1 - rho)
    tq, tp = ndtri(np.clip(q, 1e-300, 1)), ndtri(np.clip(p, 1e-300, 1))
    pint = ndtr((tq[None, :] - mu) / sd)  # (draws, n)
    logw = np.zeros(draws)
    Y = np.full((draws, n), np.inf)
    inv, rej, sil, dec = st == _INV, st == _REJ, st == _SIL, st == _DEC
    logw += np.log(np.clip(pint[:, dec], 1e-300, None)).sum(axis=1)  # declined: invited, Y stays inf
    if inv.any():
        logw += np.log(np.clip(pint[:, inv], 1e-300, None)).sum(axis=1)
        Y[:, inv] = _trunc(rng, np.broadcast_to(mu, (draws, inv.sum())), sd, tq[inv], np.ones((draws, inv.sum()), bool))
    if rej.any():
        logw += np.log(np.clip(1 - pint[:, rej], 1e-300, None)).sum(axis=1)
        Y[:, rej] = _trunc(rng, np.broadcast_to(mu, (draws, rej.sum())), sd, tq[rej], np.zeros((draws, rej.sum()), bool))
    further = np.zeros(draws)
    if sil.any():
        a = (1 - np.asarray(F, float)) * pint[:, sil]
        b = (1 - np.asarray(R, float)) * (1 - pint[:, sil])
        logw += np.log(np.clip(a + b, 1e-300, None)).sum(axis=1)
        yes = rng.random(a.shape) < a / np.clip(a + b, 1e-300, None)
        Y[:, sil] = _trunc(rng, np.broadcast_to(mu, a.shape), sd, tq[sil], yes)
        further = yes.sum(axis=1).astype(float)
    success = Y < tp[None, :]  # withdrawn, declined: Y = inf, never
    la = np.asarray(la, bool)
    any_la = success[:, la].any(axis=1) if la.any() else np.zeros(draws, bool)
    anyone = success.any(axis=1)
    if p_extra is not None and len(p_extra):
        pe = np.asarray(p_extra, float)
        ye = mu + sd * rng.standard_normal((draws, len(pe)))
        se_ = ye < ndtri(np.clip(pe, 1e-300, 1))[None, :]
        anyone, any_la = _with_extra(anyone, any_la, se_, la_extra)
    return _estimates(anyone, any_la, further, logw, draws, seed)


def _with_extra(anyone, any_la, success_extra, la_extra):
    """The seasons' outcomes with the applications sent now (``success_extra``, draws x m)."""
    anyone = anyone | success_extra.any(axis=1)
    if la_extra is not None and np.any(la_extra):
        any_la = any_la | success_extra[:, np.asarray(la_extra, bool)].any(axis=1)
    return anyone, any_la


def _estimates(anyone, any_la, further, logw, draws: int, seed: int) -> SeasonMC:
    """Self-normalised weighted estimates from the draws' log-weights."""
    wt = np.exp(logw - logw.max())
    pm, pm_se = _weighted(anyone.astype(float), wt)
    pl, pl_se = _weighted(any_la.astype(float), wt)
    fu, fu_se = _weighted(further, wt)
    ess = float(wt.sum() ** 2 / np.sum(wt ** 2))
    return SeasonMC(pm, pm_se, pl, pl_se, fu, fu_se, ess, draws, seed)


def simulate_season_mixture(w, pint, pmatch, status, F, R, la, pint_extra=None, pmatch_extra=None, la_extra=None,
                            draws=50_000, seed=0) -> SeasonMC:
    """The same check under a finite mixture (the two-stage model): each draw picks node k with
    probability ``w[k]``, then every program interviews with ``pint[k, i]`` and, interviewed,
    matches with ``pmatch[k, i]``; interview outcomes are drawn *conditionally on the observed
    answer* and the draw weighted by the answers' probability, as above.  ``pint_extra`` /
    ``pmatch_extra`` (K, m): the applications sent now (drawn unconditionally)."""
    rng = np.random.default_rng(seed)
    w = np.asarray(w, float)
    k = rng.choice(len(w), size=draws, p=w / w.sum())
    qi, mi = np.asarray(pint, float)[k], np.asarray(pmatch, float)[k]  # (draws, n)
    st = np.asarray(status)
    inv, rej, sil, dec = st == _INV, st == _REJ, st == _SIL, st == _DEC
    logw = np.zeros(draws)
    interviewed = np.zeros(qi.shape, bool)  # declined: invited (its weight) but never interviewed here
    with np.errstate(divide="ignore"):
        logw += np.log(qi[:, inv | dec]).sum(axis=1) + np.log(1 - qi[:, rej]).sum(axis=1)
        interviewed[:, inv] = True
        a = (1 - np.asarray(F, float)) * qi[:, sil]  # invitation still to come
        b = (1 - np.asarray(R, float)) * (1 - qi[:, sil])  # no interview, no rejection sent yet
        logw += np.log(a + b).sum(axis=1)
    yes = rng.random(a.shape) * (a + b) < a
    interviewed[:, sil] = yes
    success = interviewed & (rng.random(qi.shape) < mi)  # withdrawn, declined, rejected: never interviewed here
    la = np.asarray(la, bool)
    any_la = success[:, la].any(axis=1)
    anyone = success.any(axis=1)
    if pint_extra is not None and np.shape(pint_extra)[1]:
        qe, me = np.asarray(pint_extra, float)[k], np.asarray(pmatch_extra, float)[k]
        se_ = (rng.random(qe.shape) < qe) & (rng.random(me.shape) < me)
        anyone, any_la = _with_extra(anyone, any_la, se_, la_extra)
    return _estimates(anyone, any_la, yes.sum(axis=1).astype(float), logw, draws, seed)
