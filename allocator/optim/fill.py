"""A list under construction that only ever accepts a program that keeps it feasible.

``Fill`` tracks the exact ERAS fees per specialty (USD), the count and specialty caps and
the LA share while programs are added one at a time; the optimizer's greedy start list
(:mod:`allocator.optim.start`) and the advisers' heuristic lists
(:mod:`allocator.studies.heuristics`) both build on it.
"""
from __future__ import annotations

import numpy as np

from allocator.optim.problem import Problem
from allocator.inputs.fees import BUDGET_TOL


class Fill:
    """A list under construction that only ever accepts a program that keeps it feasible
    (budget, max count, specialty maxima, LA cap); starts from the must_apply programs."""

    def __init__(self, problem: Problem):
        self.pr = problem
        # must_apply may exceed max_apps (an infeasible setting, still started from)
        self.fees = np.array(problem.schedule.fees(max(min(problem.n, problem.max_apps), len(problem.must)) + 1))
        self.min_extra = float(problem.extra.min()) if problem.n else 0.0
        self.counts = np.zeros(max(len(problem.specialties), 1), dtype=int)
        self.hi = np.full(len(self.counts), np.iinfo(np.int64).max)
        for name, hi in problem.spec_max.items():
            if name in problem.specialties:
                self.hi[problem.specialties.index(name)] = hi
        self.cost = 0.0
        self.n_la = 0
        self.chosen: list[int] = []
        self.taken = np.zeros(problem.n, dtype=bool)
        for i in problem.must:
            self.add(int(i))

    def __len__(self) -> int:
        return len(self.chosen)

    def marginal_fee(self, i: int) -> float:
        s = int(self.pr.spec[i])
        c = self.counts[s]
        return float(self.fees[c + 1] - self.fees[c] + self.pr.extra[i])

    def marginal_fees(self, idx: np.ndarray) -> np.ndarray:
        """Marginal USD of adding each of ``idx`` to the current list (vectorized)."""
        c = self.counts
        step = self.fees[np.minimum(c + 1, len(self.fees) - 1)] - self.fees[c]
        return step[self.pr.spec[idx]] + self.pr.extra[idx]

    def blocked(self, i: int) -> str | None:
        """Why program ``i`` cannot be added now ("taken", "count", "specialty", "budget",
        "la"), or None when it fits."""
        pr = self.pr
        if self.taken[i]:
            return "taken"
        if len(self.chosen) + 1 > pr.max_apps:
            return "count"
        if self.counts[pr.spec[i]] + 1 > self.hi[pr.spec[i]]:
            return "specialty"
        if self.cost + self.marginal_fee(i) + self.reserve(i) > pr.budget + BUDGET_TOL:
            return "budget"
        if pr.la[i] and self.n_la + 1 > pr.la_share_max * (len(self.chosen) + 1) + 1e-9:
            return "la"
        return None

    def reserve(self, i: int) -> float:
        """Least USD still needed, after adding ``i``, to reach min_applications (0 once
        the list is long enough): keeps a builder from spending what the minimum needs."""
        k = self.pr.min_apps - len(self.chosen) - 1
        if k <= 0:
            return 0.0
        pr = self.pr
        counts = self.counts.copy()
        counts[pr.spec[i]] += 1
        free = ~self.taken
        free[i] = False
        if (free & ~pr.la).sum() >= k:  # non-LA programs never strain the LA cap
            free &= ~pr.la
        best = np.zeros(1)  # best[a]: least USD to add a programs over the specialties so far
        for s in range(len(counts)):
            ext = np.sort(pr.extra[free & (pr.spec == s)])[:k]
            a = np.arange(len(ext) + 1)
            add_s = self.fees[np.minimum(counts[s] + a, len(self.fees) - 1)] - self.fees[counts[s]] + \
                np.concatenate([[0.0], np.cumsum(ext)])
            nxt = np.full(min(len(best) + len(ext), k + 1), np.inf)
            for j, b in enumerate(best):
                top = min(len(add_s), len(nxt) - j)
                nxt[j:j + top] = np.minimum(nxt[j:j + top], b + add_s[:top])
            best = nxt
        return float(best[k]) if len(best) > k else np.inf

    def add(self, i: int) -> None:
        self.cost += self.marginal_fee(i)
        self.counts[self.pr.spec[i]] += 1
        self.n_la += int(self.pr.la[i])
        self.chosen.append(i)
        self.taken[i] = True

    def run(self, order, limit: int | None = None) -> None:
        """Walk ``order``; add each program that fits until the list has ``limit`` programs.
        An LA program blocked only by the LA cap waits and is added as soon as later
        non-LA programs make room (in its original order)."""
        limit = self.pr.max_apps if limit is None else min(limit, self.pr.max_apps)
        pending: list[int] = []
        for i in order:
            if len(self.chosen) >= limit:
                break
            why = self.blocked(int(i))
            if why is None:
                self.add(int(i))
                pending = self._flush(pending, limit)
            elif why == "la":
                pending.append(int(i))
            elif why == "budget" and self.broke():
                break

    def broke(self) -> bool:
        """True when no program at all fits the budget any more."""
        c = self.counts
        step = self.fees[np.minimum(c + 1, len(self.fees) - 1)] - self.fees[c]
        return self.cost + float(step.min()) + self.min_extra > self.pr.budget + BUDGET_TOL

    def _flush(self, pending: list[int], limit: int) -> list[int]:
        left = []
        for j in pending:
            if len(self.chosen) < limit and self.blocked(j) is None:
                self.add(j)
            elif self.blocked(j) != "taken":
                left.append(j)
        return left

    def fits(self, idx: np.ndarray) -> np.ndarray:
        """Vectorized :meth:`Fill.blocked` is None for candidates ``idx`` (not taken)."""
        pr = self.pr
        n = len(self) + 1
        ok = self.cost + self.marginal_fees(idx) <= pr.budget + BUDGET_TOL
        if n < pr.min_apps:  # keep enough budget for min_applications
            ok &= np.array([self.cost + self.marginal_fee(int(i)) + self.reserve(int(i)) <= pr.budget + BUDGET_TOL
                            for i in idx], dtype=bool)
        ok &= self.counts[pr.spec[idx]] + 1 <= self.hi[pr.spec[idx]]
        ok &= ~(pr.la[idx] & (self.n_la + 1 > pr.la_share_max * n + 1e-9))
        return ok & (n <= pr.max_apps)
