"""Heuristic list builders: the baselines the optimizer is measured against.

Every builder has the signature ``f(problem, *, rng=None) -> Plan`` and returns a list that
respects the problem's budget (USD), count limits, LA cap, specialty limits and
must/never lists, exactly the constraints the optimizer sees, so comparisons are fair.
Each builder walks its own priority order and adds a program when it still fits; a builder
that cannot fill its quota within the budget stops early.  If ``min_applications`` is not
reached, the cheapest programs pad the list.  All lists are scored by the one evaluator
(:func:`allocator.optim.evaluate.evaluate`); nothing here computes a probability of a list.

Builders (``BUILDERS``, name -> builder):

- ``guide_strong``, ``guide_moderate``, ``guide_below_average``: the seed guide's tier
  rules (FACTS.md, "The seed guide's rules"); quotas in :data:`GUIDE_RULES`.  Within a
  tier they pick the way an adviser would *without a model*: most IMG-friendly first
  (highest ``img_share``), then community before county before university programs, then
  ``program_id``.  They never read the model's p.  Tiers are interleaved in proportion to
  their quotas, so a budget that stops the list early keeps the guide's mix.
- ``la_only``: Greater-LA programs only (adviser order); when the LA cap binds it adds
  the fewest non-LA programs (West first, adviser order) that make room for the next LA one.
- ``top_n``: highest model p first, as many as the budget and count allow.
- ``cheapest``: smallest marginal fee first (stays in the cheap ERAS tier of each
  specialty, avoids ``fee_extra``); ties in adviser order.
- ``prestige``: university programs first, then county, then community; within a setting
  the lowest ``img_share`` (most selective) first.
- ``random``: a uniformly random order (``rng``; seed 0 when None), as many as fit.
- ``greedy``: add the program with the largest gain in P(>=1) (the problem's correlation)
  per marginal USD, while it fits.

When the problem models program signals, every builder also signals programs on its own
list: the guide rules follow the guide ("some to realistic LA/CA programs, the rest to
IMG-friendly programs elsewhere": a third to California programs), the others signal in
their own priority order.  No builder chooses a geographic preference.

>>> from allocator.studies.heuristics import BUILDERS  # doctest: +SKIP
>>> plan = BUILDERS["guide_strong"](problem)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from allocator.inputs.geography import DIVISION_TO_REGION
from allocator.optim.problem import Plan, Problem

Builder = Callable[..., Plan]

SETTING_RANK_ADVISER = {"community": 0, "county": 1, "university": 2}  # IMG-friendly first
SETTING_RANK_PRESTIGE = {"university": 0, "county": 1, "community": 2}


# ---------------------------------------------------------------------- program attributes
def _img_share(problem: Problem) -> np.ndarray:
    """img_share per candidate; missing values take the median of the known ones (0.5 if none)."""
    df = problem.programs
    if "img_share" not in df:
        return np.full(problem.n, 0.5)
    v = np.asarray(df["img_share"], dtype=float)
    known = v[~np.isnan(v)]
    return np.where(np.isnan(v), float(np.median(known)) if len(known) else 0.5, v)


def _setting_rank(problem: Problem, ranks: dict[str, int]) -> np.ndarray:
    df = problem.programs
    if "setting" not in df:
        return np.zeros(problem.n, int)
    return df["setting"].astype(str).str.strip().str.lower().map(ranks).fillna(len(ranks)).to_numpy(int)


def _ids(problem: Problem) -> np.ndarray:
    return problem.programs["program_id"].to_numpy().astype(str)


def adviser_order(problem: Problem, members: np.ndarray | None = None) -> np.ndarray:
    """Candidates in the order an adviser without a model would take them: highest
    ``img_share`` first, then community < county < university, then ``program_id``."""
    rank = _adviser_rank(problem)
    members = np.arange(problem.n) if members is None else np.asarray(members, dtype=int)
    return members[np.argsort(rank[members], kind="stable")]


def _adviser_rank(problem: Problem) -> np.ndarray:
    """Position of each candidate in the adviser's order (computed once per problem)."""
    key = "heuristics.adviser_rank"
    if key not in problem._cache:
        order = np.lexsort((_ids(problem), _setting_rank(problem, SETTING_RANK_ADVISER), -_img_share(problem)))
        rank = np.empty(problem.n, dtype=int)
        rank[order] = np.arange(problem.n)
        problem._cache[key] = rank
    return problem._cache[key]


