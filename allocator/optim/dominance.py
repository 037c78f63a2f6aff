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


_RELATIONS: list = []  # (the arrays the relation was computed from, must, relation): most recent last
_CACHE_SIZE = 4


def _inputs(problem: Problem) -> tuple:
    """The arrays dominance reads (shared by ``with_limits`` copies: a budget sweep or a
    budget search reuses one relation)."""
    geo = (problem.p_geo, *problem.p_signal_geo.values(), problem.candidates) if problem.has_geo else ()
    return (problem.fm, problem.p, *problem.p_signal.values(), problem.extra, problem.la, problem.utility,
            problem.spec) + geo


def _cached_counts(problem: Problem, la_rewarded: bool, chunk: int) -> np.ndarray:
    """How many programs strictly dominate each program (within its specialty; must_apply
    programs dominate nothing).  The relation does not depend on the budget, the count
    limits or the objective, so it is computed once per set of arrays (identity, kept alive
    by the cache) and counted for either objective (LA membership rewarded or not)."""
    key = _inputs(problem)
    must = tuple(sorted(int(i) for i in problem.must))
    rel = None
    for ref, mu, r in _RELATIONS:
        if mu == must and len(ref) == len(key) and all(a is b for a, b in zip(ref, key)):
            rel = r
    if rel is None:
        rel = _relation(problem, chunk)
        _RELATIONS.append((key, must, rel))
        del _RELATIONS[:-_CACHE_SIZE]
    return _count(problem, rel, la_rewarded)


def _count(problem: Problem, rel: dict, la_rewarded: bool) -> np.ndarray:
    """Dominators of each program from the probability relation ``rel`` and the LA rule."""
    counts = np.zeros(problem.n, int)
    la = problem.la
    for key, (i, ge, la_strict) in rel.items():
        js = np.asarray(key, int)
        ok = (la[i][None, :] == la[js][:, None]) if la_rewarded else (la[i][None, :] <= la[js][:, None])
        strict = la_strict | (la[i][None, :] < la[js][:, None])
        counts[js] = (ge & ok & strict).sum(axis=1)
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


def _relation(problem: Problem, chunk: int) -> dict:
    """For each chunk of programs ``js``: (possible dominators ``i``, (J, I) bool "i at least
    as good as j in probability, fee_extra, utility and division", (J, I) bool "strictly
    better in one of them or earlier", meaningful where the first holds); the LA rule is
    applied by :func:`_count`."""
    n = problem.n
    fm = problem.fm
    if fm is None:  # one-factor copula: P(success | z) is monotone in the marginal p
        plain = [problem.p[:, None], *(v[:, None] for v in problem.p_signal.values())]
        pref = [problem.p_geo[:, None], *(v[:, None] for v in problem.p_signal_geo.values())] if problem.has_geo else []
    else:  # two-stage model: both stages' log-odds on every card (allocator.model.factors.keys)
        plain = [fm.keys("plain"), *(fm.keys(k) for k in problem.p_signal)]
        pref = [fm.keys("geo"), *(fm.keys(f"{k}_geo") for k in problem.p_signal_geo)] if problem.has_geo else []
    V = _orders(np.hstack(plain + pref))  # every variant's keys, same-division comparison
    Vsum = V.sum(axis=1, dtype=np.int64)
    div = problem.division_array if problem.has_geo else None
    if div is not None:
        # across divisions the dominator may lose the preference while j gains it
        both = _orders(np.vstack([np.hstack(plain), np.hstack(pref)]))
        P0, P1 = both[:n], both[n:]
    chunk = max(8, min(chunk, int(2e7 // max(1, n * V.shape[1]))))
    must = np.zeros(n, bool)
    must[list(problem.must)] = True
    extra, util = problem.extra, problem.utility
    out = {}
    for s in range(len(problem.specialties)):
        members = np.nonzero(problem.spec == s)[0]
        i = members[~must[members]]  # possible dominators
        for start in range(0, len(members), chunk):
            js = members[start:start + chunk]
            ge = _all_ge(V[i], V[js])  # (J, I)
            ge &= (extra[i][None, :] <= extra[js][:, None]) & (util[i][None, :] >= util[js][:, None])
            ge &= i[None, :] != js[:, None]
            if div is not None:
                same = div[i][None, :] == div[js][:, None]
                ge &= same | _all_ge(P0[i], P1[js])
            # strictness (LA aside): better somewhere, or equal everywhere and earlier index.  Only
            # read together with ge (V[i] >= V[j] in every column), where "> in some column" is
            # "a larger sum of the ranks": an (J, I) comparison instead of an (J, I, columns) one
            strict = ((Vsum[i][None, :] > Vsum[js][:, None])
                      | (extra[i][None, :] < extra[js][:, None]) | (util[i][None, :] > util[js][:, None])
                      | (i[None, :] < js[:, None]))
            out[tuple(js.tolist())] = (i, ge, strict)
    return out


def _all_ge(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(len(B), len(A)) bool: row a of ``A`` >= row b of ``B`` in every column.  One (J, I)
    comparison per column, ANDed in place: 5x faster than ``np.all`` over the (J, I, columns)
    block (measured on the typical profile: 4 ms against 23 ms for 737 programs x 31 columns)."""
    out = np.ones((len(B), len(A)), bool)
    tmp = np.empty_like(out)
    for a, b in zip(np.ascontiguousarray(A.T), np.ascontiguousarray(B.T)):
        np.greater_equal(a[None, :], b[:, None], out=tmp)
        out &= tmp
    return out


def _orders(M: np.ndarray) -> np.ndarray:
    """The columns of ``M`` as dense ranks (ties kept), duplicates dropped: ``>=`` and ``>``
    between rows are the same as on ``M``, on far fewer columns (the ensemble's 360 key
    columns order the programs in 31 distinct ways: a signal or a preference shifts a
    card's log-odds by one constant)."""
    MT = np.ascontiguousarray(M.T)  # one row per column of M: the sorts run on contiguous memory
    order = np.argsort(MT, axis=1, kind="stable")
    srt = np.take_along_axis(MT, order, axis=1)
    step = np.zeros(order.shape, np.int64)
    step[:, 1:] = srt[:, 1:] > srt[:, :-1]
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.cumsum(step, axis=1), axis=1)
    # small integers compare faster in _relation's comparisons; duplicate columns are dropped
    # by their bytes (np.unique(axis=1) sorts them: 3x the time)
    cols = ranks.astype(np.int16 if len(M) < 2 ** 15 else np.int32)
    first = {c.tobytes(): k for k, c in reversed(list(enumerate(cols)))}
    return np.ascontiguousarray(cols[sorted(first.values())].T)


def _dominator_counts(problem: Problem, la_rewarded: bool, chunk: int) -> np.ndarray:
    """Dominators of each program, uncached (tests compare it with brute force)."""
    return _count(problem, _relation(problem, chunk), la_rewarded)
