"""Heuristic list builders: the baselines the optimizer is measured against.

Every builder returns a :class:`~allocator.problem.Plan` that respects the problem's
budget, count limits, LA cap and must/never lists (each is re-checked by
:mod:`allocator.feasibility` in the tests); all are scored by the one evaluator.
"""
from __future__ import annotations

import numpy as np

from .correlation import log_fail
from .problem import Plan, Problem


def _marginal_fee(problem: Problem, counts: dict[int, int], i: int) -> float:
    s = int(problem.spec[i])
    n = counts.get(s, 0)
    return problem.schedule.fee(n + 1) - problem.schedule.fee(n) + float(problem.extra[i])


def greedy(problem: Problem, *, per_dollar: bool = True, candidates: np.ndarray | None = None) -> Plan:
    """Greedy by marginal value per dollar: repeatedly add the program whose addition raises
    P(>=1) (under the problem's correlation) the most per extra USD, while the list stays
    within budget, the count cap and the LA cap.  Starts from the must_apply programs.

    With ``per_dollar=False`` it adds the largest marginal gain regardless of cost."""
    nodes = problem.nodes()
    cand = np.arange(problem.n) if candidates is None else np.asarray(candidates, int)
    L = log_fail(problem.p[cand], nodes.rho, nodes.z)  # (K, m)
    F = np.exp(L)  # P(fail | z) per program
    prod = np.ones(len(nodes.w))
    chosen: list[int] = []
    counts: dict[int, int] = {}
    cost = 0.0
    n_la = 0
    avail = np.ones(len(cand), bool)
    pos = {int(i): j for j, i in enumerate(cand)}

    def take(j: int):
        nonlocal prod, cost, n_la
        i = int(cand[j])
        cost += _marginal_fee(problem, counts, i)
        counts[int(problem.spec[i])] = counts.get(int(problem.spec[i]), 0) + 1
        n_la += int(problem.la[i])
        prod = prod * F[:, j]
        chosen.append(i)
        avail[j] = False

    for i in problem.must:
        if i in pos:
            take(pos[i])
    while len(chosen) < problem.max_apps:
        base = float(np.dot(nodes.w, prod))
        gain = base - (nodes.w * prod) @ F  # P(none) falls by this much
        idx = np.nonzero(avail)[0]
        if not len(idx):
            break
        mfee = np.array([_marginal_fee(problem, counts, int(cand[j])) for j in idx])
        ok = cost + mfee <= problem.budget + 1e-9
        n = len(chosen) + 1
        la_next = n_la + problem.la[cand[idx]].astype(int)
        ok &= la_next <= problem.la_share_max * n + 1e-9
        for sname, hi in problem.spec_max.items():
            s = problem.specialties.index(sname) if sname in problem.specialties else -1
            ok &= ~((problem.spec[cand[idx]] == s) & (counts.get(s, 0) >= hi))
        if not ok.any():
            # a non-LA program may be needed before another LA one fits; nothing else helps
            break
        g = gain[idx]
        score = g / np.maximum(mfee, 1e-9) if per_dollar else g
        score = np.where(ok, score, -np.inf)
        if problem.objective == "p_match" and np.max(g[ok]) <= 1e-15 and len(chosen) >= problem.min_apps:
            break
        take(int(idx[int(np.argmax(score))]))
    return Plan.of(chosen)