def _regions(problem: Problem) -> np.ndarray:
    df = problem.programs
    if "region" in df:
        reg = df["region"].astype(object).where(df["region"].notna(), None).to_numpy()
    else:
        reg = np.full(problem.n, None, dtype=object)
    div = df["division"].to_numpy() if "division" in df else np.full(problem.n, None, dtype=object)
    return np.array([r if r else DIVISION_TO_REGION.get(d, "") for r, d in zip(reg, div)], dtype=object)


def _tiers(problem: Problem) -> np.ndarray:
    if "tier" in problem.programs:
        return problem.programs["tier"].to_numpy().astype(str)
    return np.where(problem.la, "la", "elsewhere")


# ---------------------------------------------------------------------- the fill engine
class _Fill:
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
        if self.cost + self.marginal_fee(i) + self.reserve(i) > pr.budget + 1e-9:
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
        return self.cost + float(step.min()) + self.min_extra > self.pr.budget + 1e-9

    def _flush(self, pending: list[int], limit: int) -> list[int]:
        left = []
        for j in pending:
            if len(self.chosen) < limit and self.blocked(j) is None:
                self.add(j)
            elif self.blocked(j) != "taken":
                left.append(j)
        return left

    def pad_to_min(self) -> None:
        """Reach min_applications with the cheapest programs (fee_extra, then adviser
        order); when must_apply programs alone break the LA cap, add the cheapest non-LA
        programs that make room."""
        pr = self.pr
        if self.n_la > pr.la_share_max * len(self.chosen) + 1e-9:
            rest = adviser_order(pr, np.nonzero(~self.taken & ~pr.la)[0])
            for i in rest[np.argsort(pr.extra[rest], kind="stable")]:
                if self.n_la <= pr.la_share_max * len(self.chosen) + 1e-9:
                    break
                if self.blocked(int(i)) is None:
                    self.add(int(i))
        for name, lo in pr.spec_min.items():  # best effort: specialty minima
            if name in pr.specialties:
                s = pr.specialties.index(name)
                short = lo - int(self.counts[s])
                if short > 0:
                    rest = adviser_order(pr, np.nonzero(~self.taken & (pr.spec == s))[0])
                    self.run(rest[np.argsort(pr.extra[rest], kind="stable")], len(self.chosen) + short)
        if len(self.chosen) >= pr.min_apps:
            return
        rest = adviser_order(pr, np.nonzero(~self.taken)[0])
        rest = rest[np.argsort(pr.extra[rest], kind="stable")]
        self.run(rest, pr.min_apps)

    def plan(self, signal_order=None) -> Plan:
        """The list, with signals (in ``signal_order``, programs on the list only) and
        geographic preference when the problem models them."""
        order = self.chosen if signal_order is None else [int(i) for i in signal_order if self.taken[int(i)]]
        return Plan.of(self.chosen, _signals(self.pr, order), _divisions(self.pr, self.chosen))


def _divisions(problem: Problem, chosen: list[int]) -> tuple[str, ...]:
    """Geographic preference, when the problem models it: the Census divisions that hold
    the most programs on the list (ties by name), at most ``max_divisions``."""
    if not problem.has_geo or not chosen or "division" not in problem.programs:
        return ()
    div = problem.programs["division"].to_numpy()[np.asarray(chosen, dtype=int)]
    counts: dict[str, int] = {}
    for d in div:
        if isinstance(d, str) and d:
            counts[d] = counts.get(d, 0) + 1
    ranked = sorted(counts, key=lambda d: (-counts[d], d))
    return tuple(ranked[: problem.max_divisions])


