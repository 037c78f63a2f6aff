"""Build the integer program (:class:`~allocator.optim.formulation.Formulation`), one row group at a time.

Building never solves.  The groups: signal and division states (a multiple-choice set per
program), exact ERAS fees per specialty, the named limits (budget, counts, LA share,
specialty limits, must_apply), then the probability terms and the objective of the mode.
"""
from __future__ import annotations

import math

import numpy as np
from allocator.optim.engines.pulp_import import pulp

from allocator.model.copula import log_fail
from allocator.optim.formulation import (COEF_EPS, OBJ_SCALE, TAIL_MASS, ExpTerm, Formulation, State)
from allocator.optim.problem import Problem

MODES = ("p_match", "utility", "min_cost", "la_given_target", "utility_given_target")


class _Rows:
    """Adds named rows to a model, each in its constraint group, except the dropped groups."""

    def __init__(self, f: Formulation, drop: tuple[str, ...]):
        self.f, self.drop = f, drop

    def add(self, group: str, con, name: str) -> None:
        if group in self.drop:
            return
        self.f.model.addConstraint(con, name)
        self.f.groups.setdefault(group, []).append(name)


def _states(problem: Problem, kinds: list[str], geo: bool) -> list[State]:
    out = [State("y", problem.p, False, None, "plain")]
    if geo:
        out.append(State("yg", problem.p_geo, True, None, "geo"))
    for k in kinds:
        out.append(State(f"ys_{k}", problem.p_signal[k], False, k, k))
        if geo:
            out.append(State(f"ysg_{k}", problem.p_signal_geo[k], True, k, f"{k}_geo"))
    return out


def _tail_groups(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Master nodes: every node on its own, except the lightest nodes of each tail (total
    weight up to TAIL_MASS per tail), which are merged into one master node per tail.

    Merging is a relaxation by Jensen's inequality: sum_k w_k exp(L_k) >= W exp(sum_k w_k L_k
    / W) for a group of weight W, so the master's bound stays valid, and for the tail
    nodes (weight below 1e-9 each, exposures nearly equal) the loss is far below the 1e-7
    tolerance.  It removes about a quarter of the dense exposure rows (130 -> 98 nodes at
    rho = 0.35), which is most of what the solver's time goes to."""
    K = len(w)
    groups: list[list[int]] = []
    lo, hi = 0, K - 1
    left: list[int] = []
    mass = 0.0
    while lo < hi and mass + w[lo] <= TAIL_MASS:
        mass += w[lo]
        left.append(lo)
        lo += 1
    right: list[int] = []
    mass = 0.0
    while hi > lo and mass + w[hi] <= TAIL_MASS:
        mass += w[hi]
        right.append(hi)
        hi -= 1
    if len(left) > 1:
        groups.append(left)
    else:
        groups += [[k] for k in left]
    groups += [[k] for k in range(lo, hi + 1)]
    if len(right) > 1:
        groups.append(sorted(right))
    else:
        groups += [[k] for k in right]
    G = np.zeros((len(groups), K))
    for m_, g in enumerate(groups):
        W = float(w[g].sum())
        G[m_, g] = w[g] / W if W > 0 else 1.0 / len(g)
    wm = np.array([float(w[g].sum()) for g in groups])
    return G, wm


def _coefficients(problem: Problem, cand: np.ndarray, mask: np.ndarray, rho: float, states: list) -> tuple:
    """Node weights and, per state block, the (K, len(cand)) coefficients ln(1 - p_state(z_k))."""
    if problem.fm is None and rho != problem.rho:
        nodes = problem.nodes(rho)
        coef = {("x" if len(states) == 1 else st.name): log_fail(st.p[cand], nodes.rho, nodes.z) * mask[None, :]
                for st in states}
        return nodes.w, coef
    # the objective's node mixture: one-factor copula nodes, or (card, node) pairs of the two-stage model
    coef = {("x" if len(states) == 1 else st.name): problem.log_fail_matrix(st.variant, cand) * mask[None, :]
            for st in states}
    return problem.node_weights(), coef


