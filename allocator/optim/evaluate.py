"""The one metric function: score any list (the optimizer's, a heuristic's, a user's).

All probabilities are exact expectations over the latent factor (quadrature, see
:mod:`allocator.model.copula`), not simulations.  ``p_match`` is P(at least one success);
``p_match_la`` is P(at least one Greater-LA program on the list succeeds), i.e. the
chance of matching in LA when LA programs are ranked first; ``p_match_west`` is the same
for the whole West (LA and the rest of the West: every tier but "elsewhere"), the chance of
matching in the West when the West is ranked first (the seed guide's order, LA > rest of
the West > elsewhere, gives both at once); ``expected_utility`` is
E[utility of the match] with the best-valued successful program ranked first (0 when
unmatched).  Costs in USD.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from allocator.model.copula import log_fail
from allocator.optim.problem import Plan, Problem


@dataclass(frozen=True)
class Metrics:
    p_match: float
    p_match_independent: float
    p_match_la: float
    expected_utility: float
    cost: float
    cost_by_specialty: dict[str, float]
    n_applications: int
    n_la: int
    rho: float
    by_correlation: dict[float, float] = field(default_factory=dict)
    # the two-stage model's ensemble (None without one): 10th-90th percentile over the
    # accepted cards, the most pessimistic card's value, the central card's value
    p_match_interval: tuple[float, float] | None = None
    p_match_la_interval: tuple[float, float] | None = None
    p_match_west: float | None = None  # P(match in the West, LA included; the West ranked first)
    p_match_west_interval: tuple[float, float] | None = None
    p_match_pessimistic: float | None = None
    p_match_central: float | None = None
    expected_interviews: float | None = None  # under the objective's mixture (the ensemble, or one card)
    expected_interviews_interval: tuple[float, float] | None = None  # 10th-90th percentile over the cards
    # P(match) in a season like the worst published one (the lowest match rate of the card's
    # [calibration.seasons]): {"season", "match_rate", "p_match" (the mean over that season's
    # cards), "cards"}; None unless the ensemble's cards name two or more seasons
    p_match_worst_season: dict | None = None
    # the seed guide's geographic tiers ("la", "west" = rest of the West, "elsewhere"):
    # applications per tier, and the signals sent per tier and kind
    n_by_tier: dict[str, int] = field(default_factory=dict)
    signals_by_tier: dict[str, dict[str, int]] = field(default_factory=dict)
    # P(match) under each plausible model alone (None without a range): what two lists' figures
    # differ by model by model (the trade's range, :func:`allocator.output.trade.trade_sentence`)
    p_match_by_card: tuple[float, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def la_share(self) -> float:
        return self.n_la / self.n_applications if self.n_applications else 0.0

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "p_match_by_card"} | {"la_share": self.la_share}


def by_model(m, alt) -> tuple[float, float] | None:
    """The 10th-90th percentile of P(match) of ``m`` minus that of ``alt`` under each plausible
    model alone (both lists scored under the same model); None without per-model figures.  An
    ``alt`` read back from the JSON carries it as ``by_model`` (its ``difference.p_match_by_model``)."""
    if getattr(alt, "by_model", None) is not None:
        return tuple(alt.by_model)
    a, b = getattr(m, "p_match_by_card", None), getattr(alt, "p_match_by_card", None)
    if a is None or b is None or len(a) != len(b) or len(a) < 2:
        return None
    d = np.asarray(a) - np.asarray(b)
    return float(np.percentile(d, 10)), float(np.percentile(d, 90))


def p_none(problem: Problem, p: np.ndarray, rho: float | None = None, *, small: bool = False) -> float:
    """P(no success) for a list whose programs succeed with probabilities ``p`` (``small``:
    the normal CDF from the standard library, see :func:`allocator.model.copula.log_fail`)."""
    if len(p) == 0:
        return 1.0
    nodes = problem.nodes(rho)
    return float(np.dot(nodes.w, np.exp(log_fail(p, nodes.rho, nodes.z, small=small).sum(axis=1))))


def p_at_least_one(problem: Problem, p: np.ndarray, rho: float | None = None, *, small: bool = False) -> float:
    return 1.0 - p_none(problem, p, rho, small=small)


def expected_utility(problem: Problem, p: np.ndarray, u: np.ndarray, rho: float | None = None) -> float:
    """E[u of the best successful program] = sum_j (u_j - u_{j-1}) P(some program with u >= u_j
    succeeds), over the sorted distinct utility levels u_1 < ... < u_m (u_0 = 0)."""
    levels = np.unique(u[u > 0])
    prev, total = 0.0, 0.0
    for lev in levels:
        total += (lev - prev) * p_at_least_one(problem, p[u >= lev], rho)
        prev = lev
    return float(total)


def mix_none(fm, A: np.ndarray) -> float:
    """P(no success) of a list under the mixture ``fm``, from its log-failure matrix ``A``
    (nodes x programs): sum_k w_k exp(sum_i A[k, i])."""
    # at most 1: node weights that sum to 1 + 2e-16 gave a list with no West program a
    # P(match in the West) of -2.2e-16
    return min(1.0, float(fm.w @ np.exp(A.sum(axis=1))))


def ensemble_values(problem: Problem, plan: Plan) -> dict:
    """P(match) of ``plan`` under every card of the ensemble: the interval, the pessimistic
    and the central card's value, the worst season's mean (empty without a two-stage model;
    the interval, the pessimistic value and the season None with a single card, where there
    is no range over plausible models to give)."""
    fe = problem.fm_ensemble
    if fe is None:
        return {}
    idx = np.asarray(plan.idx, dtype=int)
    la, west = problem.la[idx], in_west(problem)[idx]
    A = problem.plan_log_fail(plan, fe)
    per = np.maximum(0.0, 1.0 - fe.per_card(A.sum(axis=1)))  # not -2e-16 (as mix_none)
    per_la = np.maximum(0.0, 1.0 - fe.per_card(A[:, la].sum(axis=1)))
    per_west = np.maximum(0.0, 1.0 - fe.per_card(A[:, west].sum(axis=1)))
    Ac = problem.plan_log_fail(plan, problem.fm_central)
    fm = problem.fm or problem.fm_central
    pi = problem.plan_pi(plan, fm) if len(idx) else None
    e_int = float((fm.w @ pi).sum()) if len(idx) else 0.0
    out = {"p_match_central": 1.0 - mix_none(problem.fm_central, Ac), "expected_interviews": e_int}
    if fe.n_cards < 2:  # one card (a card without an ensemble): no range over plausible models
        return out | {"p_match_interval": None, "p_match_la_interval": None, "p_match_west_interval": None,
                      "p_match_pessimistic": None, "p_match_by_card": None,
                      "p_match_worst_season": None, "expected_interviews_interval": None}
    per_int = (fe.card_means(pi if fm is fe else problem.plan_pi(plan, fe)).sum(axis=1) if len(idx)
               else np.zeros(fe.n_cards))
    return out | {"p_match_interval": (float(np.percentile(per, 10)), float(np.percentile(per, 90))),
                  "p_match_la_interval": (float(np.percentile(per_la, 10)), float(np.percentile(per_la, 90))),
                  "p_match_west_interval": (float(np.percentile(per_west, 10)), float(np.percentile(per_west, 90))),
                  "p_match_pessimistic": float(per.min()),
                  # only where P(match) is their average (not the copula's figure, nor one card's)
                  "p_match_by_card": tuple(float(x) for x in per) if problem.fm is fe else None,
                  "p_match_worst_season": worst_season(problem, per),
                  "expected_interviews_interval": (float(np.percentile(per_int, 10)),
                                                   float(np.percentile(per_int, 90)))}


def worst_season(problem: Problem, per: np.ndarray) -> dict | None:
    """The per-card values ``per`` averaged over the cards of the season with the lowest
    published match rate (None unless every card names a season and there are two or more).
    Only the worst season is reported: with 7-8 cards a season, the means of seasons whose
    rates differ by a point differ more by their cards' other parameters than by the season."""
    seasons = problem.ensemble_seasons
    spec = getattr(getattr(problem.card, "calibration", None), "seasons", None)
    if spec is None or len(seasons) != len(per) or None in seasons or len(set(seasons)) < 2:
        return None
    worst = min(sorted(set(seasons)), key=lambda k: spec.match_rate[k])  # a tie: the earliest season
    on = np.array([t == worst for t in seasons])
    mean = float(per[on].mean())
    # the season's cards differ from the rest in more than the season: for a profile far from
    # the cohort they can rate the list above the average of all the cards (then it is said)
    return {"season": worst, "match_rate": spec.match_rate[worst], "p_match": mean, "cards": int(on.sum()),
            "above_average": bool(mean > float(per.mean()))}


