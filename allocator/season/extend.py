"""Additional applications now, chosen exactly under the posterior.

P(no match | answers, extra list y) = sum_k pi_k C_k prod_{j in y} (1 - p'_j(z_k)), with
C_k = prod_{i applied} c_ik the outcome-conditioned factor of the applications already sent:
a finite mixture over the same nodes with weights pi_k C_k.  So the problem handed to the
ordinary optimizer (count scan or outer-approximation integer program) is the original one
with those node weights, the applied programs fixed on the list with no further chance
(p = 0: their chance is inside C_k), ERAS fees counted over the whole list (so new
applications continue from the tier already reached in each specialty), the LA cap over
the whole list and only the signals not yet spent.

A late application competes for the invitations a program still has to send: its
P(interview) is the model's times 1 - F(today) (the timing curve; a choice).  Under the
two-stage model that scales P(interview | node) and the mixture is the model's own nodes with
weights pi_k C_k; under the one-factor copula P(success) is scaled and the copula applied as
usual.  Either way the optimizer sees an ordinary mixture and stays exact.  Programs in the
divisions the season file declares as the geographic preference keep that advantage.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from allocator.errors import InputError
from allocator.model.copula import Nodes
from allocator.optim import feasibility
from allocator.optim.evaluate import evaluate
from allocator.optim.problem import Problem
from allocator.season import posterior as post
from allocator.season.update import Context
from allocator.status import Status

# The verdict is a price: an extra list is "worth it" when it buys at least WORTH_PER_100 of
# P(match) per extra $100 (0.2 points: a judgement, about the rate at which a typical list's
# budget curve flattens into its last applications).  The size of the gain does not enter it,
# so the same rate gets the same verdict at $300 as at $600; a gain under SMALL_TOTAL in all
# is said to be small.
WORTH_PER_100 = 0.002
SMALL_TOTAL = 0.01


def additional_problem(ctx: Context, add_budget: float, max_add: int | None) -> Problem:
    pr = ctx.problem
    fixed = np.zeros(pr.n, bool)
    fixed[ctx.idx] = True
    late = 1.0 - ctx.F
    scale = lambda v: np.where(fixed, 0.0, v * late)  # noqa: E731
    avail = {}
    for key, k in pr.signals_available.items():
        left = k - ctx.spent.get(key, 0)
        if left > 0:
            avail[key] = left
    applied = np.sort(ctx.idx)
    la_cap = pr.la_share_max
    n_la, n0 = int(pr.la[applied].sum()), len(applied)
    never = np.zeros(pr.n, bool)
    if la_cap < 1 and n_la > la_cap * n0 + 1e-9:  # already above the cap: no new LA program, nothing forced
        never = pr.la & ~fixed
        la_cap = 1.0
    C = np.exp(np.log(np.clip(ctx.c, 1e-300, 1.0)).sum(axis=1))
    common = dict(signals_available=avail, p_geo=None, p_signal_geo={}, max_divisions=0,
                  budget=pr.list_cost(applied)[0] + float(add_budget),
                  max_apps=n0 + (int(max_add) if max_add is not None else pr.n), min_apps=0, la_share_max=la_cap,
                  objective="p_match", must=tuple(int(i) for i in applied), spec_min={}, spec_max={})
    if pr.fm is not None:
        return _mixture_problem(ctx, pr, fixed | never, late, ctx.pi * C, avail, common)
    on = _declared(ctx)
    pick = (lambda plain, geo: plain if geo is None else np.where(on, geo, plain))  # noqa: E731
    p = np.where(never, 0.0, scale(pick(pr.p, pr.p_geo)))
    p_signal = {k: np.where(never, 0.0, scale(pick(v, pr.p_signal_geo.get(k)))) for k, v in pr.p_signal.items()}
    nodes = pr.nodes()
    return dataclasses.replace(
        pr, p=p, q=np.where(never, 0.0, scale(pr.q)), p_signal=p_signal if avail else {},
        fixed_nodes=Nodes(nodes.z, ctx.pi * C, nodes.rho), fm=None, fm_ensemble=None, fm_central=None, **common)


def _declared(ctx: Context) -> np.ndarray:
    """Candidates in the divisions the season file declares (the geographic preference sent)."""
    pr = ctx.problem
    if not ctx.plan.divisions:
        return np.zeros(pr.n, bool)
    return np.isin(pr.division_array, list(ctx.plan.divisions))


def _mixture_problem(ctx: Context, pr: Problem, off: np.ndarray, late: float, weights: np.ndarray, avail: dict,
                     common: dict) -> Problem:
    """The two-stage additional problem: the model's nodes weighted pi_k C_k, P(interview)
    scaled by ``late``, no chance at the programs already applied to (or barred: ``off``),
    the declared geographic preference folded into every variant."""
    fm, on = pr.fm, _declared(ctx)
    kinds = ["plain", *(k for k in pr.p_signal if avail)]
    eta = {}
    for v in kinds:
        g = "geo" if v == "plain" else f"{v}_geo"
        e = np.where(on[None, :], fm.eta[g], fm.eta[v]) if on.any() and g in fm.eta else fm.eta[v]
        eta[v] = np.where(off[None, :], -np.inf, e)  # expit(-inf) = 0: no further chance there
    fm2 = fm.conditioned(weights, eta, late)
    post_marginal = (lambda v: ctx.pi @ fm2.success(v))  # noqa: E731  P(success) now, per program
    p_signal = {k: post_marginal(k) for k in kinds[1:]}
    p = post_marginal("plain")
    return dataclasses.replace(pr, p=p, q=np.maximum(ctx.pi @ fm2.pi("plain"), p), p_signal=p_signal, fm=fm2,
                               fm_ensemble=None, fm_central=None, fixed_nodes=None, **common)


def additional(ctx: Context, add_budget: float, max_add: int | None, p_now: float, engine: str = "highs") -> dict:
    """The best extra applications within ``add_budget`` USD (and ``max_add`` programs)."""
    from allocator.api import optimize  # the one optimization pipeline (count scan or MILP)

    if not add_budget >= 0:  # NaN too
        raise InputError(f"--add-budget {add_budget}: must be a number >= 0 (USD)")
    if max_add is not None and max_add < 0:
        raise InputError(f"--max-add {max_add}: must be >= 0")
    pr2 = additional_problem(ctx, add_budget, max_add)
    if p_now >= ROUNDS_TO_100:  # at most 0.05 points to gain: nothing a solver should be asked to rank
        return _nothing_to_gain(ctx, pr2, p_now, add_budget)
    out = optimize(pr2, "p_match", budget=pr2.budget, engine=engine)
    if out.status not in (Status.OPTIMAL, Status.FEASIBLE) or out.plan is None:
        raise InputError(f"no additional list fits --add-budget {add_budget:g} (solver: {out.status.value})")
    bad = feasibility.violations(pr2, out.plan)
    if bad:
        raise AssertionError(f"additional list breaks {bad[0][0]}: {bad[0][1]}")
    applied = set(int(i) for i in ctx.idx)
    new = [i for i in out.plan.idx if i not in applied]
    sig = dict(out.plan.signals)
    p_eff = dict(zip(out.plan.idx, pr2.effective_p(out.plan)))
    rows, col = [], pr2.candidates.column
    for i in sorted(new, key=lambda i: (-p_eff[i], pr2.ids[i])):
        rows.append({"program_id": col("program_id")[i], "name": col("name")[i], "specialty": col("specialty")[i],
                     "city": col("city")[i], "state": col("state")[i], "p_match": float(p_eff[i]),
                     "la_area": bool(col("la_area")[i]), "tier": col("tier")[i], "signal": sig.get(i)})
    cost = pr2.list_cost(out.plan.idx)[0] - pr2.list_cost(sorted(applied))[0]
    # valued over the weighted nodes pi_k C_k: with independent outcomes (correlation 0) the
    # optimizer's own objective leaves out that factor (the same list is best either way)
    after = float(evaluate(pr2, out.plan, correlations=()).p_match)
    solver = {"path": out.path, "engine": out.engine, "gap": out.gap, "wall_seconds": out.wall}
    return _summary(ctx, pr2, out.plan, rows, cost, after, p_now, add_budget, solver,
                    interval=after_range(ctx, pr2, out.plan), max_add=max_add, advice=_none_left(ctx, rows))


# P(match) from which the report's 100.0% is the figure (one decimal): more applications could add at
# most 0.05 points, so the verdict is "not needed" (80 interviews under the lowest-cap models leave ~1e-6)
ROUNDS_TO_100 = 0.9995
LATE_NONE = 0.005  # below this late factor (1 - share of invitations sent), a new application gets no interview


def _none_left(ctx: Context, rows: list) -> str | None:
    """The advice when nothing can be added to any effect: the invitation season is over (a late
    application's chance is scaled by 1 - F(today), about 0), every program left is in Greater LA
    and the LA cap takes no more, or every eligible program of the catalog is on the list already
    (a catalog of a few dozen rows); a larger budget helps none of them."""
    if rows:
        return None
    if 1.0 - ctx.F < LATE_NONE:
        return (f"no application sent now can help: programs have sent about {100 * ctx.F:.0f}% of their invitations "
                "by this date, so a new one would get no interview; a larger budget does not change that")
    applied = set(int(i) for i in ctx.idx)
    left = [i for i in range(ctx.problem.n) if i not in applied]
    pr = ctx.problem
    n_la = int(sum(bool(pr.la[i]) for i in applied))
    capped = n_la + 1 > pr.la_share_max * (len(applied) + 1) + 1e-9  # one more LA program breaks the cap
    if left and capped and all(pr.la[i] for i in left):
        return (f"no program can be added: every eligible program left is in Greater LA, and the LA cap "
                f"(la_share_max {pr.la_share_max:g}) allows no more on this list; raise la_share_max to add them")
    if left:
        return None
    return (f"no program is left to add: all {ctx.problem.n} eligible programs of the catalog are on your list "
            "already; add programs to the catalog (or a specialty to your profile's specialties) to send more")


def _nothing_to_gain(ctx: Context, pr2: Problem, p_now: float, add_budget: float) -> dict:
    """The extra list when P(match) is already 1 under the model, or rounds to 100.0% (an interview
    held at a program whose P(match | interview) is 1, or many interviews): none, with the verdict in words."""
    solver = {"path": "none", "engine": "", "gap": 0.0, "wall_seconds": 0.0}
    if p_now >= 1.0 - 1e-12:
        why = ("a catalog's own p_match treats an interview there as a sure match" if ctx.problem.fm is None else
               "with this many interviews every applicant type the model keeps matches")
        advice = f"not needed: under this model your P(match) is already 100%, so no extra application can raise it ({why})"
    else:
        advice = (f"not needed: under this model your P(match) rounds to 100.0%, so extra applications could add at "
                  f"most {100 * (1.0 - p_now):.2g} points")
        if ctx.problem.fm is not None:
            advice += " (with this many interviews every applicant type the model keeps matches, or nearly)"
    return _summary(ctx, pr2, ctx.plan, [], 0.0, p_now, p_now, add_budget, solver, advice=advice)


def _summary(ctx: Context, pr2: Problem, plan, rows: list, cost: float, after: float, p_now: float,
             add_budget: float, solver: dict, *, interval=None, advice: str | None = None,
             max_add: int | None = None) -> dict:
    """The ``add`` part of the update: the rows added, their cost, P(match) after and the verdict."""
    gain = after - p_now
    per100 = _per_100(gain, cost)
    worth = bool(rows) and gain > 0 and per100 >= WORTH_PER_100
    return {"selected": rows, "n_added": len(rows), "cost": float(cost), "add_budget": float(add_budget),
            "p_match_after": after, "p_match_after_interval": interval, "gain": gain, "gain_per_100": per100,
            "worth_it": worth, "late_factor": 1.0 - ctx.F,
            "advice": advice or _advice(bool(rows), worth, gain, cost, per100, float(add_budget), max_add),
            "solver": solver, "_plan": plan, "_problem": pr2}


def judge_on_plan(add: dict, plan_now: dict | None) -> None:
    """Weigh the extra list's gain on the figure to plan on too (``add.p_match_after_plan``
    against ``plan_now``, the update's own): ``gain_plan`` and ``gain_per_100_plan`` (None
    without both figures or without a new program), and the verdict is "worth it" when either
    gain clears the price, so a gain that only the lower figure shows is not called too dear
    (the applicant who plans on that figure is the one who needs it)."""
    after = add.get("p_match_after_plan")
    add["gain_plan"] = add["gain_per_100_plan"] = None
    if not add["selected"] or plan_now is None or after is None:
        return
    gain = after["p_match"] - plan_now["p_match"]
    per100 = _per_100(gain, add["cost"])
    add["gain_plan"], add["gain_per_100_plan"] = gain, per100
    if not add["worth_it"] and gain > 0 and per100 >= WORTH_PER_100:
        add["worth_it"] = True
        add["advice"] = (f"worth it: +{_points(gain)} points on the figure to plan on for ${add['cost']:,.0f} "
                         f"(+{_rate(per100)} per $100; +{_points(add['gain'])} on the average){_small(gain)}")


def _per_100(gain: float, cost: float) -> float:
    """The gain per extra $100 (0 when nothing was spent)."""
    return gain / cost * 100 if cost > 0 else 0.0


def _points(gain: float) -> str:
    """A gain in percentage points: one decimal, two under a point ("0.37")."""
    return f"{100 * gain:.1f}" if abs(gain) >= SMALL_TOTAL else f"{100 * gain:.2f}"


def _rate(per100: float) -> str:
    """Points per $100 at the precision the verdict needs: two decimals, more where fewer would
    round across WORTH_PER_100 (0.198 is not "0.20", 0.19996 not "0.200")."""
    for digits in range(2, 7):
        shown = f"{100 * per100:.{digits}f}"
        if (float(shown) >= 100 * WORTH_PER_100) == (per100 >= WORTH_PER_100):
            return shown
    return shown


def _small(gain: float) -> str:
    return ", a small gain in all (under one point)" if gain < SMALL_TOTAL else ""


def _advice(any_new: bool, worth: bool, gain: float, cost: float, per100: float, add_budget: float,
            max_add: int | None = None) -> str:
    """The verdict on the extra list in words: worth it (at least WORTH_PER_100 per $100, small
    or not), none allowed (--max-add 0) or none fits the budget, or too dear per $100."""
    if not any_new and max_add == 0:
        return "no additional application: --max-add is 0, which allows none; raise it to add some"
    if not any_new:
        return f"no additional program fits within ${add_budget:,.0f}: raise the extra budget"
    if worth:
        return f"worth it: +{_points(gain)} points for ${cost:,.0f} (+{_rate(per100)} per $100){_small(gain)}"
    return (f"sending more is not worth it at this price: +{_points(gain)} points for ${cost:,.0f} is "
            f"{_rate(per100)} points per $100, below the {100 * WORTH_PER_100:.1f} the tool calls worth it; the first "
            "applications added are the likeliest, so a smaller extra budget may buy more per dollar")


def after_range(ctx: Context, pr2: Problem, plan) -> list[float] | None:
    """10th-90th percentile over the ensemble's cards of P(match) with the extra list: each card's
    nodes k carry pi_k C_k (the answers so far) times prod over the new programs of (1 - their
    chance now), normalized by the card's own posterior mass, and each card weighted by that mass,
    as the range of P(match) now is (so P(match) after, their average, lies in it).
    None without a two-stage ensemble of two cards or more."""
    fe, fm2 = ctx.problem.fm_ensemble, pr2.fm
    if fm2 is None or fe is None or fe is not ctx.problem.fm or fe.n_cards < 2:
        return None
    succ = pr2._by_variant(plan, fm2, fm2.success)  # (K, m); the programs already sent have no chance here
    no = fm2.w * np.exp(np.log(np.clip(1.0 - succ, 1e-300, 1.0)).sum(axis=1))
    num = np.bincount(fm2.card, weights=no, minlength=fe.n_cards)
    den = np.bincount(fm2.card, weights=ctx.pi, minlength=fe.n_cards)
    on = den > 0
    return post.spread(1.0 - num[on] / den[on], den[on])
