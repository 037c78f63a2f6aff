"""The integer program as an object (PuLP model, variable blocks, exposure terms, tangent cuts).

Built by :func:`allocator.optim.builder.build`; building never solves.

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
from allocator.model.copula import LOG_FLOOR
from allocator.optim.engines.pulp_import import pulp

from allocator.optim.problem import Plan, Problem
from allocator.inputs.fees import BUDGET_TOL

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
    mcoef: dict[str, np.ndarray] | None = None  # block -> (M, len(cand)): the l_m = G[m] @ L rows

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


@dataclass(eq=False)  # compared and hashed by identity: an engine keys its persistent model on it
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
    # the objective's own size, which the solve's tolerances (outer.TOL, a settle gap, SETTLE_RISE)
    # are multiples of: the largest utility for E[U] (the user's units are arbitrary), else 1
    objective_unit: float = 1.0
    cut_epoch: int = 0  # bumped by clear_cuts, so an engine's persistent model drops its tangent rows
    cuts: list = field(default_factory=list)  # tangent rows (Cut), in the order added
    n_materialized: int = 0  # how many of them are in the PuLP model (materialize())
    fee_vars: list = field(default_factory=list)  # (specialty index, tier variables, flat-block binary or None)
    start_plan: Plan | None = None  # the MIP start (set_start); start_values gives every variable's value
    _start_values: dict | None = field(default=None, repr=False)  # start_values, computed on first use
    count_cost: np.ndarray | None = None  # least cost of n programs (builder.cheapest_by_count)
    la_share: float = 1.0  # the LA share cap (la_count row)
    exposures_in_model: bool = False  # the l = L rows are PuLP rows (materialize()); else arrays only
    warm_basis: object = None  # an engine's basis of an earlier model to start the first relaxation from
    cents: bool = False  # every cost (fee tiers, fee_extra) is whole cents: the budget row sits on that grid

    def count_cap(self, budget: float) -> int:
        """The most programs a list within ``budget`` can hold (the budget tolerance of every path)."""
        ok = np.nonzero(self.count_cost <= float(budget) + BUDGET_TOL)[0]
        return int(ok[-1]) if len(ok) else 0

    def la_cap(self, n_max: int) -> int:
        """The most LA programs a list of at most ``n_max`` programs can hold under the LA share."""
        return int(math.floor(self.la_share * n_max + 1e-9))

    def row_budget(self, budget: float) -> float:
        """The budget row's right-hand side: the budget plus BUDGET_TOL (the tolerance of every
        path), rounded down to whole cents when every cost is whole cents, so that the row is the
        plain budget on ordinary budgets (an offset of 1e-6 on it slowed the typical answer's
        floored steps by 15%: HiGHS took other pivots) and still admits a list 5e-7 above it."""
        b = float(budget) + BUDGET_TOL
        return math.floor(b * 100) / 100 if self.cents and b * 100 < 2.0 ** 53 else b  # cents exist below 2**53

    def set_budget(self, budget: float) -> None:
        """Change the budget row's right-hand side (the model must have been built with one),
        and the count the budget buys (``budget_count``)."""
        rows = self.model.constraints
        rows["budget"].constant = -self.row_budget(budget)  # PuLP keeps `cost <= B` as `cost - B <= 0`
        if "budget_count" in rows and self.count_cost is not None:
            rows["budget_count"].constant = -float(self.count_cap(budget))
            if "la_count" in rows:
                rows["la_count"].constant = -float(self.la_cap(self.count_cap(budget)))

    def set_target(self, target: float) -> None:
        """Change the P(match) floor of a model built with one (la_given_target, min_cost):
        the target row's right-hand side and the rhs the outer loop checks.  Tangent rows
        stay valid (they bound the convex terms, whatever the floor)."""
        row = self.model.constraints["target"]
        (name, _), = self.constraint_terms
        row.constant = -OBJ_SCALE * (1.0 - float(target))  # PuLP keeps `a <= b` as `a - b <= 0`
        self.constraint_terms = [(name, 1.0 - float(target))]

    # ------------------------------------------------------------------ reading
    def values(self) -> dict[str, np.ndarray]:
        """Current solution, per variable block (binaries rounded)."""
        return {name: np.array([round(v.varValue or 0.0) for v in vs], float) for name, vs in self.blocks.items()}

    def raw_values(self) -> dict[str, np.ndarray]:
        """Current solution, per variable block, unrounded (a relaxation's fractional columns)."""
        return {name: np.array([v.varValue or 0.0 for v in vs], float) for name, vs in self.blocks.items()}

    def values_at(self, plan: Plan) -> dict[str, np.ndarray]:
        """Per variable block, its values at ``plan`` as the evaluator reads the list: each listed
        program in the one state of its signal and of whether its division is preferred (a list
        found before the optimum may leave a preference unused in the model; the list does not)."""
        on = np.isin(self.cand, list(plan.idx))
        if len(self.states) == 1:
            return {name: on.astype(float) for name in self.blocks}
        sig = dict(plan.signals)
        kind = np.array([sig.get(int(i)) for i in self.cand], dtype=object)
        pref = np.isin(self.problem.division_array[self.cand], list(plan.divisions))
        return {st.name: (on & (kind == st.signal) & (pref == st.preferred)).astype(float) for st in self.states}

    def plan(self) -> Plan:
        vals = self.values()
        x = np.array([round(v.varValue or 0.0) for v in self.x], float)
        idx = self.cand[x > 0.5]
        signals = {int(self.cand[j]): st.signal for st in self.states if st.signal and st.name in vals
                   for j in np.nonzero(vals[st.name] > 0.5)[0]}
        divs = tuple(d for d, var in self.g.items() if (var.varValue or 0) > 0.5)
        return Plan.of(idx, signals, divs)

    def set_start(self, plan: Plan) -> None:
        """Give the engine a starting list (MIP start): the binaries' PuLP values now (CBC's warm
        start reads them), every variable's value (:attr:`start_values`, which HiGHS takes) when
        an integer program first asks for it: a sweep's relaxation tree sets about 50 starts and
        runs no integer program (0.45 s of the 29-point sweep's 6.2 s went to them)."""
        on = np.isin(self.cand, list(plan.idx)).tolist()
        for v, o in zip(self.x, on):
            v.varValue = 1 if o else 0  # PuLP's setInitialValue, less its bound check (binaries)
        if len(self.states) > 1:
            for name, want in self.values_at(plan).items():
                for v, w in zip(self.blocks[name], want.tolist()):
                    v.varValue = int(w)
        for d, var in self.g.items():
            var.varValue = 1 if d in plan.divisions else 0
        self.start_plan, self._start_values = plan, None

    @property
    def start_values(self) -> dict | None:
        """Every variable's value at :attr:`start_plan` (None before a start is set)."""
        if self.start_plan is not None and self._start_values is None:
            self._start_values = self._completed(self.start_plan)
        return self._start_values

    def _completed(self, plan: Plan) -> dict:
        """Every variable's value at ``plan`` (the binaries as set_start sets them; fee tiers
        filled cheapest first; exposures l and t = exp(l)), so HiGHS can take it as an incumbent."""
        on = np.isin(self.cand, list(plan.idx)).astype(float)
        vals = dict(zip(self.x, on.tolist()))
        for name, want in (self.values_at(plan).items() if len(self.states) > 1 else ()):
            vals.update(zip(self.blocks[name], want.tolist()))
        vals.update({var: 1.0 if d in plan.divisions else 0.0 for d, var in self.g.items()})
        spec = self.problem.spec[self.cand]
        for s_idx, e, y in self.fee_vars:
            left = float(on[spec == s_idx].sum())
            for t, v in zip(self.problem.schedule.tiers, e):
                take = left if math.isinf(t.hi) else min(left, float(t.width))
                vals[v] = take
                left -= take
            if y is not None:
                vals[y] = 1.0 if on[spec == s_idx].sum() > 0 else 0.0
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
            a = float(max(a, LOG_FLOOR))
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

    def exposure_rows(self):
        """Every term's rows ``sum_blocks coef . vars - l_m = 0`` as (variable, coefficient)
        lists per row, coefficients below COEF_EPS dropped: (row name, items) pairs."""
        for name, tm in self.terms.items():
            blocks = list(tm.mcoef)
            C = np.hstack([tm.mcoef[b] for b in blocks])
            cols = [v for b in blocks for v in self.blocks[b]]
            for k, lv in enumerate(tm.l):
                nz = np.nonzero(np.abs(C[k]) > COEF_EPS)[0]
                yield f"def_l_{name}_{k}", [(cols[j], float(C[k, j])) for j in nz] + [(lv, -1.0)]

    def exposure_csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same rows as (starts, column indices, values) over the variables' ``index``
        (set by the engine's model builder), for one bulk ``addRows``."""
        starts, idx, val, n = [], [], [], 0
        for name, tm in self.terms.items():
            blocks = list(tm.mcoef)
            C = np.hstack([tm.mcoef[b] for b in blocks])
            cols = np.array([v.index for b in blocks for v in self.blocks[b]], np.int32)
            for k, lv in enumerate(tm.l):
                nz = np.nonzero(np.abs(C[k]) > COEF_EPS)[0]
                starts.append(n)
                idx += [cols[nz], np.array([lv.index], np.int32)]
                val += [C[k, nz], np.array([-1.0])]
                n += len(nz) + 1
        if not starts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
        return np.array(starts, np.int32), np.concatenate(idx).astype(np.int32), np.concatenate(val)

    def materialize(self) -> None:
        """Add the exposure rows and the tangent rows not yet in the PuLP model (CBC reads
        the PuLP model; the HiGHS session takes them straight from arrays and ``cuts``,
        which is much faster)."""
        if not self.exposures_in_model:
            for name, items in self.exposure_rows():
                self.model.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(items), pulp.LpConstraintEQ,
                                                           name, 0), name)
            self.exposures_in_model = True
        for c in self.cuts[self.n_materialized:]:
            row = pulp.LpConstraint(pulp.LpAffineExpression([(c.t, OBJ_SCALE), (c.l, c.l_coef)]),
                                    pulp.LpConstraintGE, c.name, c.rhs)
            self.model.addConstraint(row, c.name)
        self.n_materialized = len(self.cuts)

    def clear_cuts(self) -> None:
        """Remove every tangent row (a budget sweep re-seeds each point instead of carrying
        thousands of rows; every other row stays)."""
        self.cut_epoch += 1
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