def _signals(problem: Problem, order) -> dict[int, str]:
    """Signals for the listed programs in ``order`` (gold before silver), within the
    available counts per (specialty, kind); empty when the problem has no signals."""
    if not problem.has_signals:
        return {}
    left = {k: v for k, v in problem.signals_available.items() if v > 0 and k[1] in problem.p_signal}
    out: dict[int, str] = {}
    kinds = [k for k in ("gold", "silver") if k in problem.p_signal]
    for i in order:
        sname = problem.specialties[int(problem.spec[i])]
        for kind in kinds:
            if left.get((sname, kind), 0) > 0:
                out[int(i)] = kind
                left[(sname, kind)] -= 1
                break
    return out


# ---------------------------------------------------------------------- the seed guide
@dataclass(frozen=True)
class GuideRule:
    """One of the seed guide's tier rules: how many programs per tier group, in the order
    the guide lists them.  Groups: "la" (tier 1), "west" (tier 2), "elsewhere" (tier 3),
    "midwest_south" (tier 3 in the Census Midwest or South regions).  Leftover quota (a
    group with too few eligible programs) goes to the last group, then to any tier-3
    program."""

    name: str
    quotas: tuple[tuple[str, int], ...]
    note: str

    @property
    def total(self) -> int:
        return sum(q for _, q in self.quotas)


GUIDE_RULES: dict[str, GuideRule] = {
    "strong": GuideRule("strong", (("la", 25), ("west", 30), ("elsewhere", 45)),
                        "70-100 programs (upper end: 100); LA/SoCal 20-25 (25); West outside LA 20-30 (30); "
                        "the rest national IMG-friendly (45)"),
    "moderate": GuideRule("moderate", (("la", 12), ("west", 15), ("midwest_south", 65)),
                          "LA at most 10-15 (12); West outside LA 10-20 (15); Midwest/South 50-80 (65); "
                          "92 in all (midpoints)"),
    "below_average": GuideRule("below_average", (("la", 5), ("west", 15), ("elsewhere", 80)),
                               "LA 'a small handful' (5); the guide gives no total or West figure for this "
                               "profile: 100 in all, 15 West (our choice), the rest national IMG-friendly"),
}


def _group_members(problem: Problem, group: str) -> np.ndarray:
    tier = _tiers(problem)
    if group == "midwest_south":
        reg = _regions(problem)
        return np.nonzero((tier == "elsewhere") & np.isin(reg, ["Midwest", "South"]))[0]
    return np.nonzero(tier == group)[0]


def _interleave(seqs: list[np.ndarray], quotas: list[int]) -> list[int]:
    """Merge per-group sequences so that every prefix holds each group in proportion to
    its quota (stride scheduling: next is the group with the smallest (taken + 0.5) / quota)."""
    taken = [0] * len(seqs)
    out: list[int] = []
    for _ in range(sum(quotas)):
        best, key = -1, np.inf
        for g, q in enumerate(quotas):
            if taken[g] < q:
                k = (taken[g] + 0.5) / q
                if k < key - 1e-12:
                    best, key = g, k
        out.append(int(seqs[best][taken[best]]))
        taken[best] += 1
    return out


