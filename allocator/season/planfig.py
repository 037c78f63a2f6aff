"""The figures to plan on in the interview season (the rule of `solve`,
:func:`allocator.verification.planfigure.plan_figure`), now, before any answer and after the
applications added now, with the Step 2 CK score check each of them takes (and, before any
answer, the IMG-share cap check of the list as sent)."""
from __future__ import annotations

import numpy as np

from allocator.optim.problem import Plan
from allocator.season import posterior as post
from allocator.season.update import Context, node_model, prob, season_order


def score_check(ctx: Context, p_central_before: float | None) -> dict | None:
    """The Step 2 CK score check of the season (:mod:`allocator.verification.scorecheck`): the
    list's P(match) under the score-check model before any answer (``p_match_before``, what
    `solve` gives for the list) and now (``p_match``: that model's nodes conditioned on the
    answers, as the update conditions its own), each beside the central card's
    (``p_match_before_central``, ``p_match_central``).  None when `solve` would have no check
    (a score at or above the cohort's mean within one standard deviation, the one-factor
    copula, no score-check file)."""
    from allocator.verification import scorecheck

    pr = ctx.problem
    before = scorecheck.check(pr, ctx.plan, p_central_before)
    if before is None:
        return None
    sc_card, _ = scorecheck.load(pr.card)
    none = Plan.of(())  # nothing added: P(match) now under each model
    return before | {"p_match_before": prob(before["p_match"]), "p_match_before_central": prob(before["p_match_central"]),
                     "p_match": p_match_after(ctx, scorecheck.factor_model(pr, sc_card), none, 1.0),
                     "p_match_central": p_match_after(ctx, pr.fm_central, none, 1.0),
                     "subject": "P(match) now, given your answers,"}


def cap_check_now(ctx: Context, before: dict | None) -> dict | None:
    """The IMG-share cap check now (:mod:`allocator.verification.capcheck`): the list's P(match)
    under the cap-check model with its nodes conditioned on the answers, as the update conditions
    its own (``p_match``), beside the central card's now (``p_match_central``); ``before``: solve's
    check of the list as sent (``p_match_before_cap_check``), None when the list has none."""
    if before is None:
        return None
    return _cap_at(ctx, before, Plan.of(()), 1.0, ("cap", "at_cap", "n", "file"))  # nothing added: P(match) now


def _cap_at(ctx: Context, check: dict, new: Plan, late: float, keep: tuple) -> dict:
    """The cap check's P(match) and the central card's with ``new`` added now (:func:`p_match_after`),
    with ``check``'s ``keep`` keys."""
    from allocator.verification import capcheck

    pr = ctx.problem
    fm = capcheck.factor_model(pr, capcheck.load(pr.card)[0])
    return {k: check[k] for k in keep if k in check} | {"p_match": p_match_after(ctx, fm, new, late),
                                                         "p_match_central": p_match_after(ctx, pr.fm_central, new, late)}


def plan_figures(out: dict) -> dict:
    """The figure to plan on now and before any answer (the rule of `solve`,
    :func:`allocator.verification.planfigure.plan_figure`): before, the lowest of the range's 10th
    percentile, a season like the worst published one, the published-curve check below the range,
    the score check below the cohort's mean and the IMG-share cap check for a list beyond the
    cohort's share at the cap (``p_match_before_cap_check``: solve's, for the list as sent); now,
    the same over the figures conditioned on the answers (the cap check's too:
    ``p_match_cap_check``; the worst season has no figure now: the answers are this season's own news),
    and P(match) now with the judged timing curves at their pessimistic corner (invitations
    fast, rejections few: ``p_match_timing_band``'s low end, :mod:`allocator.season.timingband`).
    ``{"p_match_plan": {"p_match", "from"} | None, "p_match_before_plan": ...}``."""
    from allocator.verification.planfigure import plan_figure

    sc = out.get("p_match_score_check")
    sc_before = None if sc is None else sc | {"p_match": sc["p_match_before"]}
    tb = out.get("p_match_timing_band")
    return {"p_match_plan": plan_figure(out.get("p_match_interval"), None, out.get("p_match_published_curve"), sc,
                                        timing_fast=None if tb is None else tb[0],
                                        cap_check=out.get("p_match_cap_check")),
            "p_match_before_plan": plan_figure(out.get("p_match_before_interval"), out.get("p_match_before_worst_season"),
                                               out.get("p_match_before_published_curve"), sc_before,
                                               cap_check=out.get("p_match_before_cap_check"))}


