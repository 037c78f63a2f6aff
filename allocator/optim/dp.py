"""Exact dynamic program over the budget for independent outcomes with integer costs.

Applies when outcomes are independent (one quadrature node: correlation 0, no two-stage
mixture, no fixed nodes), no signal or division is chosen, and every program costs a whole
number of dollars (or of cents): a per-program ERAS rate that does not change with the count
(a one-rate schedule such as season "none") plus the program's ``fee_extra``, or, in one
specialty, the ERAS tiers (then the count is a second dimension from the start: k programs
leave the budget minus their fee for the ``fee_extra``).  Then the objectives are dynamic
programs over the budget units, each step affine in the previous row:

- P(at least one match) = 1 - exp(-sum_i w_i) with w_i = -ln(1 - p_i): a 0-1 knapsack,
  V_j(h) = max(V_{j-1}(h), w_j + V_{j-1}(h - g_j)).
- Expected utility, E[the best utility among the programs that succeed]: with the programs
  sorted by utility ascending, V_j(h) = max(V_{j-1}(h), f_j t_j + (1 - f_j) V_{j-1}(h - g_j))
  (Kapur and Hong, "The college application problem").
- The cheapest list with P(match) >= target (``--min-cost``): the knapsack's table over every
  budget unit (no budget: up to the cost of all programs); the first budget that reaches the
  target.  When none does, the integer program's search answers (and says how close one gets).

must_apply programs are always taken (their cost comes off the budget first; in the utility
order they apply V_j = f_j t_j + (1 - f_j) V_{j-1}).  The count limits (max/min applications)
are checked on the answer without them and, when one binds, become a second dimension (exact
count); with one specialty its limits join them.  An LA cap of 0 leaves the LA programs out.
Any other LA cap, and the limits of several specialties, are only checked: when the answer
breaks one, :func:`solve` returns None and the caller solves the integer program.  Ties: the cheapest
optimal list (smallest budget reaching the optimum within 1e-13).
Time O(programs x budget units (x counts)); memory one byte per cell of the choice table.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from allocator.errors import SolverError
from allocator.model.copula import log_fail
from allocator.optim import feasibility
from allocator.inputs.fees import BUDGET_TOL
from allocator.optim.outer import Outcome
from allocator.optim.problem import Plan, Problem
from allocator.status import Status

log = logging.getLogger(__name__)

MAX_CELLS = 40_000_000  # cells of the choice table (bytes) one solve may use
SCALES = (1, 100)  # cost units tried in turn: dollars, then cents
MODES = ("p_match", "utility", "min_cost")
CHECKED = {"la_share", "specialty_limits"}  # groups the program only checks (the rest it enforces)


@dataclass(frozen=True)
class Items:
    """The dynamic program's input: candidates in step order and their affine steps."""

    idx: np.ndarray  # candidate indices, in step order (optional and must_apply ones)
    a: np.ndarray  # step value: V_j = a_j + b_j V_{j-1}(h - g_j)
    b: np.ndarray
    g: np.ndarray  # integer cost in units (0 for must_apply: paid up front)
    forced: np.ndarray  # bool, must_apply
    H: int  # budget units left after the must_apply programs, at most what all others cost (< 0: none)
    k_max: int  # most optional programs (max_applications minus the must_apply ones)
    k_min: int  # fewest optional programs
    # tiered ERAS fees (one specialty): dfee[k] = the fee of the must_apply programs and k more
    # minus that of the must_apply ones alone, in units; None for a one-rate schedule
    dfee: np.ndarray | None = None
    room: float = math.inf  # budget units left after the must_apply programs (H: capped at what all others cost)

    @property
    def cells(self) -> int:
        """Cells of the largest choice table the program may build."""
        rows = len(self.idx) * (max(self.H, 0) + 1)
        return rows if self.dfee is None else rows * (min(self.k_max, len(self.idx)) + 1)

    @cached_property
    def lists(self) -> tuple[list, list, list, list, list]:
        """(idx, a, b, g, forced) as Python lists (the step loop reads scalars), made once."""
        return self.idx.tolist(), self.a.tolist(), self.b.tolist(), self.g.tolist(), self.forced.tolist()


def independent(problem: Problem) -> bool:
    """True when the outcomes are independent: P(no match) is a product of the programs' 1 - p."""
    return problem.fm is None and problem.fixed_nodes is None and problem.rho <= 0


def flat_rate(problem: Problem) -> float | None:
    """The per-program ERAS fee when it does not depend on the count (one rate, no flat
    block), else None."""
    tiers = problem.schedule.tiers
    rates = {t.per_program for t in tiers}
    return None if any(t.flat for t in tiers) or len(rates) != 1 else float(next(iter(rates)))


