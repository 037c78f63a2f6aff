"""The figure to plan on: the one number a user should act on (README, "Data honesty").

The lowest of a list's range's 10th percentile over the plausible models, its figure in a
season like the worst published one, the published-curve check's upper end when it lies below
that percentile, for a Step 2 CK below the calibration cohort's mean, the list's P(match)
under the score check (:mod:`allocator.verification.scorecheck`), and, for a list holding more
programs at the IMG-share cap than the calibration cohort's lists, its P(match) under the
IMG-share cap check (:mod:`allocator.verification.capcheck`).  `solve`, `simulate`, the
sweep and frontier rows (:func:`plan_row`), the season update (``allocator.season.planfig``)
and the web page all take it from :func:`plan_figure`.
"""
from __future__ import annotations


def plan_figure(interval, worst_season: dict | None, curve, score_check: dict | None = None,
                timing_fast: float | None = None, cap_check: dict | None = None) -> dict | None:
    """The one figure to plan on (README, "Data honesty"): the lowest of the range's 10th
    percentile, the figure for the worst published season, when it lies below that
    percentile the upper end of the published-curve check, and, for a Step 2 CK below the
    calibration cohort's mean, the list's P(match) under the score check (``score_check``:
    :func:`allocator.verification.scorecheck.check`; above the mean it is a note, not a figure
    to plan on), for a list beyond the calibration cohort's share at the IMG-share cap its
    P(match) under the IMG-share cap check (``cap_check``: :func:`allocator.verification.capcheck.check`),
    and in the interview season P(match) now with the judged timing curves at their
    pessimistic corner (``timing_fast``: invitations sent fast and few rejections sent, where
    silence weighs most; :mod:`allocator.season.timingband`).  None without a range over plausible models (the
    warnings say why).
    ``{"p_match", "from"}``."""
    if interval is None:
        return None
    found = [(float(interval[0]), "the 10th percentile of the plausible models")]
    if worst_season and worst_season.get("p_match") is not None:
        found.append((float(worst_season["p_match"]), f"a season like {worst_season.get('season')}"))
    if curve is not None and curve[1] < interval[0]:
        found.append((float(curve[1]), "the published-curve check's upper end"))
    if score_check is not None and score_check.get("direction") == "below":
        found.append((float(score_check["p_match"]), SCORE_CHECK))
    if cap_check is not None and cap_check.get("p_match") is not None:
        found.append((float(cap_check["p_match"]), CAP_CHECK))
    if timing_fast is not None:
        found.append((float(timing_fast), TIMING_FAST))
    value, source = min(found, key=lambda x: x[0])
    return {"p_match": value, "from": source}


SCORE_CHECK = "the Step 2 CK score check"  # plan_figure's "from" for the score check's figure
CAP_CHECK = "the IMG-share cap check"  # plan_figure's "from" for the IMG-share cap check's figure
#: plan_figure's "from" for P(match) now at the timing curves' pessimistic corner
TIMING_FAST = ("the average of the plausible models with invitations sent fast and few rejections sent, the "
               "pessimistic ends of the judged timing curves")


#: the sweep and frontier rows' columns for the figure to plan on (:func:`plan_row`)
PLAN_COLUMNS = ["p_match_published_curve", "p_match_plan", "p_match_plan_from"]


def list_checks(problem, plan, m) -> tuple[tuple[float, float] | None, dict | None, dict | None]:
    """The three checks of a list that feed its figure to plan on, as solve, simulate and the
    sweep rows all take them: the published-curve check (exact:
    :func:`allocator.verification.published_curve.exact`; None under the copula), the Step 2
    CK score check (:func:`allocator.verification.scorecheck.check`; None for a score at or above
    the cohort's mean within one standard deviation, or without a score-check file) and the
    IMG-share cap check (:func:`allocator.verification.capcheck.check`; None for a list within the
    cohort's share at the cap, or without a cap-check file)."""
    from allocator.verification import capcheck
    from allocator.verification.published_curve import exact
    from allocator.verification.scorecheck import check

    return exact(problem, plan), check(problem, plan, m.p_match_central), capcheck.check(problem, plan, m.p_match_central, m)


def plan_row(problem, plan, m) -> dict:
    """A sweep or frontier row's :data:`PLAN_COLUMNS` for ``plan`` with metrics ``m``: the
    published-curve check ([low, high]; None under the copula), the figure to plan on (the
    score check and the IMG-share cap check among its figures)
    (:func:`plan_figure` of :func:`list_checks`, the rule `solve` uses; None without a range over
    plausible models) and where it comes from ("" then)."""
    curve, sc, cc = list_checks(problem, plan, m)
    fig = plan_figure(m.p_match_interval, m.p_match_worst_season, curve, sc, cap_check=cc)
    return {"p_match_published_curve": None if curve is None else list(curve),
            "p_match_plan": None if fig is None else fig["p_match"], "p_match_plan_from": "" if fig is None else fig["from"]}