def guide(problem: Problem, rule: GuideRule | str, *, rng=None) -> Plan:
    """The seed guide's tier rule ``rule`` (a :class:`GuideRule` or a key of
    :data:`GUIDE_RULES`), picking within tiers in adviser order (never by the model's p)."""
    rule = GUIDE_RULES[rule] if isinstance(rule, str) else rule
    fill = _Fill(problem)
    groups = [g for g, _ in rule.quotas]
    seqs = [adviser_order(problem, np.setdiff1d(_group_members(problem, g), np.nonzero(fill.taken)[0]))
            for g in groups]
    quotas = [min(q, len(s)) for (_, q), s in zip(rule.quotas, seqs)]
    short = rule.total - sum(quotas)
    quotas[-1] = min(quotas[-1] + short, len(seqs[-1]))
    order = _interleave(seqs, quotas)
    used = set(order)
    # overflow (quota short or LA programs dropped by the cap): tier 3, then tier 2
    overflow = [int(i) for g in ("elsewhere", "west")
                for i in adviser_order(problem, _group_members(problem, g)) if int(i) not in used]
    fill.run(order + overflow, rule.total)
    fill.pad_to_min()
    # signals: a third to California programs on the list, the rest IMG-friendly elsewhere
    on = adviser_order(problem, np.array(fill.chosen, dtype=int))
    ca = problem.programs["state"].to_numpy().astype(str)[on] == "CA"
    n_sig = sum(v for v in problem.signals_available.values()) if problem.has_signals else 0
    k_ca = int(round(n_sig / 3))
    sig_order = [*on[ca][:k_ca], *on[~ca], *on[ca][k_ca:]]
    return fill.plan(sig_order)


def guide_strong(problem: Problem, *, rng=None) -> Plan:
    """Seed guide, strong applicant: 100 programs, 25 LA, 30 West outside LA, 45 national."""
    return guide(problem, "strong")


def guide_moderate(problem: Problem, *, rng=None) -> Plan:
    """Seed guide, moderate applicant: 12 LA, 15 West outside LA, 65 Midwest/South."""
    return guide(problem, "moderate")


def guide_below_average(problem: Problem, *, rng=None) -> Plan:
    """Seed guide, below-average applicant: 5 LA, 15 West, 80 national IMG-friendly."""
    return guide(problem, "below_average")


# ---------------------------------------------------------------------- simple orders
def la_only(problem: Problem, *, rng=None) -> Plan:
    """Greater-LA programs only (adviser order); when the LA cap blocks the next LA program,
    the fewest non-LA programs (West first, then elsewhere, adviser order) that make room."""
    fill = _Fill(problem)
    la_seq = adviser_order(problem, np.nonzero(problem.la & ~fill.taken)[0])
    tier = _tiers(problem)
    room = [int(i) for g in ("west", "elsewhere")
            for i in adviser_order(problem, np.nonzero((tier == g) & ~problem.la & ~fill.taken)[0])]
    r = 0
    for i in la_seq:
        i = int(i)
        while fill.blocked(i) == "la" and r < len(room):
            j = room[r]
            r += 1
            if fill.blocked(j) is None:
                fill.add(j)
        if fill.blocked(i) is None:
            fill.add(i)
        elif fill.blocked(i) in ("count", "la"):
            break
    fill.pad_to_min()
    return fill.plan([*la_seq, *room])


def top_n(problem: Problem, *, rng=None) -> Plan:
    """Highest model probability first (ties by program_id), as many as fit."""
    order = np.lexsort((_ids(problem), -problem.p))
    fill = _Fill(problem)
    fill.run(order)
    fill.pad_to_min()
    return fill.plan()


def prestige(problem: Problem, *, rng=None) -> Plan:
    """University programs first, then county, then community; within a setting the most
    selective (lowest img_share) first.  As many as fit."""
    order = np.lexsort((_ids(problem), _img_share(problem), _setting_rank(problem, SETTING_RANK_PRESTIGE)))
    fill = _Fill(problem)
    fill.run(order)
    fill.pad_to_min()
    return fill.plan()


def random_list(problem: Problem, *, rng=None) -> Plan:
    """A uniformly random order (``numpy.random.default_rng(0)`` when ``rng`` is None), as
    many as fit.  The same seed gives the same order, so lists nest as the budget grows."""
    rng = np.random.default_rng(0) if rng is None else rng
    order = rng.permutation(problem.n)
    fill = _Fill(problem)
    fill.run(order)
    fill.pad_to_min()
    return fill.plan()