def unit_costs(problem: Problem) -> tuple[np.ndarray, int, np.ndarray | None] | None:
    """(integer cost of every candidate in units, units per USD, the ERAS fee of k = 0..n
    programs in units when it is tiered, else None), or None when the costs are not whole
    dollars or whole cents (or not all finite), or the fee is tiered over several specialties."""
    rate = flat_rate(problem)
    if rate is None and len(problem.specialties) != 1:
        return None
    cost = (rate or 0.0) + np.asarray(problem.extra, float)
    fees = None if rate is not None else np.asarray(problem.schedule.fees(problem.n), float)
    if not np.all(np.isfinite(cost)) or np.any(cost < 0) or (len(cost) and cost.max() > 1e12):
        return None
    for scale in SCALES:
        units = np.rint(cost * scale)
        whole = fees is None or np.all(np.abs(np.rint(fees * scale) - fees * scale) <= 1e-6)
        if whole and np.all(np.abs(units - cost * scale) <= 1e-6):
            return units.astype(np.int64), scale, None if fees is None else np.rint(fees * scale).astype(np.int64)
    return None


def applicable(problem: Problem, mode: str, budget: float | None = None) -> bool:
    """True when :func:`solve` can answer ``mode`` for ``problem`` (at ``budget``, default the
    problem's): the structure fits and the choice table stays within MAX_CELLS."""
    if mode not in MODES or not independent(problem) or problem.has_signals or problem.has_geo:
        return False
    budget = math.inf if mode == "min_cost" else budget  # the cheapest list answers to no budget
    items = _items(problem, mode, budget)
    return items is not None and items.cells <= MAX_CELLS


def _room(problem: Problem, budget: float | None, scale: int) -> float:
    """The budget in units (whole units within the re-check's tolerance; inf for none)."""
    lim = float(problem.budget if budget is None else budget)
    units = (lim + BUDGET_TOL) * scale
    return units if not units < 2.0 ** 53 else float(math.floor(units))  # beyond 2**53 (or inf): no whole units


def _items(problem: Problem, mode: str, budget: float | None) -> Items | None:
    """The steps for ``mode`` under the problem's limits (at ``budget``), cached on the problem."""
    key = ("dp_items", mode, budget, problem.budget, problem.must, problem.max_apps, problem.min_apps,
           problem.la_share_max <= 0, tuple(sorted(problem.spec_min.items())), tuple(sorted(problem.spec_max.items())))
    if key not in problem._cache:
        problem._cache[key] = _make_items(problem, mode, budget)
    return problem._cache[key]


def _make_items(problem: Problem, mode: str, budget: float | None) -> Items | None:
    uc = unit_costs(problem)
    if uc is None:
        return None
    units, scale, fee = uc
    must = np.zeros(problem.n, bool)
    must[list(problem.must)] = True
    p = np.clip(problem.p, 0.0, 1.0)
    if mode in ("p_match", "min_cost"):
        a, b = -log_fail(p, 0.0, np.zeros(1))[0], np.ones(problem.n)
        useful = a > 0
        order = np.arange(problem.n)
    else:
        t = np.maximum(problem.utility.astype(float), 0.0)
        a, b = p * t, 1.0 - p
        useful = a > 0
        order = np.lexsort((np.arange(problem.n), t))  # utility ascending, ties by index
    n_must = int(must.sum())
    fee_must = 0 if fee is None else int(fee[min(n_must, len(fee) - 1)])
    room = _room(problem, budget, scale) - int(units[must].sum()) - fee_must  # left for the optional programs
    H = int(min(room, units[~must].sum()))  # more than all of them cost changes nothing
    lo, hi = _count_limits(problem)
    k_min = max(0, lo - n_must)
    # programs that add nothing are left out, unless a minimum count may need them; with an
    # LA cap of 0 no LA program can be on a list (a must_apply one is then caught by the check)
    allowed = ~problem.la.astype(bool) if problem.la_share_max <= 0 else np.ones(problem.n, bool)
    keep = must | ((useful | (k_min > 0)) & (units <= max(H, 0)) & allowed)
    idx = order[keep[order]]
    dfee = None if fee is None else fee[n_must:] - fee_must  # tiered: k more programs add dfee[k]
    return Items(idx, a[idx], b[idx], np.where(must[idx], 0, units[idx]), must[idx], H, hi - n_must, k_min, dfee,
                 room)


def _count_limits(problem: Problem) -> tuple[int, int]:
    """(fewest, most) programs on a list; with one specialty its limits are count limits too."""
    lo, hi = problem.min_apps, problem.max_apps
    if len(problem.specialties) == 1:
        name = problem.specialties[0]
        lo, hi = max(lo, problem.spec_min.get(name, 0)), min(hi, problem.spec_max.get(name, hi))
    return lo, hi


