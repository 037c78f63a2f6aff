"""Dominance reduction: drop programs that an optimal list never needs.

Program j can be dropped when at least K other programs (K = the most programs of j's
specialty a list can hold) each are at least as good in every respect: same specialty,
p >= p_j under every variant (plain, signalled, geographic preference, both), fee_extra
<=, la <= la_j (or equal when LA membership is rewarded), utility >=, and not must_apply.
When divisions are chosen, a dominator in another division must beat j even when only j's
division is preferred (its plain variants >= j's preferred ones).  Ties are broken by index, so the relation is
a strict order and chains of drops stay valid.  Under the two-stage model "p >= p_j" means at every
node of the mixture, which holds when both stages' log-odds are >= on every card.  Valid for the independent and the
correlated model and for the LA cap (an optimal list never holds all K dominators, so one
can replace j without breaking a constraint or lowering the objective).
"""
from __future__ import annotations

import numpy as np

from allocator.optim.problem import Problem


def count_caps(problem: Problem) -> dict[int, int]:
    """Most programs of each specialty (by index) that any feasible list can contain."""
    caps = {}
    for s, name in enumerate(problem.specialties):
        k = min(problem.max_apps, problem.schedule.max_count(problem.budget),
                problem.spec_max.get(name, problem.max_apps))
        caps[s] = int(k)
    return caps


_COUNTS: list = []  # (the arrays the counts were computed from, la_rewarded, must, counts): most recent last
_CACHE_SIZE = 4


def _inputs(problem: Problem) -> tuple:
    """The arrays dominance reads (shared by ``with_limits`` copies: a budget sweep or a
    budget search reuses one count of dominators)."""
    geo = (problem.p_geo, *problem.p_signal_geo.values(), problem.programs) if problem.has_geo else ()
    return (problem.fm, problem.p, *problem.p_signal.values(), problem.extra, problem.la, problem.utility,
            problem.spec) + geo


def _cached_counts(problem: Problem, la_rewarded: bool, chunk: int) -> np.ndarray:
    """How many programs strictly dominate each program (within its specialty; must_apply
    programs dominate nothing).  The count does not depend on the budget or the count
    limits, so it is computed once per set of arrays (identity, kept alive by the cache)."""
    key = _inputs(problem)
    must = tuple(sorted(int(i) for i in problem.must))
    for ref, lr, mu, counts in _COUNTS:
        if lr == la_rewarded and mu == must and len(ref) == len(key) and all(a is b for a, b in zip(ref, key)):
            return counts
    counts = _dominator_counts(problem, la_rewarded, chunk)
    _COUNTS.append((key, la_rewarded, must, counts))
    del _COUNTS[:-_CACHE_SIZE]
    return counts


def reduce(problem: Problem, *, la_rewarded: bool = False, chunk: int = 512) -> np.ndarray:
    """Indices of the candidates kept (sorted)."""
    n = problem.n
    if n == 0:
        return np.arange(0)
    counts = _cached_counts(problem, la_rewarded, chunk)
    must = np.zeros(n, bool)
    must[list(problem.must)] = True
    caps = count_caps(problem)
    keep = np.ones(n, bool)
    for s in range(len(problem.specialties)):
        members = np.nonzero(problem.spec == s)[0]
        K = caps[s]
        if len(members) <= K:
            continue
        drop = (counts[members] >= K) & ~must[members]
        keep[members[drop]] = False
    return np.nonzero(keep)[0]


def _dominator_counts(problem: Problem, la_rewarded: bool, chunk: int) -> np.ndarray:
    n = problem.n
    fm = problem.fm
    if fm is None:  # one-factor copula: P(success | z) is monotone in the marginal p
        plain = [problem.p[:, None], *(v[:, None] for v in problem.p_signal.values())]
        pref = [problem.p_geo[:, None], *(v[:, None] for v in problem.p_signal_geo.values())] if problem.has_geo else []
    else:  # two-stage model: both stages' log-odds on every card (allocator.model.factors.keys)
        plain = [fm.keys("plain"), *(fm.keys(k) for k in problem.p_signal)]
        pref = [fm.keys("geo"), *(fm.keys(f"{k}_geo") for k in problem.p_signal_geo)] if problem.has_geo else []
    V = np.hstack(plain + pref)  # (n, m * d): every variant's keys, same-division comparison
    chunk = max(8, min(chunk, int(2e7 // max(1, n * V.shape[1]))))
    must = np.zeros(n, bool)
    must[list(problem.must)] = True
    div = problem.division_array if problem.has_geo else None
    if div is not None:
        # across divisions the dominator may lose the preference while j gains it
        P0 = np.hstack(plain)
        P1 = np.hstack(pref)
    counts = np.zeros(n, int)
    for s in range(len(problem.specialties)):
        members = np.nonzero(problem.spec == s)[0]
        dom_ok = members[~must[members]]  # possible dominators
        for start in range(0, len(members), chunk):
            js = members[start:start + chunk]
            i = dom_ok
            ge = np.all(V[i][None, :, :] >= V[js][:, None, :], axis=2)  # (J, I)
            ge &= problem.extra[i][None, :] <= problem.extra[js][:, None]
            if la_rewarded:
                ge &= problem.la[i][None, :] == problem.la[js][:, None]
            else:
                ge &= problem.la[i][None, :] <= problem.la[js][:, None]
            ge &= problem.utility[i][None, :] >= problem.utility[js][:, None]
            if div is not None:
                same = div[i][None, :] == div[js][:, None]
                cross = np.all(P0[i][None, :, :] >= P1[js][:, None, :], axis=2)
                ge &= same | cross
            # strictness: better somewhere, or equal everywhere and earlier index
            strict = (np.any(V[i][None, :, :] > V[js][:, None, :], axis=2)
                      | (problem.extra[i][None, :] < problem.extra[js][:, None])
                      | (problem.la[i][None, :] < problem.la[js][:, None])
                      | (problem.utility[i][None, :] > problem.utility[js][:, None])
                      | (i[None, :] < js[:, None]))
            ge &= strict
            ge &= i[None, :] != js[:, None]
            counts[js] = ge.sum(axis=1)
    return counts