WEST_COLUMNS = ["p_match_west", "p_match_west_interval"]


def west_row(m: Metrics) -> dict:
    """A table row's :data:`WEST_COLUMNS`: P(match in the West, LA included) and its range."""
    iv = m.p_match_west_interval
    return {"p_match_west": m.p_match_west, "p_match_west_interval": None if iv is None else list(iv)}


def uncertainty(m: Metrics) -> dict:
    """The ensemble figures of a Metrics for a JSON row: interval lists and the pessimistic value."""
    return {"p_match_interval": None if m.p_match_interval is None else list(m.p_match_interval),
            "p_match_la_interval": None if m.p_match_la_interval is None else list(m.p_match_la_interval),
            "p_match_pessimistic": m.p_match_pessimistic}


def evaluate(problem: Problem, plan: Plan | list[int], *, correlations=(0.0, 0.2, 0.4, 0.6)) -> Metrics:
    """Metrics of a list under the problem's model (the objective's node mixture; the
    ``by_correlation`` figures apply the one-factor copula to the same marginal probabilities).

    >>> m = evaluate(problem, Plan.of([0, 3, 7]))  # doctest: +SKIP
    >>> round(m.p_match, 3)  # doctest: +SKIP
    """
    if not isinstance(plan, Plan):
        plan = Plan.of(plan)
    idx = np.asarray(plan.idx, dtype=int)
    p = problem.effective_p(plan)
    la, west = problem.la[idx], in_west(problem)[idx]
    cost, by = problem.list_cost(idx)
    if problem.fm is not None:
        A = problem.plan_log_fail(plan)
        u = problem.utility[idx]
        pm = 1.0 - mix_none(problem.fm, A)
        pla = 1.0 - mix_none(problem.fm, A[:, la])
        pwest = 1.0 - mix_none(problem.fm, A[:, west])
        levels, prev, eu = np.unique(u[u > 0]), 0.0, 0.0
        for lev in levels:
            eu += (lev - prev) * (1.0 - mix_none(problem.fm, A[:, u >= lev]))
            prev = lev
    else:
        pm, pla, pwest = p_at_least_one(problem, p), p_at_least_one(problem, p[la]), p_at_least_one(problem, p[west])
        eu = expected_utility(problem, p, problem.utility[idx])
    return Metrics(
        p_match=pm,
        p_match_independent=p_at_least_one(problem, p, 0.0),
        p_match_la=pla,
        p_match_west=float(pwest),
        expected_utility=float(eu),
        cost=cost,
        cost_by_specialty=by,
        n_applications=len(idx),
        n_la=int(la.sum()),
        rho=problem.rho,
        # the report's rows: a few thousand normal CDFs, without importing scipy.special (0.1 s)
        by_correlation={float(r): p_at_least_one(problem, p, r, small=True) for r in correlations},
        **ensemble_values(problem, plan),
        **dict(zip(("n_by_tier", "signals_by_tier"), tier_counts(problem, plan))),
    )


