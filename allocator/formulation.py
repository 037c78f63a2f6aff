"""Build the integer program (PuLP).  Building never solves.

Decision variables over the candidate programs ``cand`` (indices into the problem):
``x_i`` apply (binary); ``s_i^kind`` signal (binary, <= x_i); ``g_d`` division chosen and
``gx_i`` = x_i AND g_d(i) (geographic preference).  ERAS fees per specialty are exact: one
continuous variable per fee tier (rates non-decreasing, so the cheapest fill is the true
fee) and one binary for a flat first block.

Probabilities enter through *exposure terms*: for node k of the latent-factor quadrature
``L_k = sum_i x_i ln(1 - p_i(z_k)) + signal and division corrections`` and
``P(no success) = sum_k w_k exp(L_k)``.  Each term owns variables ``l_k = L_k`` (one
equality row per node) and ``t_k >= exp(l_k)``, enforced by tangent cuts
``t_k >= e^a (1 + l_k - a)`` that the solver adds (Kelley outer approximation).

Constraint groups are named (``budget``, ``max_applications``, ``min_applications``,
``la_share``, ``must_apply``, ``specialty_limits``, ``signals``,
``geographic_preference``, ``target``) so an infeasible model can be explained by the
groups that conflict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pulp

from .correlation import log_fail
from .problem import Plan, Problem

COEF_EPS = 1e-12  # smaller ln(1-p) coefficients are dropped (CBC preprocessing mishandles them)
DROPPABLE = ("budget", "max_applications", "min_applications", "la_share", "must_apply",
             "specialty_limits", "target")


@dataclass
class ExpTerm:
    """sum_k w_k exp(L_k(x)) over the programs in ``members`` (a bool mask over cand)."""

    name: str
    w: np.ndarray  # (K,)
    A: np.ndarray  # (K, len(cand)) coefficients of x
    S: dict[str, np.ndarray]  # kind -> (K, len(cand)) extra coefficient of s^kind
    G: np.ndarray | None  # (K, len(cand)) extra coefficient of gx
    l: list  # l_k variables
    t: list  # t_k variables
    cuts: int = 0

    def exposures(self, xv: np.ndarray, sv: dict[str, np.ndarray], gv: np.ndarray | None) -> np.ndarray:
        L = self.A @ xv
        for kind, M in self.S.items():
            L = L + M @ sv[kind]
        if self.G is not None and gv is not None:
            L = L + self.G @ gv
        return L

    def value(self, L: np.ndarray) -> float:
        return float(np.dot(self.w, np.exp(L)))

    def approx(self) -> float:
        return float(sum(wk * (tk.varValue or 0.0) for wk, tk in zip(self.w, self.t)))


@dataclass
class Formulation:
    problem: Problem
    cand: np.ndarray
    mode: str  # "p_match", "utility", "min_cost", "la_given_target"
    model: pulp.LpProblem
    x: list
    s: dict[str, list] = field(default_factory=dict)
    g: dict[str, object] = field(default_factory=dict)
    gx: list | None = None
    groups: dict[str, list] = field(default_factory=dict)
    terms: dict[str, ExpTerm] = field(default_factory=dict)
    objective_terms: list[tuple[float, str]] = field(default_factory=list)  # (coef, term)
    constraint_terms: list[tuple[str, float]] = field(default_factory=list)  # (term, rhs)
    linear_objective: bool = False  # p_match with one node: min l_0 exactly
    cost_expr: object = None
    objective_offset: float = 0.0

    # ------------------------------------------------------------------ reading
    def values(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
        xv = np.array([round(v.varValue or 0.0) for v in self.x], float)
        sv = {k: np.array([round(v.varValue or 0.0) for v in vs], float) for k, vs in self.s.items()}
        gv = np.array([round(v.varValue or 0.0) for v in self.gx], float) if self.gx is not None else None
        return xv, sv, gv

    def plan(self) -> Plan:
        xv, sv, _ = self.values()
        idx = self.cand[xv > 0.5]
        signals = {int(self.cand[j]): kind for kind, v in sv.items() for j in np.nonzero(v > 0.5)[0]}
        divs = tuple(d for d, var in self.g.items() if (var.varValue or 0) > 0.5)
        return Plan.of(idx, signals, divs)

    def set_start(self, plan: Plan) -> None:
        """Give CBC a starting list (MIP start)."""
        on = set(plan.idx)
        for i, v in zip(self.cand, self.x):
            v.setInitialValue(1 if int(i) in on else 0)
        sig = dict(plan.signals)
        for kind, vs in self.s.items():
            for i, v in zip(self.cand, vs):
                v.setInitialValue(1 if sig.get(int(i)) == kind else 0)
        for d, var in self.g.items():
            var.setInitialValue(1 if d in plan.divisions else 0)

    def add_cuts(self, term: ExpTerm, L: np.ndarray, only_violated: bool = True) -> int:
        added = 0
        tv = np.array([t.varValue if t.varValue is not None else -np.inf for t in term.t])
        for k, a in enumerate(L):
            a = float(max(a, -60.0))
            ea = math.exp(a)
            if only_violated and tv[k] >= ea * (1 - 1e-12) - 1e-15:
                continue
            term.cuts += 1
            self.model += (term.t[k] - ea * term.l[k] >= ea * (1 - a), f"cut_{term.name}_{k}_{term.cuts}")
            added += 1
        return added

    def add_tangents(self, term: ExpTerm, L: np.ndarray) -> None:
        self.add_cuts(term, L, only_violated=False)


def _coefficients(problem: Problem, cand: np.ndarray, mask: np.ndarray, rho: float):
    nodes = problem.nodes(rho)
    A = log_fail(problem.p[cand], nodes.rho, nodes.z) * mask[None, :]
    S = {}
    for kind, ps in problem.p_signal.items():
        if problem.has_signals:
            S[kind] = (log_fail(np.maximum(ps[cand], problem.p[cand]), nodes.rho, nodes.z) - A) * mask[None, :]
    G = None
    if problem.has_geo:
        G = (log_fail(np.maximum(problem.p_geo[cand], problem.p[cand]), nodes.rho, nodes.z) - A) * mask[None, :]
    return nodes.w, A, S, G


def build(problem: Problem, cand: np.ndarray, mode: str = "p_match", *, target: float | None = None,
          budget: float | None = None, drop: tuple[str, ...] = (), feasibility_only: bool = False) -> Formulation:
    """The integer program over candidates ``cand``.  ``drop`` leaves out constraint groups
    (used to explain infeasibility); ``feasibility_only`` builds no probability terms."""
    cand = np.asarray(cand, dtype=int)
    m = pulp.LpProblem("allocator", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x_{i}", cat=pulp.LpBinary) for i in cand]
    f = Formulation(problem, cand, mode, m, x)
    groups = f.groups

    def add(group: str, con, name: str):
        if group in drop:
            return
        m.addConstraint(con, name)
        groups.setdefault(group, []).append(name)

    spec = problem.spec[cand]
    # ---- signals and geographic preference
    if problem.has_signals and not feasibility_only:
        for kind in problem.p_signal:
            f.s[kind] = [pulp.LpVariable(f"s_{kind}_{i}", cat=pulp.LpBinary) for i in cand]
        for j in range(len(cand)):
            add("signals", pulp.lpSum(f.s[k][j] for k in f.s) - x[j] <= 0, f"sig_one_{j}")
        for s_idx, sname in enumerate(problem.specialties):
            for kind in f.s:
                cap = problem.signals_available.get((sname, kind), 0)
                members = [f.s[kind][j] for j in range(len(cand)) if spec[j] == s_idx]
                if members:
                    add("signals", pulp.lpSum(members) <= cap, f"sig_cap_{kind}_{s_idx}")
    if problem.has_geo and not feasibility_only:
        divs = sorted(set(problem.programs["division"].astype(str).to_numpy()[cand]))
        f.g = {d: pulp.LpVariable(f"g_{k}", cat=pulp.LpBinary) for k, d in enumerate(divs)}
        f.gx = [pulp.LpVariable(f"gx_{i}", lowBound=0, upBound=1) for i in cand]
        add("geographic_preference", pulp.lpSum(f.g.values()) <= problem.max_divisions, "geo_count")
        dcol = problem.programs["division"].astype(str).to_numpy()[cand]
        for j in range(len(cand)):
            add("geographic_preference", f.gx[j] - f.g[dcol[j]] <= 0, f"geo_div_{j}")
            bonus = [f.gx[j]] + [f.s[k][j] for k in f.s]
            add("geographic_preference", pulp.lpSum(bonus) - x[j] <= 0, f"geo_on_{j}")

    # ---- fees: exact per specialty
    fee_terms = []
    for s_idx, sname in enumerate(problem.specialties):
        members = [x[j] for j in range(len(cand)) if spec[j] == s_idx]
        if not members:
            continue
        n_s = pulp.lpSum(members)
        tiers = problem.schedule.tiers
        e = []
        for t_idx, t in enumerate(tiers):
            ub = None if math.isinf(t.hi) else t.width
            e.append(pulp.LpVariable(f"fee_{s_idx}_{t_idx}", lowBound=0, upBound=ub))
        m.addConstraint(pulp.lpSum(e) - n_s == 0, f"fee_count_{s_idx}")
        cost_s = pulp.lpSum(t.per_program * v for t, v in zip(tiers, e))
        if tiers[0].flat:
            y = pulp.LpVariable(f"fee_flat_{s_idx}", cat=pulp.LpBinary)
            # every tier is reached only through the flat first block: n_s > 0 forces y = 1
            for t_idx, (t, v) in enumerate(zip(tiers, e)):
                cap = len(members) if math.isinf(t.hi) else min(t.width, len(members))
                m.addConstraint(v - cap * y <= 0, f"fee_flat_{s_idx}_{t_idx}")
            cost_s = cost_s + tiers[0].flat * y
        fee_terms.append(cost_s)
        lo = problem.spec_min.get(sname)
        hi = problem.spec_max.get(sname)
        if lo:
            add("specialty_limits", n_s >= lo, f"spec_min_{s_idx}")
        if hi is not None:
            add("specialty_limits", n_s <= hi, f"spec_max_{s_idx}")
    for s_idx, sname in enumerate(problem.specialties):
        if problem.spec_min.get(sname) and not np.any(spec == s_idx):
            add("specialty_limits", pulp.lpSum([]) >= problem.spec_min[sname], f"spec_min_{s_idx}")
    extra = problem.extra[cand]
    f.cost_expr = pulp.lpSum(fee_terms) + pulp.lpSum(float(c) * v for c, v in zip(extra, x) if c)
    B = problem.budget if budget is None else budget
    if mode != "min_cost" or budget is not None:
        add("budget", f.cost_expr <= B, "budget")
    total = pulp.lpSum(x)
    add("max_applications", total <= problem.max_apps, "max_applications")
    if problem.min_apps > 0:
        add("min_applications", total >= problem.min_apps, "min_applications")
    if problem.la_share_max < 1:
        la = problem.la[cand]
        add("la_share", pulp.lpSum((float(la[j]) - problem.la_share_max) * x[j] for j in range(len(cand))) <= 0,
            "la_share")
    pos = {int(i): j for j, i in enumerate(cand)}
    for i in problem.must:
        if i in pos:
            add("must_apply", x[pos[i]] >= 1, f"must_{i}")
        else:  # dominance never drops must programs; a missing one is a bug
            raise AssertionError(f"must_apply candidate {i} not in the model")

    if feasibility_only:
        m += pulp.lpSum([]) , "nothing"
        return f

    # ---- probability terms
    rho = problem.rho
    everyone = np.ones(len(cand), bool)

    def term(name: str, mask: np.ndarray) -> ExpTerm:
        w, A, S, G = _coefficients(problem, cand, mask, rho)
        K = len(w)
        lo_bound = A.sum(axis=1) + sum((M.clip(max=0)).sum(axis=1) for M in S.values()) \
            + (G.clip(max=0).sum(axis=1) if G is not None else 0)
        lvars = [pulp.LpVariable(f"l_{name}_{k}", lowBound=float(min(lo_bound[k], 0.0)) - 1.0, upBound=0)
                 for k in range(K)]
        tvars = [pulp.LpVariable(f"t_{name}_{k}", lowBound=0, upBound=1) for k in range(K)]
        for k in range(K):
            items = [(v, float(c)) for v, c in zip(x, A[k]) if abs(c) > COEF_EPS]
            for kind, M in S.items():
                items += [(v, float(c)) for v, c in zip(f.s[kind], M[k]) if abs(c) > COEF_EPS]
            if G is not None:
                items += [(v, float(c)) for v, c in zip(f.gx, G[k]) if abs(c) > COEF_EPS]
            items.append((lvars[k], -1.0))
            m.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(items), pulp.LpConstraintEQ, f"def_l_{name}_{k}", 0))
        tt = ExpTerm(name, w, A, S, G, lvars, tvars)
        f.terms[name] = tt
        return tt

    if mode == "p_match":
        tm = term("none", everyone)
        if len(tm.w) == 1:
            f.linear_objective = True
            m.setObjective(pulp.LpAffineExpression([(tm.l[0], 1.0)]))
        else:
            f.objective_terms = [(1.0, "none")]
    elif mode == "utility":
        u = problem.utility[cand]
        levels = np.unique(problem.utility[problem.utility > 0])
        prev = 0.0
        for j, lev in enumerate(levels):
            term(f"u{j}", u >= lev)
            f.objective_terms.append((float(lev - prev), f"u{j}"))
            prev = float(lev)
        f.objective_offset = -float(levels.max()) if len(levels) else 0.0
    elif mode == "min_cost":
        term("none", everyone)
        f.constraint_terms = [("none", 1.0 - float(target))]
        m.setObjective(f.cost_expr)
    elif mode == "la_given_target":
        term("la", problem.la[cand].astype(bool))
        term("none", everyone)
        f.objective_terms = [(1.0, "la")]
        f.constraint_terms = [("none", 1.0 - float(target))]
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if f.objective_terms:
        m.setObjective(pulp.lpSum(c * wk * tk for c, name in f.objective_terms
                                  for wk, tk in zip(f.terms[name].w, f.terms[name].t)))
    for name, rhs in f.constraint_terms:
        tt = f.terms[name]
        if "target" not in drop:
            m.addConstraint(pulp.lpSum(wk * tk for wk, tk in zip(tt.w, tt.t)) <= rhs, "target")
            groups.setdefault("target", []).append("target")
    return f
