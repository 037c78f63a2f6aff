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
  rules (the seed guide's rules); quotas in :data:`GUIDE_RULES`.  Within a
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
their own priority order.  When the problem models a geographic preference, every builder
names the Census divisions that hold the most programs on its list (up to ``max_divisions``;
:func:`_divisions`).

>>> from allocator.studies.heuristics import BUILDERS  # doctest: +SKIP
>>> plan = BUILDERS["guide_strong"](problem)  # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from allocator.inputs.geography import DIVISION_TO_REGION
from allocator.optim.fill import Fill
from allocator.optim.problem import Plan, Problem
from allocator.optim.start import _greedy_order

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
class _Fill(Fill):
    """:class:`~allocator.optim.fill.Fill` with what the advisers' lists add: padding to
    min_applications in adviser order, and signals and divisions on the finished list."""

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
        ok = fill.fits(idx)
        if not ok.any():
            break
        idx = idx[ok]
        fee = fill.marginal_fees(idx)
        fill.add(int(idx[np.lexsort((rank[idx], fee))[0]]))
    fill.pad_to_min()
    return fill.plan()


# ---------------------------------------------------------------------- greedy
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