def cheapest(problem: Problem, *, rng=None) -> Plan:
    """Repeatedly add the program with the smallest marginal fee (ERAS tier of its specialty
    plus fee_extra), ties in adviser order, while one fits."""
    fill = _Fill(problem)
    rank = _adviser_rank(problem)
    while len(fill) < problem.max_apps:
        idx = np.nonzero(~fill.taken)[0]
        if not len(idx):
            break
        ok = _fits(fill, idx)
        if not ok.any():
            break
        idx = idx[ok]
        fee = fill.marginal_fees(idx)
        fill.add(int(idx[np.lexsort((rank[idx], fee))[0]]))
    fill.pad_to_min()
    return fill.plan()


def _fits(fill: _Fill, idx: np.ndarray) -> np.ndarray:
    """Vectorized :meth:`_Fill.blocked` is None for candidates ``idx`` (not taken)."""
    pr = fill.pr
    n = len(fill) + 1
    ok = fill.cost + fill.marginal_fees(idx) <= pr.budget + 1e-9
    if n < pr.min_apps:  # keep enough budget for min_applications
        ok &= np.array([fill.cost + fill.marginal_fee(int(i)) + fill.reserve(int(i)) <= pr.budget + 1e-9
                        for i in idx], dtype=bool)
    ok &= fill.counts[pr.spec[idx]] + 1 <= fill.hi[pr.spec[idx]]
    ok &= ~(pr.la[idx] & (fill.n_la + 1 > pr.la_share_max * n + 1e-9))
    return ok & (n <= pr.max_apps)


# ---------------------------------------------------------------------- greedy
def _greedy_order(problem: Problem, *, per_dollar: bool = True, candidates: np.ndarray | None = None) -> list[int]:
    w = problem.node_weights()
    cand = np.arange(problem.n) if candidates is None else np.asarray(candidates, int)
    F = np.exp(problem.log_fail_matrix("plain", cand))  # (K, m): P(fail | node) per program
    prod = np.ones(len(w))
    fill = _Fill(problem)
    for i in problem.must:
        hit = np.nonzero(cand == i)[0]
        if len(hit):
            prod = prod * F[:, hit[0]]
    avail = ~fill.taken[cand]
    while len(fill) < problem.max_apps:
        j_av = np.nonzero(avail)[0]
        if not len(j_av):
            break
        ok = _fits(fill, cand[j_av])
        if not ok.any():
            # a non-LA program may be needed before another LA one fits; nothing else helps
            break
        base = float(np.dot(w, prod))
        g = base - (w * prod) @ F[:, j_av]  # P(none) falls by this much
        if problem.objective == "p_match" and np.max(g[ok]) <= 1e-15 and len(fill) >= problem.min_apps:
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


def greedy_builder(problem: Problem, *, rng=None) -> Plan:
    """:func:`greedy` as a benchmark builder: padded to min_applications; signals (if
    modelled) in the order the programs were chosen."""
    fill = _Fill(problem)
    for i in _greedy_order(problem):
        if not fill.taken[i]:
            fill.add(i)
    fill.pad_to_min()
    return fill.plan()


BUILDERS: dict[str, Builder] = {
    "guide_strong": guide_strong,
    "guide_moderate": guide_moderate,
    "guide_below_average": guide_below_average,
    "la_only": la_only,
    "top_n": top_n,
    "cheapest": cheapest,
    "prestige": prestige,
    "random": random_list,
    "greedy": greedy_builder,
}
"""Every heuristic builder by name, in the order tables show them."""

GUIDE_METHODS = ("guide_strong", "guide_moderate", "guide_below_average")


# ---------------------------------------------------------------- local search
def local_search(problem: Problem, plan: Plan, candidates: np.ndarray | None = None, *,
                 max_moves: int = 500) -> Plan:
    """Best-improvement local search from ``plan`` on P(match): add one program, drop one,
    or swap one for another of the same specialty, whichever lowers P(no match) most while
    every limit still holds (budget with exact fees, counts, specialty limits, LA share;
    must_apply programs stay).  Plain lists only (no signals or divisions: the plan is
    returned unchanged otherwise).  Used to give the integer program a near-optimal first
    list and tangent rows close to the optimum; the result is never worse than ``plan``."""
    if problem.has_signals or problem.has_geo or problem.objective != "p_match":
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
