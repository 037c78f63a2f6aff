"""The count scan: exact and fast when costs depend only on counts.

When every program's cost is its specialty's ERAS fee (no ``fee_extra``), no signals or
divisions are chosen, and the side constraints only count programs per class (class =
specialty x LA x utility level), an optimal list takes the highest-p programs within each
class, because P(>=1) and E[utility] rise with every p_i under both outcome models
(README "How it works").  The problem then shrinks to choosing a count per class.

:class:`CountGrid` evaluates the objective for *every* feasible count vector at once
(products of per-class prefix terms, one matrix product for two classes), so a budget
sweep re-reads one grid instead of re-solving.  must_apply programs lead their class's
order, so every prefix that is long enough contains them.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from allocator.optim.problem import Plan, Problem
from allocator.inputs.fees import BUDGET_TOL

MAX_CELLS = 3_000_000


@dataclass(frozen=True)
class ClassInfo:
    spec: int
    la: bool
    utility: float
    members: np.ndarray  # candidate indices in prefix order (must first, then p desc)
    n_must: int


def applicable(problem: Problem, mode: str = "p_match") -> bool:
    if not problem.count_based_costs or problem.has_signals or problem.has_geo:
        return False
    if problem.fm is not None and not _chains(problem):
        return False
    if mode not in ("p_match", "utility", "min_cost", "la_given_target", "utility_given_target"):
        return False
    return _cells(problem) <= MAX_CELLS


def scan(problem: Problem, mode: str, target: float | None = None) -> tuple["CountGrid", tuple] | None:
    """The best count vector under ``problem``'s own limits (its budget included; an
    infinite budget caps nothing) and the grid it came from, or None when the count scan
    does not apply or no count vector is feasible."""
    if not applicable(problem, mode):
        return None
    grid = CountGrid(problem, budget_cap=problem.budget)
    cell = grid.best(mode, target, budget=problem.budget)
    return None if cell is None else (grid, cell)


def _classes(problem: Problem) -> list[ClassInfo]:
    keys = sorted(set(zip(problem.spec.tolist(), problem.la.tolist(), problem.utility.tolist())))
    must = np.zeros(problem.n, bool)
    must[list(problem.must)] = True
    ids = problem.candidates.column("program_id")
    out = []
    for s, la, u in keys:
        mem = np.nonzero((problem.spec == s) & (problem.la == la) & (problem.utility == u))[0]
        # must first; then p descending; ties by program_id (deterministic)
        order = sorted(mem, key=lambda i: (not must[i], -problem.p[i], ids[i]))
        out.append(ClassInfo(s, bool(la), float(u), np.array(order, dtype=int), int(must[mem].sum())))
    return out


def _chains(problem: Problem) -> bool:
    """True when, within every class, the prefix order is a chain at every node (a program
    earlier in the order succeeds at least as often at every node of the mixture): then the
    best list of each size takes a prefix.  Under the two-stage model programs may cross
    (one better at interviews, the other at matches), and the integer program decides."""
    key = ("chains", id(problem.fm), problem.must, problem.utility.tobytes(), problem.la.tobytes())
    if key not in problem._cache:
        ok = True
        for c in _classes(problem):
            free = c.members[c.n_must:]
            if len(free) > 1:
                A = problem.log_fail_matrix("plain", free)
                if np.any(np.diff(A, axis=1) < -1e-12):
                    ok = False
                    break
        problem._cache[key] = ok
    return problem._cache[key]


def _caps(problem: Problem) -> dict[int, int]:
    from allocator.optim.dominance import count_caps

    return count_caps(problem)


def _cells(problem: Problem) -> int:
    caps = _caps(problem)
    total = 1
    for c in _classes(problem):
        total *= min(len(c.members), caps[c.spec]) + 1
        if total > MAX_CELLS:
            return total
    return total


class CountGrid:
    """Objective, cost and counts for every count vector (a_c) with a_c <= class size and
    cap.  Arrays are indexed by the count vector (one axis per class)."""

    def __init__(self, problem: Problem, *, budget_cap: float | None = None):
        self.problem = problem
        self.classes = _classes(problem)
        caps = _caps(problem) if budget_cap is None else {
            s: min(problem.max_apps, problem.schedule.max_count(budget_cap)) for s in range(len(problem.specialties))}
        self.sizes = [min(len(c.members), caps[c.spec]) for c in self.classes]
        w = problem.node_weights()
        shape = tuple(s + 1 for s in self.sizes)
        self.shape = shape
        # per-class cumulative exp(sum log(1-p(z))) over the prefix: (size+1, K)
        self.w = w
        self.E = []
        for c, size in zip(self.classes, self.sizes):
            L = problem.log_fail_matrix("plain", c.members[:size])  # (K, size)
            C = np.vstack([np.zeros(len(w)), np.cumsum(L.T, axis=0)])
            self.E.append(np.exp(C))
        counts = np.indices(shape) if shape else np.zeros((0,))
        self.counts = counts  # (d, *shape)
        d = len(self.classes)
        self.n = counts.sum(axis=0) if d else np.zeros(())
        la_axes = [j for j, c in enumerate(self.classes) if c.la]
        self.n_la = sum((counts[j] for j in la_axes), np.zeros(shape, int))
        fee = problem.schedule.fees(int(sum(self.sizes)))
        fee = np.asarray(fee)
        self.cost = np.zeros(shape)
        self.n_by_spec = {}
        for s in range(len(problem.specialties)):
            axes = [j for j, c in enumerate(self.classes) if c.spec == s]
            n_s = sum((counts[j] for j in axes), np.zeros(shape, int))
            self.n_by_spec[s] = n_s
            self.cost = self.cost + fee[n_s]
        self.must_ok = np.ones(shape, bool)
        for j, c in enumerate(self.classes):
            if c.n_must:
                self.must_ok &= counts[j] >= c.n_must
        self.p_none = self._p_none(range(d))  # P(no success)
        self._cache = {}

    def _p_none(self, axes) -> np.ndarray:
        """sum_k w_k prod_{c in axes} E_c[a_c, k] over the full grid (other axes ignored)."""
        axes = list(axes)
        w = self.w
        d = len(self.classes)
        if not axes:
            return np.ones(self.shape)
        if len(axes) == 1:
            v = self.E[axes[0]] @ w
            return _expand(v, axes[0], self.shape)
        # all but the last two axes enumerated; the last two by a matrix product
        *outer, a1, a2 = axes
        res = np.empty([self.shape[j] for j in axes])
        for combo in itertools.product(*[range(self.shape[j]) for j in outer]):
            pre = w.copy()
            for j, a in zip(outer, combo):
                pre = pre * self.E[j][a]
            res[combo] = (self.E[a1] * pre) @ self.E[a2].T
        # broadcast onto the full grid
        full = res.reshape([self.shape[j] if j in axes else 1 for j in range(d)]) if sorted(axes) == axes else None
        if full is None:
            order = np.argsort(axes)
            res = np.transpose(res, order)
            full = res.reshape([self.shape[j] if j in axes else 1 for j in range(d)])
        return np.broadcast_to(full, self.shape)

    # ------------------------------------------------------------------ objectives
    def p_match(self) -> np.ndarray:
        return 1.0 - self.p_none

    def p_match_la(self) -> np.ndarray:
        key = "la"
        if key not in self._cache:
            axes = [j for j, c in enumerate(self.classes) if c.la]
            self._cache[key] = 1.0 - self._p_none(axes)
        return self._cache[key]

    def expected_utility(self) -> np.ndarray:
        if "eu" not in self._cache:
            levels = sorted({c.utility for c in self.classes if c.utility > 0})
            total = np.zeros(self.shape)
            prev = 0.0
            for lev in levels:
                axes = [j for j, c in enumerate(self.classes) if c.utility >= lev]
                total = total + (lev - prev) * (1.0 - self._p_none(axes))
                prev = lev
            self._cache["eu"] = total
        return self._cache["eu"]

    def objective(self, mode: str) -> np.ndarray:
        if mode in ("p_match", "min_cost"):
            return self.p_match()
        if mode in ("utility", "utility_given_target"):
            return self.expected_utility()
        if mode == "la_given_target":
            return self.p_match_la()
        raise ValueError(mode)

    # ------------------------------------------------------------------ constraints
    def feasible(self, *, budget: float | None = None, max_apps: int | None = None,
                 min_apps: int | None = None, la_share_max: float | None = None) -> np.ndarray:
        pr = self.problem
        B = pr.budget if budget is None else budget
        K = pr.max_apps if max_apps is None else max_apps
        m = pr.min_apps if min_apps is None else min_apps
        s = pr.la_share_max if la_share_max is None else la_share_max
        ok = self.must_ok & (self.cost <= B + BUDGET_TOL) & (self.n <= K) & (self.n >= m)
        ok &= self.n_la <= s * self.n + 1e-9
        for sidx, name in enumerate(pr.specialties):
            n_s = self.n_by_spec[sidx]
            if name in pr.spec_min:
                ok &= n_s >= pr.spec_min[name]
            if name in pr.spec_max:
                ok &= n_s <= pr.spec_max[name]
        return ok

    def best(self, mode: str = "p_match", target: float | None = None, **limits) -> tuple | None:
        """The best count vector (tuple) under the limits, or None when none is feasible.

        Ties: higher objective, then lower cost (with a P(match) floor: higher P(match)),
        then fewer applications."""
        ok = self.feasible(**limits)
        if mode == "min_cost":
            ok = ok & (self.p_match() >= target - 1e-12)
            key_primary = -self.cost  # maximize -cost
            secondary = self.p_match()
        elif mode in ("la_given_target", "utility_given_target"):  # the best P(LA) or E[U] at a P(match) floor
            ok = ok & (self.p_match() >= target - 1e-12)
            key_primary = self.p_match_la() if mode == "la_given_target" else self.expected_utility()
            secondary = self.p_match()
        else:
            key_primary = self.objective(mode)
            secondary = -self.cost
        if not ok.any():
            return None
        flat = np.nonzero(ok.ravel())[0]
        return pick(flat, key_primary.ravel()[flat], secondary.ravel()[flat], self.n.ravel()[flat], self.shape)

    def plan(self, cell: tuple) -> Plan:
        idx = np.concatenate([c.members[:a] for c, a in zip(self.classes, cell)]) if cell else np.array([], int)
        return Plan.of(idx)


def _expand(v: np.ndarray, axis: int, shape: tuple) -> np.ndarray:
    s = [1] * len(shape)
    s[axis] = shape[axis]
    return np.broadcast_to(v.reshape(s), shape)


def pick(flat: np.ndarray, primary: np.ndarray, secondary: np.ndarray, n: np.ndarray, shape: tuple) -> tuple:
    """The one tie-break rule of the count scan, over feasible cells ``flat`` (flat indices
    into a grid of ``shape``): highest ``primary`` within 1e-13, then highest ``secondary``
    within 1e-9, then fewest applications ``n``, then the first cell in grid order."""
    close = primary >= primary.max() - 1e-13
    flat, secondary, n = flat[close], secondary[close], n[close]
    close = secondary >= secondary.max() - 1e-9
    flat, n = flat[close], n[close]
    return tuple(int(v) for v in np.unravel_index(flat[np.argmin(n)], shape))