def build(problem: Problem, cand: np.ndarray, mode: str = "p_match", *, target: float | None = None,
          budget: float | None = None, drop: tuple[str, ...] = (), feasibility_only: bool = False) -> Formulation:
    """The integer program over candidates ``cand``.  ``drop`` leaves out constraint groups
    (used to explain infeasibility); ``feasibility_only`` builds no probability terms."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    cand = np.asarray(cand, dtype=int)
    m = pulp.LpProblem("allocator", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x_{i}", cat=pulp.LpBinary) for i in cand]
    f = Formulation(problem, cand, mode, m, x)
    rows = _Rows(f, drop)
    _add_states(f, rows, feasibility_only)
    _add_fees(f, rows)
    _add_limits(f, rows, mode, budget)
    if feasibility_only:
        m += pulp.lpSum([]), "nothing"
        return f
    _add_objective(f, mode, target)
    for name, rhs in f.constraint_terms:
        tt = f.terms[name]
        if "target" not in drop:
            m.addConstraint(pulp.lpSum(OBJ_SCALE * wk * tk for wk, tk in zip(tt.wm, tt.t)) <= OBJ_SCALE * rhs, "target")
            f.groups.setdefault("target", []).append("target")
    return f


def _add_states(f: Formulation, rows: _Rows, feasibility_only: bool) -> None:
    """Signals and geographic preference: one binary per (program, state), a multiple-choice
    formulation: states = plain, preferred division, signal k, signal k + preferred division;
    sum of states = x_i; a preferred state needs its division chosen.  Every state's
    probability is >= the plain one, so an optimum never leaves a benefit unused, and the
    model is exact for the evaluator's semantics."""
    problem, cand, m, x = f.problem, f.cand, f.model, f.x
    spec = problem.spec[cand]
    kinds = list(problem.p_signal) if (problem.has_signals and not feasibility_only) else []
    geo = problem.has_geo and not feasibility_only
    f.states = _states(problem, kinds, geo)
    if len(f.states) == 1:
        f.blocks["x"] = x
    else:
        for st in f.states:
            f.blocks[st.name] = [pulp.LpVariable(f"{st.name}_{i}", cat=pulp.LpBinary) for i in cand]
        for j in range(len(cand)):
            m.addConstraint(pulp.lpSum(f.blocks[st.name][j] for st in f.states) - x[j] == 0, f"state_{j}")
    for s_idx, sname in enumerate(problem.specialties if kinds else []):
        for kind in kinds:
            cap = problem.signals_available.get((sname, kind), 0)
            members = [f.blocks[st.name][j] for st in f.states if st.signal == kind
                       for j in range(len(cand)) if spec[j] == s_idx]
            if members:
                rows.add("signals", pulp.lpSum(members) <= cap, f"sig_cap_{kind}_{s_idx}")
    if geo:
        dcol = problem.division_array[cand]
        f.g = {d: pulp.LpVariable(f"g_{k}", cat=pulp.LpBinary) for k, d in enumerate(sorted(set(dcol)))}
        if "" in f.g:  # no Census division (Puerto Rico, the territories): no preference one can state
            f.g[""].upBound = 0
        rows.add("geographic_preference", pulp.lpSum(f.g.values()) <= problem.max_divisions, "geo_count")
        for j in range(len(cand)):
            pref = [f.blocks[st.name][j] for st in f.states if st.preferred]
            rows.add("geographic_preference", pulp.lpSum(pref) - f.g[dcol[j]] <= 0, f"geo_{j}")


def _add_fees(f: Formulation, rows: _Rows) -> None:
    """Exact ERAS fees per specialty (one variable per tier; a binary for a flat first
    block), the specialty limits, and ``f.cost_expr`` (fees plus fee_extra, USD)."""
    problem, cand, m, x = f.problem, f.cand, f.model, f.x
    spec = problem.spec[cand]
    tiers = problem.schedule.tiers
    fee_terms = []
    for s_idx, sname in enumerate(problem.specialties):
        members = [x[j] for j in range(len(cand)) if spec[j] == s_idx]
        if not members:
            if problem.spec_min.get(sname):
                rows.add("specialty_limits", pulp.lpSum([]) >= problem.spec_min[sname], f"spec_min_{s_idx}")
            continue
        n_s = pulp.lpSum(members)
        e = [pulp.LpVariable(f"fee_{s_idx}_{t_idx}", lowBound=0, upBound=None if math.isinf(t.hi) else t.width)
             for t_idx, t in enumerate(tiers)]
        m.addConstraint(pulp.lpSum(e) - n_s == 0, f"fee_count_{s_idx}")
        cost_s = pulp.lpSum(t.per_program * v for t, v in zip(tiers, e))
        y = None
        if tiers[0].flat:
            y = pulp.LpVariable(f"fee_flat_{s_idx}", cat=pulp.LpBinary)
            # every tier is reached only through the flat first block: n_s > 0 forces y = 1
            for t_idx, (t, v) in enumerate(zip(tiers, e)):
                cap = len(members) if math.isinf(t.hi) else min(t.width, len(members))
                m.addConstraint(v - cap * y <= 0, f"fee_flat_{s_idx}_{t_idx}")
            cost_s = cost_s + tiers[0].flat * y
        fee_terms.append(cost_s)
        f.fee_vars.append((s_idx, e, y))
        lo, hi = problem.spec_min.get(sname), problem.spec_max.get(sname)
        if lo:
            rows.add("specialty_limits", n_s >= lo, f"spec_min_{s_idx}")
        if hi is not None:
            rows.add("specialty_limits", n_s <= hi, f"spec_max_{s_idx}")
    extra = problem.extra[cand]
    f.cost_expr = pulp.lpSum(fee_terms) + pulp.lpSum(float(c) * v for c, v in zip(extra, x) if c)