def _table(it: Items, H: int) -> tuple[np.ndarray, np.ndarray]:
    """V(h) for h = 0..H (best value with optional cost <= h) and the choice table."""
    V = np.zeros(H + 1)
    buf = np.empty(H + 1)
    take = np.zeros((len(it.idx), H + 1), bool)
    _, a_, b_, g_, f_ = it.lists
    views: dict[int, tuple] = {}  # per cost g: (cand, V(h) for h >= g, V(h - g)); few distinct costs
    for j, (a, b, g, forced) in enumerate(zip(a_, b_, g_, f_)):
        if forced:
            V *= b
            V += a
            continue
        if g > H:
            continue
        if g not in views:
            views[g] = (buf[:H + 1 - g], V[g:], V[:H + 1 - g])
        cand, seg, prev = views[g]  # cand(h) = a + b V(h - g), before V changes
        if b == 1.0:  # the knapsack's step
            np.add(prev, a, out=cand)
        else:
            np.multiply(prev, b, out=cand)
            cand += a
        np.greater(cand, seg, out=take[j, g:])
        np.maximum(seg, cand, out=seg)
    return V, take


def _table_counts(it: Items, H: int, K: int) -> tuple[np.ndarray, np.ndarray]:
    """V(h, k) (optional cost <= h, exactly k optional programs; -inf when none) and the choices."""
    V = np.full((H + 1, K + 1), -np.inf)
    V[:, 0] = 0.0
    take = np.zeros((len(it.idx), H + 1, K + 1), bool)
    with np.errstate(invalid="ignore"):
        for j in range(len(it.idx)):
            a, b, g = it.a[j], it.b[j], int(it.g[j])
            if it.forced[j]:
                V = np.where(np.isneginf(V), -np.inf, a + b * V)
                continue
            if g > H or K == 0:
                continue
            prev = V[:H + 1 - g, :K]
            cand = np.where(np.isneginf(prev), -np.inf, a + b * prev)
            row = cand > V[g:, 1:]
            take[j, g:, 1:] = row
            V[g:, 1:][row] = cand[row]
    return V, take


def _cheapest(values: np.ndarray) -> int:
    """Smallest budget whose value reaches the best within 1e-13 (the cheapest optimal list);
    ``values`` never falls as the budget rises (-inf where no list fits), so the best is the last."""
    return int(values.searchsorted(values[-1] - 1e-13, side="left"))


def _back(it: Items, take: np.ndarray, h: int, k: int | None = None) -> list[int]:
    """The list behind state (h[, k]): the must_apply programs and the optional ones taken."""
    idx, _, _, g, forced = it.lists
    chosen = [i for i, f in zip(idx, forced) if f]
    for j in range(len(idx) - 1, -1, -1):
        if (take[j, h] if k is None else take[j, h, k]):
            chosen.append(idx[j])
            h -= g[j]
            k = None if k is None else k - 1
    return chosen


NO_LIST = "no list"  # _choose's answer when no list meets the budget, must_apply and counts


def _choose_tiered(it: Items, target: float | None = None) -> tuple[list[int], float] | str | None:
    """Tiered ERAS fees (one specialty): the count is a dimension from the start, and k optional
    programs leave room - dfee[k] units for their fee_extra.  The best list (ties: the cheapest
    within 1e-13, then the fewest programs) or, with ``target``, the cheapest list whose
    P(match) reaches it (ties: the fewest); NO_LIST when there is none."""
    fits = np.nonzero(it.dfee <= it.room)[0]
    K = min(it.k_max, int((~it.forced).sum()), int(fits.max()) if len(fits) else -1)
    if K < it.k_min:
        return NO_LIST
    V2, take2 = _table_counts(it, it.H, K)
    rows = []  # (value, cost in units, k, h)
    for k in range(it.k_min, K + 1):
        col = V2[:int(min(it.H, it.room - it.dfee[k])) + 1, k]
        if target is None and not np.isneginf(col[-1]):
            h = _cheapest(col)
            rows.append((col[-1], h + int(it.dfee[k]), k, h))
        elif target is not None:
            ok = -np.expm1(-col) >= target - 1e-12
            if ok.any():
                h = int(np.argmax(ok))
                rows.append((col[h], h + int(it.dfee[k]), k, h))
    if not rows:
        return NO_LIST
    if target is None:
        top = max(r[0] for r in rows)
        rows = [r for r in rows if r[0] >= top - 1e-13]
    v, _, k, h = min(rows, key=lambda r: (r[1], r[2]))
    return _back(it, take2, h, k), float(v)


