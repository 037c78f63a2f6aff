"""Dominance reduction: drop programs that an optimal list never needs.

Program j can be dropped when at least K other programs (K = the most programs of j's
specialty a list can hold) each are at least as good in every respect: same specialty,
p >= p_j under every variant (plain, signalled, geographic preference, both), fee_extra
<=, la <= la_j (or equal when LA membership is rewarded), utility >=, and not must_apply.
When divisions are chosen, a dominator in another division must beat j even when only j's
division is preferred (its plain variants >= j's preferred ones).  Ties are broken by index, so the relation is
a strict order and chains of drops stay valid.  Valid for the independent and the
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


def reduce(problem: Problem, *, la_rewarded: bool = False, chunk: int = 512) -> np.ndarray:
    """Indices of the candidates kept (sorted)."""
    n = problem.n
    if n == 0:
        return np.arange(0)
    plain = [problem.p, *problem.p_signal.values()]  # without a preferred division
    pref = [problem.p_geo, *problem.p_signal_geo.values()] if problem.has_geo else []
    V = np.stack(plain + pref, axis=1)  # (n, m): every variant, same-division comparison
    must = np.zeros(n, bool)
    must[list(problem.must)] = True
    div = problem.division_array if problem.has_geo else None
    if div is not None:
        # across divisions the dominator may lose the preference while j gains it
        P0 = np.stack(plain, axis=1)
        P1 = np.stack(pref, axis=1)
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
            cnt = ge.sum(axis=1)
            drop = (cnt >= K) & ~must[js]
            keep[js[drop]] = False
    return np.nonzero(keep)[0]
