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

from allocator.model.copula import log_fail
from allocator.optim.problem import Plan, Problem

# Probability terms enter the objective and the target row multiplied by OBJ_SCALE: CBC's
# dual tolerance (1e-7) is absolute, and on P-scale objectives (node weights down to 1e-12)
# it let CBC call a list 6e-5 short of the optimum "optimal" (benchmarks/sweep_speed.py's
# extras instance at $1,814.29); scaled by 1e3 it found the true optimum.
OBJ_SCALE = 1e3
# Tiny coefficients break presolve: CBC 2.10 and HiGHS 1.16 both declared feasible models
# with tangent rows of slope ~1e-8 infeasible (tests/test_solver.py seed 40).  Rows are
# therefore kept above 1e-7: a tangent with slope e^a < MIN_SLOPE is not added (that node's
# term is below 1e-7 there, so the bound weakens by < 1e-7 x its weight), and exposure
# coefficients |ln(1 - p_i(z_k))| < COEF_EPS (p_i(z_k) < 1e-9) are dropped.
MIN_SLOPE = 1e-7
COEF_EPS = 1e-9  # smaller ln(1-p) coefficients are dropped (CBC preprocessing mishandles them)
TAIL_MASS = 1e-8  # weight of the lightest nodes of each tail merged into one master node (Jensen)
DROPPABLE = ("budget", "max_applications", "min_applications", "la_share", "must_apply",
             "specialty_limits", "target")


@dataclass(frozen=True)
class Cut:
    """One tangent row: OBJ_SCALE * t + l_coef * l >= rhs."""

    name: str
    t: object
    l: object
    l_coef: float
    rhs: float


@dataclass(frozen=True)
class State:
    """How an applied program enters the model: its probability array and what it needs."""

    name: str
    p: np.ndarray
    preferred: bool  # needs the program's division among the preferred ones
    signal: str | None  # signal kind it uses
    variant: str = "plain"  # the problem's probability variant (Problem.log_fail_matrix)


def _states(problem: Problem, kinds: list[str], geo: bool) -> list[State]:
    out = [State("y", problem.p, False, None, "plain")]
    if geo:
        out.append(State("yg", problem.p_geo, True, None, "geo"))
    for k in kinds:
        out.append(State(f"ys_{k}", problem.p_signal[k], False, k, k))
        if geo:
            out.append(State(f"ysg_{k}", problem.p_signal_geo[k], True, k, f"{k}_geo"))
    return out


@dataclass
class ExpTerm:
    """sum_k w_k exp(L_k) with L_k = sum over variable blocks of coef[block][k] . values."""

    name: str
    w: np.ndarray  # (K,)
    coef: dict[str, np.ndarray]  # block name ("x", "s_gold", "gx", "sg_gold") -> (K, len(cand))
    l: list  # l_m variables, one per master node
    t: list  # t_m variables
    G: np.ndarray | None = None  # (M, K): master node m's exposure = G[m] @ L (a weighted mean of nodes)
    wm: np.ndarray | None = None  # (M,): master node weights (G's groups' total weight)
    cuts: int = 0
    cut_points: set = field(default_factory=set)  # (master node, a) of every tangent added

    def master(self, L: np.ndarray) -> np.ndarray:
        """Master-node exposures for full-node exposures ``L``."""
        return L if self.G is None else self.G @ L

    def plain(self) -> np.ndarray:
        """Coefficients of the plain state (no signal, no preference)."""
        return self.coef["x"] if "x" in self.coef else self.coef["y"]

    def exposures(self, values: dict[str, np.ndarray]) -> np.ndarray:
        L = np.zeros(len(self.w))
        for block, M in self.coef.items():
            L = L + M @ values[block]
        return L

    def value(self, L: np.ndarray) -> float:
        return float(np.dot(self.w, np.exp(L)))