def _choose(it: Items) -> tuple[list[int], float] | str | None:
    """(the optimal list under budget, must_apply and counts, its value in the program's
    terms); NO_LIST when there is none; None when the count dimension would exceed MAX_CELLS."""
    if it.dfee is not None:
        return _choose_tiered(it)
    V, take = _table(it, it.H)
    h = _cheapest(V)
    chosen = _back(it, take, h)
    n_opt = len(chosen) - sum(it.lists[4])
    if it.k_min <= n_opt <= it.k_max:
        return chosen, float(V[h])
    K = min(it.k_max, int((~it.forced).sum()))
    if len(it.idx) * (it.H + 1) * (K + 1) > MAX_CELLS:
        return None
    if it.k_min > K:
        return NO_LIST
    V2, take2 = _table_counts(it, it.H, K)
    last = V2[it.H, it.k_min:K + 1]
    if np.all(np.isneginf(last)):
        return NO_LIST
    k = it.k_min + int(np.argmax(last >= last.max() - 1e-13))  # fewest programs among the best
    h = _cheapest(V2[:, k])
    return _back(it, take2, h, k), float(V2[h, k])


def _choose_min(it: Items, target: float) -> tuple[list[int], float] | str | None:
    """(the cheapest list with P(match) >= target under must_apply and counts, its sum of
    -ln(1 - p)); NO_LIST when none reaches the target; None when the count dimension would
    exceed MAX_CELLS.  Ties: the fewest programs."""
    if it.dfee is not None:
        return _choose_tiered(it, target)
    V, take = _table(it, it.H)
    ok = -np.expm1(-V) >= target - 1e-12
    if not ok.any():
        return NO_LIST
    h = int(np.argmax(ok))
    chosen = _back(it, take, h)
    n_opt = len(chosen) - sum(it.lists[4])
    if it.k_min <= n_opt <= it.k_max:
        return chosen, float(V[h])
    K = min(it.k_max, int((~it.forced).sum()))
    if it.k_min > K:
        return NO_LIST
    if len(it.idx) * (it.H + 1) * (K + 1) > MAX_CELLS:
        return None
    V2, take2 = _table_counts(it, it.H, K)
    with np.errstate(over="ignore"):
        ok2 = -np.expm1(-V2) >= target - 1e-12
    ok2[:, :it.k_min] = False
    if not ok2.any():
        return NO_LIST
    first = np.where(ok2.any(axis=0), np.argmax(ok2, axis=0), it.H + 1)  # cheapest budget per count
    k = int(np.argmin(first))
    return _back(it, take2, int(first[k]), k), float(V2[first[k], k])


def solve(problem: Problem, mode: str, *, budget: float | None = None, target: float | None = None,
          t0: float | None = None) -> Outcome | None:
    """The optimal list for ``mode`` ("p_match", "utility", or "min_cost": the cheapest list
    with P(match) >= ``target``) by the dynamic program, or None when the program does not
    apply, its answer breaks a limit it only checks (LA cap, specialty limits), or no list
    reaches the target (the integer program's search then says how close one gets): the
    caller then solves the integer program.  ``t0``: when the solve started (perf_counter;
    default now), for the reported wall time."""
    t0 = time.perf_counter() if t0 is None else t0
    budget = math.inf if mode == "min_cost" else budget
    if not applicable(problem, mode, budget):
        return None
    it = _items(problem, mode, budget)
    checked = problem if budget is None else problem.with_limits(budget=float(budget))
    if mode == "min_cost":
        ans = None if it.k_max < 0 else _choose_min(it, float(target))
        ans = None if ans is NO_LIST else ans
    elif it.H < 0 or it.k_max < 0:
        return _infeasible(problem, t0)
    else:
        ans = _choose(it)
    if ans is None:
        log.info("dp: no answer within %d cells, or no list reaches the target; integer program", MAX_CELLS)
        return None
    if ans is NO_LIST:
        return _infeasible(problem, t0)
    plan = Plan(tuple(sorted(ans[0])))
    bad = feasibility.violations(checked, plan)
    if any(g not in CHECKED for g, _ in bad):
        raise SolverError(f"the dynamic program returned a list that breaks {bad[0][0]}: {bad[0][1]} "
                          "(a bug; please report)")
    if bad:
        log.info("dp: the list breaks %s, which the dynamic program only checks; integer program", bad[0][0])
        return None
    # the program's value of the list: sum of -ln(1 - p) (P = 1 - exp(-sum)), or E[utility] itself;
    # the cheapest list's value is its cost (USD)
    if mode == "p_match":
        val = -math.expm1(-ans[1])
    else:
        val = ans[1] if mode == "utility" else problem.list_cost(plan.idx)[0]
    wall = time.perf_counter() - t0
    return Outcome(Status.OPTIMAL, plan, val, val, 0.0, wall, wall, 0, len(it.idx), "dp")


def _infeasible(problem: Problem, t0: float) -> Outcome:
    wall = time.perf_counter() - t0
    return Outcome(Status.INFEASIBLE, None, None, None, None, wall, wall, 0, problem.n, "dp")