def cheapest_by_count(problem: Problem, cand: np.ndarray, drop: tuple[str, ...] = ()) -> np.ndarray:
    """``c[n]``: the least any list of n programs from ``cand`` can cost (the ERAS fees of the
    cheapest split over specialties plus the n smallest fee_extra amounts per specialty), for
    n = 0 .. max_applications (inf where no list of n programs exists).  The count and
    specialty limits apply unless their groups are in ``drop``."""
    spec, extra = problem.spec[cand], problem.extra[cand]
    N = int(len(cand) if "max_applications" in drop else min(problem.max_apps, len(cand)))
    spec_max = {} if "specialty_limits" in drop else problem.spec_max
    total = np.full(N + 1, np.inf)
    total[0] = 0.0
    for s_idx, name in enumerate(problem.specialties):
        ex = np.sort(extra[spec == s_idx])
        k_max = int(min(len(ex), N, spec_max.get(name, N)))
        if k_max == 0:
            continue
        c_s = np.array(problem.schedule.fees(k_max), float) + np.concatenate([[0.0], np.cumsum(ex[:k_max])])
        nxt = np.full(N + 1, np.inf)
        for k in range(k_max + 1):  # min-plus convolution
            nxt[k:] = np.minimum(nxt[k:], total[:N + 1 - k] + c_s[k])
        total = nxt
    return total


def _whole_cents(problem: Problem, cand: np.ndarray) -> bool:
    """Every cost a list can have is whole cents: the fee tiers and the candidates' fee_extra."""
    tiers = [v for t in problem.schedule.tiers for v in (t.per_program, t.flat)]
    amounts = np.concatenate([np.asarray(tiers, float), problem.extra[cand]]) * 100
    return bool(np.all(np.abs(amounts - np.round(amounts)) < 1e-6))


def _add_limits(f: Formulation, rows: _Rows, mode: str, budget: float | None) -> None:
    """Budget (none for min_cost unless given), application counts, LA share, must_apply.

    With a budget row comes ``budget_count``: no more programs than the budget buys at the
    cheapest (:func:`cheapest_by_count`).  Every list meets it, so the model is the same,
    but its linear relaxation can no longer buy a fraction of a program with the budget's
    remainder (which left the relaxation of the moderate profile 7e-4 below the optimum)."""
    problem, cand, x = f.problem, f.cand, f.x
    B = problem.budget if budget is None else budget
    total = pulp.lpSum(x)
    if (mode != "min_cost" or budget is not None) and math.isfinite(B):  # an infinite budget is no row
        f.cents = _whole_cents(problem, cand)
        rows.add("budget", f.cost_expr <= f.row_budget(B), "budget")  # the tolerance of every path
        f.count_cost = cheapest_by_count(problem, cand, rows.drop)
        rows.add("budget", total <= f.count_cap(B), "budget_count")
    rows.add("max_applications", total <= problem.max_apps, "max_applications")
    if problem.min_apps > 0:
        rows.add("min_applications", total >= problem.min_apps, "min_applications")
    if problem.la_share_max < 1:
        la = problem.la[cand]
        rows.add("la_share", pulp.lpSum((float(la[j]) - problem.la_share_max) * x[j] for j in range(len(cand))) <= 0,
                 "la_share")
        # whole LA programs: n_la <= floor(share x the most programs a list can hold), the
        # same lists, a tighter relaxation (it used to buy a quarter of an LA program)
        f.la_share = problem.la_share_max
        n_max = f.count_cap(B) if "budget_count" in f.model.constraints else len(cand) if (
            "max_applications" in rows.drop) else problem.max_apps
        rows.add("la_share", pulp.lpSum(x[j] for j in range(len(cand)) if la[j]) <= f.la_cap(n_max), "la_count")
    pos = {int(i): j for j, i in enumerate(cand)}
    for i in problem.must:
        if i not in pos:  # dominance never drops must programs; a missing one is a bug
            raise AssertionError(f"must_apply candidate {i} not in the model")
        rows.add("must_apply", x[pos[i]] >= 1, f"must_{i}")