def p_match_after(ctx: Context, fm, new: Plan, late: float) -> float:
    """P(match) after adding the programs of ``new`` now, under the mixture ``fm``: its nodes
    conditioned on the answers (as every figure now is), the new programs' P(interview) scaled
    by ``late`` (the share of invitations still to come), so
    1 - sum_k pi_k prod_{i sent} c_ik prod_{j new} (1 - late pi_j(k) mu_j(k))."""
    pr = ctx.problem
    nm = node_model(pr, ctx.plan, fm).subset(season_order(ctx.plan, ctx.idx))
    pi, c = post.posterior_weights(nm, ctx.obs), post.no_match_factors(nm, ctx.obs)
    if len(new.idx):
        scaled = fm.conditioned(fm.w, fm.eta, late)
        c = np.hstack([c, 1.0 - pr._by_variant(new, scaled, scaled.success)])
    return prob(post.p_match(pi, c))


def after_checks(ctx: Context, sent: Plan, added: list[int], interval, late: float, check_now: dict | None,
                 cap_now: dict | None = None) -> dict:
    """The figure to plan on with the applications added now (``added``, candidate indices, at
    their variant on ``sent``, the whole list): the lowest of the range's 10th percentile after
    (``interval``), the published-curve check on the interviews held, still expected and from
    the new programs, below the range, P(match) with them at the timing curves' pessimistic
    corner, for a Step 2 CK below the cohort's mean the score check after (``check_now``:
    the update's score check, None when the score has none), and the IMG-share cap check after
    when the list as sent has one (``cap_now``: the update's).  ``{"p_match_after_plan",
    "p_match_after_published_curve", "p_match_after_score_check", "p_match_after_cap_check"}``
    (None where there is no such figure)."""
    from allocator.verification import published_curve, scorecheck
    from allocator.verification.planfigure import plan_figure

    pr = ctx.problem
    if pr.fm is None:  # the one-factor copula: no interview stage, no range, no score check
        return {"p_match_after_plan": None, "p_match_after_published_curve": None, "p_match_after_score_check": None,
                "p_match_after_cap_check": None}
    sig = dict(sent.signals)
    new = Plan.of(added, {i: sig[i] for i in added if i in sig}, ctx.plan.divisions)
    scaled = pr.fm.conditioned(pr.fm.w, pr.fm.eta, late)
    r = post.further_interview_probs(ctx.nm, ctx.obs)
    if len(new.idx):
        r = np.hstack([r, pr.plan_pi(new, scaled)])
    have = int(np.sum(ctx.obs.code == post.INVITED))
    curve = published_curve.check(pr.card, post.count_distribution(ctx.pi, r, base=have))
    sc = None
    if check_now is not None:
        sc_fm = scorecheck.factor_model(pr, scorecheck.load(pr.card)[0])
        sc = {"p_match": p_match_after(ctx, sc_fm, new, late),
              "p_match_central": p_match_after(ctx, pr.fm_central, new, late), "direction": check_now["direction"]}
    cc = None if cap_now is None else _cap_at(ctx, cap_now, new, late, ("cap", "file"))
    plan = plan_figure(interval, None, curve, sc, timing_fast=_timing_fast_after(ctx, new), cap_check=cc)
    return {"p_match_after_plan": plan, "p_match_after_published_curve": None if curve is None else [prob(x) for x in curve],
            "p_match_after_score_check": sc, "p_match_after_cap_check": cc}


def _timing_fast_after(ctx: Context, new: Plan) -> float | None:
    """P(match) with the applications ``new`` added now, the judged timing curves at their
    pessimistic corner (invitations at the fast end, rejections at the low end:
    :func:`allocator.season.timingband.ends`): the silence weighed as there, the new programs'
    interview chances scaled by the invitations still to come there (None without a band, or when
    the corners agree today)."""
    from allocator.season.timingband import pessimistic

    low = pessimistic(ctx)
    if low is None:
        return None
    return p_match_after(low, ctx.problem.fm, new, 1.0 - low.F)


def interviews_only(card, n_held: int, interval) -> dict:
    """The published-curve check of P(match) from the ``n_held`` interviews in hand alone (what the
    published curve measures: P(match | N interviews), [lower, upper] as
    :func:`allocator.verification.published_curve.conversion` reads it) and the figure to plan on
    for it (the rule of `solve`: the range's 10th percentile, or the check's upper end below it).
    {} without a curve on the card."""
    from allocator.verification import published_curve
    from allocator.verification.planfigure import plan_figure

    pts = published_curve.curve_points(card)
    if pts is None:
        return {}
    n = np.array([float(n_held)])
    curve = tuple(float(published_curve.conversion(n, *pts, upper)[0]) for upper in (False, True))
    fig = plan_figure(interval, None, curve)
    return {"p_match_interviews_only_published_curve": list(curve),
            "p_match_interviews_only_published_curve_reading": published_curve.reading_at(card, int(n_held)),
            "p_match_interviews_only_plan": None if fig is None else fig["p_match"],
            "p_match_interviews_only_plan_from": "" if fig is None else fig["from"]}