TIERS = ("la", "west", "elsewhere")


def tiers(problem: Problem) -> np.ndarray:
    """Each candidate's tier: the catalog's ``tier`` column (LA / rest of the West / elsewhere)."""
    return np.asarray(problem.candidates.column("tier")).astype(str)


def in_west(problem: Problem) -> np.ndarray:
    """Each candidate: in the West (Greater LA or the rest of the West), i.e. not "elsewhere"
    (kept with the problem's derived arrays: every evaluation reads it)."""
    if "in_west" not in problem._cache:
        west = tiers(problem) != "elsewhere"
        west.flags.writeable = False
        problem._cache["in_west"] = west
    return problem._cache["in_west"]


def tier_counts(problem: Problem, plan: Plan) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """(applications per tier, signals per tier and kind) of ``plan``; every tier present."""
    t = tiers(problem)
    idx = np.asarray(plan.idx, dtype=int)
    n = {k: int((t[idx] == k).sum()) for k in TIERS}
    sig: dict[str, dict[str, int]] = {k: {} for k in TIERS}
    for i, kind in plan.signals:
        sig[t[int(i)]][kind] = sig[t[int(i)]].get(kind, 0) + 1
    return n, sig


def mode_value(problem: Problem, plan: Plan, mode: str | None) -> float:
    """What a solve in ``mode`` maximizes at ``plan``: P(match in LA) or E[U] at a P(match)
    floor ("la_given_target", "utility_given_target"), else the problem's own objective."""
    if mode in ("la_given_target", "utility_given_target"):
        m = evaluate(problem, plan, correlations=())
        return m.p_match_la if mode == "la_given_target" else m.expected_utility
    return objective_value(problem, plan)


def objective_value(problem: Problem, plan: Plan) -> float:
    """The value the optimizer maximizes for ``plan`` (P(match) or expected utility)."""
    if problem.fm is not None:
        m = evaluate(problem, plan, correlations=())
        return m.expected_utility if problem.objective == "utility" else m.p_match
    p = problem.effective_p(plan)
    if problem.objective == "utility":
        return expected_utility(problem, p, problem.utility[np.asarray(plan.idx, dtype=int)])
    return p_at_least_one(problem, p)