@dataclass
class Formulation:
    problem: Problem
    cand: np.ndarray
    mode: str  # "p_match", "utility", "min_cost", "la_given_target"
    model: pulp.LpProblem
    x: list
    blocks: dict[str, list] = field(default_factory=dict)  # "x", "s_<kind>", "gx", "sg_<kind>"
    g: dict[str, object] = field(default_factory=dict)  # division -> binary
    states: list = field(default_factory=list)
    groups: dict[str, list] = field(default_factory=dict)
    terms: dict[str, ExpTerm] = field(default_factory=dict)
    objective_terms: list[tuple[float, str]] = field(default_factory=list)  # (coef, term)
    constraint_terms: list[tuple[str, float]] = field(default_factory=list)  # (term, rhs)
    linear_objective: bool = False  # p_match with one node: min l_0 exactly
    cost_expr: object = None
    objective_offset: float = 0.0
    objective_scale: float = 1.0  # the model's objective is this times the probability-scale value
    session: object = None  # the engine's persistent model (solver.HighsSession), built on first solve
    cuts: list = field(default_factory=list)  # tangent rows (Cut), in the order added
    n_materialized: int = 0  # how many of them are in the PuLP model (materialize())
    fee_vars: list = field(default_factory=list)  # (specialty index, tier variables, flat-block binary or None)
    start_values: dict | None = None  # variable -> value of the MIP start (set_start)

    def set_budget(self, budget: float) -> None:
        """Change the budget row's right-hand side (the model must have been built with one)."""
        row = self.model.constraints["budget"]
        row.constant = -float(budget)  # PuLP keeps `cost <= B` as `cost - B <= 0`

    # ------------------------------------------------------------------ reading
    def values(self) -> dict[str, np.ndarray]:
        """Current solution, per variable block (binaries rounded)."""
        return {name: np.array([round(v.varValue or 0.0) for v in vs], float) for name, vs in self.blocks.items()}

    def plan(self) -> Plan:
        vals = self.values()
        x = np.array([round(v.varValue or 0.0) for v in self.x], float)
        idx = self.cand[x > 0.5]
        signals = {int(self.cand[j]): st.signal for st in self.states if st.signal and st.name in vals
                   for j in np.nonzero(vals[st.name] > 0.5)[0]}
        divs = tuple(d for d, var in self.g.items() if (var.varValue or 0) > 0.5)
        return Plan.of(idx, signals, divs)

    def set_start(self, plan: Plan) -> None:
        """Give CBC a starting list (MIP start)."""
        on = set(plan.idx)
        for i, v in zip(self.cand, self.x):
            v.setInitialValue(1 if int(i) in on else 0)
        if len(self.states) > 1:
            sig = dict(plan.signals)
            div = self.problem.division_array
            for st in self.states:
                for i, v in zip(self.cand, self.blocks[st.name]):
                    i = int(i)
                    want = (i in on and sig.get(i) == st.signal
                            and (div[i] in plan.divisions) == st.preferred)
                    v.setInitialValue(1 if want else 0)
        for d, var in self.g.items():
            var.setInitialValue(1 if d in plan.divisions else 0)
        self.start_values = self._completed(plan)

    def _completed(self, plan: Plan) -> dict:
        """Every variable's value at ``plan`` (binaries from set_start; fee tiers filled
        cheapest first; exposures l and t = exp(l)), so HiGHS can take it as an incumbent."""
        vals = {v: float(v.varValue or 0.0) for v in self.x}
        for vs in self.blocks.values():
            vals.update({v: float(v.varValue or 0.0) for v in vs})
        vals.update({v: float(v.varValue or 0.0) for v in self.g.values()})
        spec = self.problem.spec[self.cand]
        xv = np.array([vals[v] for v in self.x])
        for s_idx, e, y in self.fee_vars:
            left = float(xv[spec == s_idx].sum())
            for t, v in zip(self.problem.schedule.tiers, e):
                take = left if math.isinf(t.hi) else min(left, float(t.width))
                vals[v] = take
                left -= take
            if y is not None:
                vals[y] = 1.0 if xv[spec == s_idx].sum() > 0 else 0.0
        block_vals = {name: np.array([vals[v] for v in vs]) for name, vs in self.blocks.items()}
        for tm in self.terms.values():
            L = tm.master(tm.exposures(block_vals))
            for k, (lv, tv) in enumerate(zip(tm.l, tm.t)):
                lk = max(float(L[k]), float(lv.lowBound)) if lv.lowBound is not None else float(L[k])
                vals[lv] = min(lk, 0.0)
                vals[tv] = min(1.0, math.exp(vals[lv]))
        return vals

    def add_cuts(self, term: ExpTerm, L: np.ndarray, only_violated: bool = True, min_slope: float = MIN_SLOPE) -> int:
        if self.linear_objective:  # the objective is l_0 itself; t is not in the model
            return 0
        added = 0
        tv = np.array([t.varValue if t.varValue is not None else -np.inf for t in term.t])
        for k, a in enumerate(term.master(L)):
            a = float(max(a, -60.0))
            ea = math.exp(a)
            if ea < min_slope:
                continue
            key = (k, round(a, 9))
            if key in term.cut_points:  # an identical row confuses presolve (HiGHS called a model infeasible)
                continue
            if only_violated and tv[k] >= ea * (1 - 1e-12) - 1e-15:
                continue
            term.cuts += 1
            term.cut_points.add(key)
            # OBJ_SCALE * (t_k - e^a l_k) >= OBJ_SCALE * e^a (1 - a): scaled, because the
            # solvers' row tolerance (1e-7) would otherwise let t_k sit that far below the
            # tangent and loosen the bound by as much
            self.cuts.append(Cut(f"cut_{term.name}_{k}_{term.cuts}", term.t[k], term.l[k],
                                 -OBJ_SCALE * ea, OBJ_SCALE * ea * (1 - a)))
            added += 1
        return added

    def materialize(self) -> None:
        """Add the tangent rows not yet in the PuLP model (CBC reads the PuLP model; the
        HiGHS session takes rows straight from ``cuts``, which is much faster)."""
        for c in self.cuts[self.n_materialized:]:
            row = pulp.LpConstraint(pulp.LpAffineExpression([(c.t, OBJ_SCALE), (c.l, c.l_coef)]),
                                    pulp.LpConstraintGE, c.name, c.rhs)
            self.model.addConstraint(row, c.name)
        self.n_materialized = len(self.cuts)

    def clear_cuts(self) -> None:
        """Remove every tangent row (a budget sweep re-seeds each point instead of carrying
        thousands of rows; every other row stays)."""
        if self.session is not None:
            if self.n_materialized:  # rows the session took from the PuLP model: rebuild it
                self.session = None
            else:
                self.session.clear_cuts()
        rows = self.model.constraints
        for c in self.cuts[:self.n_materialized]:
            del rows[c.name]
        self.cuts, self.n_materialized = [], 0
        for term in self.terms.values():
            term.cut_points = set()

    def restrict(self, keep: np.ndarray) -> None:
        """Allow only candidates with ``keep`` true (the others' x is fixed at 0)."""
        for v, k in zip(self.x, keep):
            v.upBound = 1 if k else 0

    def add_tangents(self, term: ExpTerm, L: np.ndarray, min_slope: float = MIN_SLOPE) -> None:
        self.add_cuts(term, L, only_violated=False, min_slope=min_slope)


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
    # ---- signals and geographic preference: one binary per (program, state), a
    # multiple-choice formulation: states = plain, preferred division, signal k, signal k +
    # preferred division; sum of states = x_i; a preferred state needs its division chosen.
    # Every state's probability is >= the plain one, so an optimum never leaves a benefit
    # unused, and the model is exact for the evaluator's semantics.
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
    if kinds:
        for s_idx, sname in enumerate(problem.specialties):
            for kind in kinds:
                cap = problem.signals_available.get((sname, kind), 0)
                members = [f.blocks[st.name][j] for st in f.states if st.signal == kind
                           for j in range(len(cand)) if spec[j] == s_idx]
                if members:
                    add("signals", pulp.lpSum(members) <= cap, f"sig_cap_{kind}_{s_idx}")
    if geo:
        dcol = problem.division_array[cand]
        f.g = {d: pulp.LpVariable(f"g_{k}", cat=pulp.LpBinary) for k, d in enumerate(sorted(set(dcol)))}
        add("geographic_preference", pulp.lpSum(f.g.values()) <= problem.max_divisions, "geo_count")
        for j in range(len(cand)):
            pref = [f.blocks[st.name][j] for st in f.states if st.preferred]
            add("geographic_preference", pulp.lpSum(pref) - f.g[dcol[j]] <= 0, f"geo_{j}")

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
        f.fee_vars.append((s_idx, e, y if tiers[0].flat else None))
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
    if (mode != "min_cost" or budget is not None) and math.isfinite(B):  # an infinite budget is no row
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
        w, coef = _coefficients(problem, cand, mask, rho, f.states)
        G, wm = _tail_groups(w)
        mcoef = {block: G @ M for block, M in coef.items()}  # master rows: weighted means over groups
        M_ = len(wm)
        lo_bound = sum(M.clip(max=0).sum(axis=1) for M in mcoef.values())
        lvars = [pulp.LpVariable(f"l_{name}_{k}", lowBound=float(min(lo_bound[k], 0.0)) - 1.0, upBound=0)
                 for k in range(M_)]
        tvars = [pulp.LpVariable(f"t_{name}_{k}", lowBound=0, upBound=1) for k in range(M_)]
        for k in range(M_):
            items = []
            for block, M in mcoef.items():
                items += [(v, float(c)) for v, c in zip(f.blocks[block], M[k]) if abs(c) > COEF_EPS]
            items.append((lvars[k], -1.0))
            m.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(items), pulp.LpConstraintEQ,
                                              f"def_l_{name}_{k}", 0))
        tt = ExpTerm(name, w, coef, lvars, tvars, G=G, wm=wm)
        f.terms[name] = tt
        return tt

    if mode == "p_match":
        tm = term("none", everyone)
        if len(tm.wm) == 1:
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
        f.objective_scale = OBJ_SCALE
        m.setObjective(pulp.lpSum(OBJ_SCALE * c * wk * tk for c, name in f.objective_terms
                                  for wk, tk in zip(f.terms[name].wm, f.terms[name].t)))
    for name, rhs in f.constraint_terms:
        tt = f.terms[name]
        if "target" not in drop:
            m.addConstraint(pulp.lpSum(OBJ_SCALE * wk * tk for wk, tk in zip(tt.wm, tt.t)) <= OBJ_SCALE * rhs, "target")
            groups.setdefault("target", []).append("target")
    return f
