"""The optimizer's own start lists: greedy by marginal value per dollar, and a local search.

Both give the integer program a good first incumbent and tangent rows near the optimum;
neither is ever the answer on its own (the outer approximation proves optimality).
"""
from __future__ import annotations

import numpy as np

from allocator.optim.fill import Fill
from allocator.optim.problem import Plan, Problem

# objectives whose lists are started on P(match): safety_first's sweeps and first step maximize it
MAX_P = ("p_match", "safety_first")


def _greedy_order(problem: Problem, *, per_dollar: bool = True, candidates: np.ndarray | None = None) -> list[int]:
    w = problem.node_weights()
    cand = np.arange(problem.n) if candidates is None else np.asarray(candidates, int)
    F = np.exp(problem.log_fail_matrix("plain", cand))  # (K, m): P(fail | node) per program
    prod = np.ones(len(w))
    fill = Fill(problem)
    for i in problem.must:
        hit = np.nonzero(cand == i)[0]
        if len(hit):
            prod = prod * F[:, hit[0]]
    avail = ~fill.taken[cand]
    while len(fill) < problem.max_apps:
        j_av = np.nonzero(avail)[0]
        if not len(j_av):
            break
        ok = fill.fits(cand[j_av])
        if not ok.any():
            # a non-LA program may be needed before another LA one fits; nothing else helps
            break
        base = float(np.dot(w, prod))
        g = base - (w * prod) @ F[:, j_av]  # P(none) falls by this much
        if problem.objective in MAX_P and np.max(g[ok]) <= 1e-15 and len(fill) >= problem.min_apps:
            break
        score = g / np.maximum(fill.marginal_fees(cand[j_av]), 1e-9) if per_dollar else g
        score = np.where(ok, score, -np.inf)
        j = int(j_av[int(np.argmax(score))])
        fill.add(int(cand[j]))
        prod = prod * F[:, j]
        avail[j] = False
    return fill.chosen


def greedy(problem: Problem, *, per_dollar: bool = True, candidates: np.ndarray | None = None, rng=None) -> Plan:
    """Greedy by marginal value per dollar: repeatedly add the program whose addition raises
    P(>=1) (under the problem's correlation) the most per extra USD, while the list stays
    within budget, the count cap, the specialty caps and the LA cap.  Starts from the
    must_apply programs.  With ``per_dollar=False`` it adds the largest gain regardless of
    cost.  (Used by the optimizer as its starting list; no signals here.)"""
    return Plan.of(_greedy_order(problem, per_dollar=per_dollar, candidates=candidates))


def local_search(problem: Problem, plan: Plan, candidates: np.ndarray | None = None, *,
                 max_moves: int = 500) -> Plan:
    """Best-improvement local search from ``plan`` on P(match): add one program, drop one,
    or swap one for another of the same specialty, whichever lowers P(no match) most while
    every limit still holds (budget with exact fees, counts, specialty limits, LA share;
    must_apply programs stay).  Plain lists only (no signals or divisions: the plan is
    returned unchanged otherwise).  Used to give the integer program a near-optimal first
    list and tangent rows close to the optimum; the result is never worse than ``plan``."""
    if problem.has_signals or problem.has_geo or problem.objective not in MAX_P:
        return plan
    cand = np.arange(problem.n) if candidates is None else np.asarray(candidates, int)
    on = np.isin(cand, np.asarray(plan.idx, int))
    if on.sum() != len(plan.idx):  # the plan uses a program outside the candidates
        return plan
    w = problem.node_weights()
    A = problem.log_fail_matrix("plain", cand)  # (K, m)
    F = np.exp(A)
    spec, la, extra = problem.spec[cand], problem.la[cand].astype(float), problem.extra[cand]
    must = np.isin(cand, np.asarray(problem.must, int))
    sched = problem.schedule
    S = len(problem.specialties)
    lo = np.array([problem.spec_min.get(s, 0) for s in problem.specialties])
    hi = np.array([problem.spec_max.get(s, problem.max_apps) for s in problem.specialties])
    fee = np.array(sched.fees(problem.max_apps + 1))  # one schedule; tiers restart per specialty
    share = problem.la_share_max
    tol = 1e-9
    for _ in range(max_moves):
        L = A[:, on].sum(axis=1)
        now = float(w @ np.exp(L))
        counts = np.bincount(spec[on], minlength=S)
        n, n_la = int(on.sum()), float(la[on].sum())
        cost = float(fee[counts].sum() + extra[on].sum())
        slack = problem.budget - cost
        ins, outs = np.nonzero(on)[0], np.nonzero(~on)[0]
        best, move = now - 1e-13, None
        if len(outs) and n + 1 <= problem.max_apps:  # add
            d_fee = fee[counts[spec[outs]] + 1] - fee[counts[spec[outs]]]
            ok = (d_fee + extra[outs] <= slack + tol) & (counts[spec[outs]] + 1 <= hi[spec[outs]])
            ok &= n_la + la[outs] <= share * (n + 1) + tol
            if ok.any():
                val = (w * np.exp(L)) @ F[:, outs]
                val = np.where(ok, val, np.inf)
                j = int(np.argmin(val))
                if val[j] < best:
                    best, move = float(val[j]), ("add", outs[j], None)
        if len(ins):
            G = w[:, None] * np.exp(L[:, None] - A[:, ins])  # (K, n_in): P(none) terms without j
            okd = ~must[ins] & (counts[spec[ins]] - 1 >= lo[spec[ins]])
            if n - 1 >= problem.min_apps:  # drop
                ok = okd & (n_la - la[ins] <= share * (n - 1) + tol)
                val = np.where(ok, G.sum(axis=0), np.inf)
                j = int(np.argmin(val))
                if val[j] < best:
                    best, move = float(val[j]), ("drop", None, ins[j])
            if len(outs):  # swap within a specialty
                V = G.T @ F[:, outs]  # (n_in, n_out)
                ok = okd[:, None] & (spec[ins][:, None] == spec[outs][None, :])
                ok &= extra[outs][None, :] - extra[ins][:, None] <= slack + tol
                ok &= n_la - la[ins][:, None] + la[outs][None, :] <= share * n + tol
                if ok.any():
                    V = np.where(ok, V, np.inf)
                    a, b = np.unravel_index(int(np.argmin(V)), V.shape)
                    if V[a, b] < best:
                        best, move = float(V[a, b]), ("swap", outs[b], ins[a])
        if move is None:
            break
        _, add, drop = move
        if add is not None:
            on[add] = True
        if drop is not None:
            on[drop] = False
    return Plan.of(cand[on])