def _add_term(f: Formulation, name: str, mask: np.ndarray) -> ExpTerm:
    """An exposure term over the programs in ``mask``: l_k = L_k rows and t_k >= exp(l_k).

    The l_k = L_k rows (one dense row per master node, most of the model's nonzeros) are
    kept as arrays (:meth:`Formulation.exposure_rows`): the HiGHS session adds them in one
    call, and :meth:`Formulation.materialize` writes them into the PuLP model only for an
    engine that reads it (CBC).  Building them row by row in PuLP took most of a solve."""
    w, coef = _coefficients(f.problem, f.cand, mask, f.problem.rho, f.states)
    G, wm = _tail_groups(w)
    if G.shape[0] == G.shape[1]:  # nothing merged: G is the identity (the ensemble's nodes all weigh > TAIL_MASS)
        G, mcoef = None, dict(coef)
    else:
        mcoef = {block: G @ M for block, M in coef.items()}  # master rows: weighted means over groups
    lo_bound = sum(M.clip(max=0).sum(axis=1) for M in mcoef.values())
    lvars = [pulp.LpVariable(f"l_{name}_{k}", lowBound=float(min(lo_bound[k], 0.0)) - 1.0, upBound=0)
             for k in range(len(wm))]
    tvars = [pulp.LpVariable(f"t_{name}_{k}", lowBound=0, upBound=1) for k in range(len(wm))]
    f.model._add_variables(lvars)  # columns of the model although no PuLP row names them yet
    tt = ExpTerm(name, w, coef, lvars, tvars, G=G, wm=wm, mcoef=mcoef)
    f.terms[name] = tt
    return tt


def objective_unit(problem: Problem, mode: str) -> float:
    """The size of ``mode``'s objective, which tolerances on it are multiples of: the largest
    utility for expected utility (tiers 1 / 0.8 / 0.6 or 100 / 80 / 60 state the same
    preference, so the solve must stop at the same list and gap relative to them), 1 for a
    probability (and for min_cost's USD)."""
    if mode in ("utility", "utility_given_target") and problem.n:
        top = float(np.max(problem.utility))
        return top if top > 0 else 1.0
    return 1.0


def _add_utility_terms(f: Formulation, everyone_term: str | None) -> None:
    """E[utility] = sum_j (u_j - u_{j-1}) P(some program with utility >= u_j succeeds): one
    exposure term per utility level; a level that every candidate reaches reuses
    ``everyone_term`` (the P(no match) term already in the model) instead of a copy."""
    problem, cand = f.problem, f.cand
    u = problem.utility[cand]
    levels = np.unique(problem.utility[problem.utility > 0])
    prev = 0.0
    for j, lev in enumerate(levels):
        mask = u >= lev
        name = everyone_term if (everyone_term is not None and mask.all()) else f"u{j}"
        if name not in f.terms:
            _add_term(f, name, mask)
        f.objective_terms.append((float(lev - prev), name))
        prev = float(lev)
    f.objective_offset = -float(levels.max()) if len(levels) else 0.0
    f.objective_unit = objective_unit(problem, f.mode)


def _add_objective(f: Formulation, mode: str, target: float | None) -> None:
    """The probability terms of ``mode`` and the objective (scaled by OBJ_SCALE)."""
    problem, cand, m = f.problem, f.cand, f.model
    everyone = np.ones(len(cand), bool)
    if mode == "p_match":
        tm = _add_term(f, "none", everyone)
        if len(tm.wm) == 1:
            f.linear_objective = True
            m.setObjective(pulp.LpAffineExpression([(tm.l[0], 1.0)]))
        else:
            f.objective_terms = [(1.0, "none")]
    elif mode == "utility":
        _add_utility_terms(f, None)
    elif mode == "utility_given_target":  # the safety-first objective's second step
        _add_term(f, "none", everyone)
        _add_utility_terms(f, "none")
        f.constraint_terms = [("none", 1.0 - float(target))]
    elif mode == "min_cost":
        _add_term(f, "none", everyone)
        f.constraint_terms = [("none", 1.0 - float(target))]
        m.setObjective(f.cost_expr)
    else:  # la_given_target
        _add_term(f, "la", problem.la[cand].astype(bool))
        _add_term(f, "none", everyone)
        f.objective_terms = [(1.0, "la")]
        f.constraint_terms = [("none", 1.0 - float(target))]
    if f.objective_terms:
        f.objective_scale = OBJ_SCALE
        m.setObjective(pulp.lpSum(OBJ_SCALE * c * wk * tk for c, name in f.objective_terms
                                  for wk, tk in zip(f.terms[name].wm, f.terms[name].t)))
