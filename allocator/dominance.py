"""Dominance reduction: drop programs that an optimal list never needs.

Program j can be dropped when at least K other programs (K = the most programs of j's
specialty a list can hold) each are at least as good in every respect: same specialty,
p >= p_j under every variant (plain, signalled, geographic preference), fee_extra <=,
la <= la_j (or equal when LA membership is rewarded), utility >=, same division when
divisions are chosen, and not must_apply.  Ties are broken by index, so the relation is
a strict order and chains of drops stay valid.  Valid for the independent and the
correlated model and for the LA cap (an optimal list never holds all K dominators, so one
can replace j without breaking a constraint or lowering the objective).
"""
from __future__ import annotations

import numpy as np

from .problem import Problem


def count_caps(problem: Problem) -> dict[int, int]:
    """Most programs of each specialty (by index) that any feasible list can contain."""
    caps = {}
    for s, name in enumerate(problem.specialties):
        k = min(problem.max_apps, problem.schedule.max_count(problem.budget),
                problem.spec_max.get(name, problem.max_apps))
        caps[s] = int(k)
    return caps


def reduce(problem: Problem, *, la_rewarded: bool = False, chunk: int = 512) -> np.ndarray:
    """Indices of the candidates kept (sorted)."""
    n = problem.n
    if n == 0:
        return np.arange(0)
    variants = [problem.p, *problem.p_signal.values()]
    if problem.p_geo is not None:
        variants.append(problem.p_geo)
    V = np.stack(variants, axis=1)  # (n, m)
    must = np.zeros(n, bool)
    must[list(problem.must)] = True
    div = problem.programs["division"].astype(str).to_numpy() if problem.has_geo else None
    caps = count_caps(problem)
    keep = np.ones(n, bool)
    for s in range(len(problem.specialties)):
        members = np.nonzero(problem.spec == s)[0]
        K = caps[s]
        if len(members) <= K:
            continue
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
                ge &= div[i][None, :] == div[js][:, None]
            # strictness: better somewhere, or equal everywhere and earlier index
            strict = (np.any(V[i][None, :, :] > V[js][:, None, :], axis=2)
                      | (problem.extra[i][None, :] < problem.extra[js][:, None])
                      | (problem.la[i][None, :] < problem.la[js][:, None])
                      | (problem.utility[i][None, :] > problem.utility[js][:, None])
                      | (i[None, :] < js[:, None]))
            ge &= strict
            ge &= i[None, :] != js[:, None]
            cnt = ge.sum(axis=1)
            drop = (cnt >= K) & ~must[js]
            keep[js[drop]] = False
    return np.nonzero(keep)[0]
