"""The calibrated-domain guard: does a list lie where the calibration cohort says anything?

The card's ``[calibration.domain]`` records what the synthetic calibration cohort covers
(5th-95th percentile of its list lengths and of its expected interview counts; written by
``benchmarks/calibrate.py``).  A list outside those ranges is an extrapolation of the
model, and so is a list whose P(match) comes mostly from signal and geographic-preference
effects (odds ratios measured on US graduates, uncertain for IMGs).  The applicant is
checked too (Step 2 CK, attempts, years since graduation, specialty), with the Step 2 CK
score check's figure in its warning; what a list is made of is
:mod:`allocator.verification.composition`'s, and the figure to plan on that these checks
feed is :mod:`allocator.verification.planfigure`'s.  Each finding is one line with the
figures, for the report and ``solve --json`` ``warnings``.
"""
from __future__ import annotations

import csv
import functools
import math

from allocator.percent import pct, plan_pct

BONUS_SHARE = 0.5  # "most of P": more than half of P(match) from signals and preferences


def warnings(card, n_applications: int, expected_interviews: float | None, p_match: float,
             p_without_bonuses: float | None) -> list[str]:
    out: list[str] = []
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    if dom:
        lo, hi = dom["applications"]
        if not lo <= n_applications <= hi:
            more = ("; published studies found no link between how many applications applicants send and their "
                    "match rate (Weissbart et al., JGME 2015), so past the cohort's lists more applications may buy "
                    "less than the model says") if n_applications > hi else ""
            apps = f"{n_applications} application{'s' if n_applications != 1 else ''}"
            out.append(f"outside the calibrated domain: {apps}, while the calibration cohort's lists hold "
                       f"{lo:g}-{hi:g}; the probabilities are an extrapolation{more}")
        lo, hi = dom["expected_interviews"]
        if expected_interviews is not None and not lo <= expected_interviews <= hi:
            out.append(f"outside the calibrated domain: {beyond(expected_interviews, lo, hi)} expected interviews, "
                       f"while the calibration cohort expects {lo:.1f}-{hi:.1f}; the probabilities are an extrapolation")
    if p_without_bonuses is not None and p_match > 0:
        gain = p_match - p_without_bonuses
        if gain > BONUS_SHARE * p_match:
            out.append(f"most of this P(match) comes from signal and geographic-preference effects "
                       f"({100 * gain:.1f} of {100 * p_match:.1f} points), whose size for IMGs is uncertain")
    return out


def beyond(x: float, lo: float, hi: float) -> str:
    """``x`` (outside [lo, hi]) with one decimal, or as many more (up to 4) as it takes to read
    apart from the bound it passes: "12.63" beside "12.6", never "12.6 (calibrated 1.2-12.6)"."""
    bound = hi if x > hi else lo
    for digits in range(1, 5):
        if f"{x:.{digits}f}" != f"{bound:.{digits}f}":
            break
    return f"{x:.{digits}f}"


def applicant_warnings(card, applicant, specialties, score_check: dict | None = None) -> list[str]:
    """The applicant's own departures from the calibration cohort (its Step 2 CK range, most
    failed attempts, longest time since graduation, and the specialty of its catalog): the
    model's coefficients still apply there, but nothing checked them, so the range shown is
    narrower than the truth.  One line each, as :func:`warnings`; ``score_check``: a list's
    score check (:func:`score_effect_warnings`)."""
    spec = getattr(getattr(card, "calibration", None), "cohort", None) if card is not None else None
    if spec is None or applicant is None:
        return []
    out: list[str] = []
    tail = "; the probabilities are an extrapolation, less sure than their range says"
    s2 = getattr(applicant, "step2_score", None)
    if s2 is not None and not spec.step2_min <= s2 <= spec.step2_max:
        out.append(f"outside the calibrated domain: Step 2 CK {s2}, while the calibration cohort's scores run "
                   f"{spec.step2_min}-{spec.step2_max}{tail}")
    score, passed = modelled_score(card, applicant)
    out += score_effect_warnings(card, score, score_check, passed=passed)
    most = len(spec.failed_attempts_probs) - 1
    if applicant.exam_attempts > most:
        out.append(f"outside the calibrated domain: {applicant.exam_attempts} failed attempts, while the calibration "
                   f"cohort has at most {most}{tail}")
    oldest = max(spec.years_since_graduation)
    if applicant.years_since_graduation > oldest:
        out.append(f"outside the calibrated domain: {applicant.years_since_graduation:g} years since graduation, "
                   f"while the calibration cohort's run to {oldest:g}{tail}")
    home = calibrated_specialty(spec.catalog)
    other = [x for x in specialties if home is not None and x != home]
    if other:
        out.append(f"not calibrated for {', '.join(other)}: the model was checked on {home} applicants only and is "
                   f"used as is for {'it' if len(other) == 1 else 'them'}, so its range leaves out how "
                   f"{'that specialty differs' if len(other) == 1 else 'those specialties differ'}")
    return out


def usce_warning(card, applicant, p_match: float, p_match_one_month: float | None) -> list[str]:
    """No US clinical experience (``usce_months = 0``): the card's ``[interview.usce_none]``
    multiplies every program's interview odds (x0.37 on the default card, judged x0.14 to x0.74),
    the largest single step of any input, so say so with this list's P(match) and the same
    list's with one month (``p_match_one_month``: re-evaluated with ``usce_months = 1``)."""
    par = getattr(getattr(card, "interview", None), "usce_none", None)
    if par is None or applicant is None or applicant.usce_months > 0 or p_match_one_month is None:
        return []
    given = "" if "usce_months" in applicant.model_fields_set else ", the default when not given"
    judged = (f", judged x{math.exp(min(par.range)):.2f} to x{math.exp(max(par.range)):.2f}"
              if par.range else "")
    return [f"no US clinical experience (usce_months = 0{given}): the model lowers every program's interview odds "
            f"for it (odds x{math.exp(par.value):.2f} on the {getattr(card, 'name', 'model')} card{judged}), so "
            f"this list's P(match) is {pct(p_match)} on average; with one month of US clinical experience "
            f"(usce_months = 1) the same list would give {pct(p_match_one_month)}"]


def score_offset(card, step2_score: int | None, any_below: bool = False) -> float | None:
    """How far ``step2_score`` sits from the calibration cohort's mean (negative below), when
    that is far enough to warn about (:func:`score_effect_warnings`); None otherwise: no score,
    a card without the held-out gap, a gap met (or overshot), or a score within one cohort
    standard deviation of the mean (``any_below``: any score below the mean counts, so the
    score check, which joins the figure to plan on there, moves with the score instead of
    jumping at the warning's threshold)."""
    spec = getattr(getattr(card, "calibration", None), "cohort", None) if card is not None else None
    gap = (getattr(getattr(card, "calibration", None), "holdout", None) or {}).get("step2_median_gap")
    if spec is None or gap is None or gap.achieved is None or step2_score is None:
        return None
    if gap.target <= 0 or gap.achieved >= gap.target - gap.tolerance:  # met (or overshot), or no gap to miss
        return None
    off = step2_score - spec.step2_mean
    return float(off) if abs(off) >= spec.step2_sd or (any_below and off < 0) else None


def modelled_score(card, applicant) -> tuple[float | None, bool]:
    """(the Step 2 CK score the model uses for ``applicant``, whether it stands for a reported
    pass): a pass counts as the card's ``step2_pass_score`` (230 on the default card)."""
    s2 = getattr(applicant, "step2_score", None)
    if s2 is not None or applicant is None:
        return s2, False
    par = getattr(getattr(card, "interview", None), "step2_pass_score", None)
    return (None, False) if par is None else (float(par.value), True)


def score_label(step2_score, passed: bool) -> str:
    """"Step 2 CK 222", or "Step 2 CK reported as pass (counted as 230)"."""
    return f"Step 2 CK reported as pass (counted as {step2_score:g})" if passed else f"Step 2 CK {step2_score:g}"


def score_effect_warnings(card, step2_score: int | None, check: dict | None = None, passed: bool = False) -> list[str]:
    """The held-out Step 2 CK check, applied to the applicant: when the card's score gap between
    matched and unmatched applicants falls short of the published one (``[calibration.holdout.
    step2_median_gap]``: the default card gives 3 points against 6), the model lets the score
    move P(match) too little, so the further a score sits from the calibration cohort's mean
    (where the intercepts pin the match rate) the more its P(match) is off: overstated below,
    understated above.  Flagged from one cohort standard deviation away (236 -+ 12 on the
    default card).  ``check`` (:func:`allocator.verification.scorecheck.check`, for a list) puts
    the list's own figure in: its P(match) under the score check, the central card with both
    Step 2 CK slopes scaled as steeply as every calibration target allows, up to the published
    gap (x2.61 on the default card, gap 5 against 6 +- 2: ``models/default_score_check.json``),
    intercepts re-fitted.  Below the mean
    that figure is one to plan on (:func:`plan_figure`); above it, the safe direction, a note."""
    off = score_offset(card, step2_score)
    if off is None:
        return _near_mean_note(card, step2_score, check, passed)
    spec, gap = card.calibration.cohort, card.calibration.holdout["step2_median_gap"]
    why = (f"the model lets Step 2 CK move P(match) about {gap.achieved / gap.target:.0%} as much as the "
           f"published figures do (median score of matched minus unmatched applicants: {gap.achieved:g} points "
           f"in the model, {gap.target:g} published; a held-out check the model misses)")
    fig = "" if check is None else score_check_figure(check)
    if off < 0:
        head = (f"{score_label(step2_score, passed)} is {-off:g} points below the calibration cohort's mean of "
                f"{spec.step2_mean:g}, and {why}: for a score this low P(match) may be overstated, beyond the range "
                "shown")
        if check is None:
            return [f"{head}; plan below the range, and apply more widely if you can"]
        return [f"{head}. {fig}; plan on at most {plan_pct(check['p_match'])}, and apply more widely if you can"]
    note = "" if check is None else f": {fig[0].lower()}{fig[1:]}"
    return [f"{score_label(step2_score, passed)} is {off:g} points above the calibration cohort's mean of "
            f"{spec.step2_mean:g}, and {why}: for a score this high P(match) may be understated, so the range may "
            f"be cautious (the safe direction){note}"]


def _near_mean_note(card, step2_score, check: dict | None, passed: bool = False) -> list[str]:
    """Within one cohort standard deviation below the mean there is no warning, but the score
    check still joins the figure to plan on: when it lowers the list's P(match) by a point or
    more, one line says by how much."""
    if check is None or check.get("direction") != "below" or check["p_match_central"] - check["p_match"] < 0.01:
        return []
    mean = card.calibration.cohort.step2_mean
    gap = mean - step2_score
    return [f"{score_label(step2_score, passed)} is {gap:g} point{'' if gap == 1 else 's'} below the calibration cohort's "
            f"mean of {mean:g}, where the model lets the score move P(match) less than the published figures do. "
            f"{score_check_figure(check)}; that figure joins the one to plan on"]


LIST_SUBJECT = "this list's P(match)"  # what the score check's figure is of, unless the check names it


def score_check_figure(check: dict) -> str:
    """"Under a model whose Step 2 CK effect is within the published gap's tolerance (...), this
    list's P(match) is 61.2% instead of 72.0% under the central model"."""
    return (f"Under a model whose Step 2 CK effect is within the published gap's tolerance (both score slopes "
            f"x{check['k']:g}, as steep as every calibration target allows, re-fitted to the same match rate: the "
            f"Step 2 CK score check), {check.get('subject', LIST_SUBJECT)} is "
            f"{pct(check['p_match'])} instead of "
            f"{pct(check['p_match_central'])} under the central model")


@functools.lru_cache(maxsize=4)
def calibrated_specialty(catalog: str) -> str | None:
    """The specialty of the calibration cohort's catalog (its first program's), None if unreadable."""
    from allocator.paths import DATA_DIR

    try:
        with open(DATA_DIR / "catalogs" / catalog, encoding="utf-8-sig", newline="") as fh:
            return next(csv.DictReader(fh))["specialty"].strip()
    except (OSError, StopIteration, KeyError):
        return None


def outside(card, n_applications: int, expected_interviews: float | None) -> str:
    """A list's departures from the calibrated domain in a few words for a table cell ("27
    applications (calibrated 46-109)"), "" inside it."""
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    if not dom:
        return ""
    parts = []
    lo, hi = dom["applications"]
    if not lo <= n_applications <= hi:
        parts.append(f"{n_applications} application{'s' if n_applications != 1 else ''} (calibrated {lo:g}-{hi:g})")
    lo, hi = dom["expected_interviews"]
    if expected_interviews is not None and not lo <= expected_interviews <= hi:
        parts.append(f"{beyond(expected_interviews, lo, hi)} expected interviews (calibrated {lo:.1f}-{hi:.1f})")
    return "; ".join(parts)


def domain_note(card) -> str:
    """The footnote under a table whose rows are marked outside the calibrated domain."""
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    span = (f" ({dom['applications'][0]:g}-{dom['applications'][1]:g} applications, "
            f"{dom['expected_interviews'][0]:.1f}-{dom['expected_interviews'][1]:.1f} expected interviews)") if dom else ""
    return (f"^ outside the calibrated domain{span}: the probabilities of that list are an extrapolation "
            "(column outside_domain in the CSV and JSON)")


def copula_warning(p_match: float, interval, rho: float) -> list[str]:
    """When a set correlation makes the one-factor copula the model: a warning if its P(match)
    lies outside the range the calibrated two-stage model gives the same list."""
    if interval is None or interval[0] <= p_match <= interval[1]:
        return []

    side = "above" if p_match > interval[1] else "below"
    return [f"the correlation you set ({rho:g}) gives P(match) {pct(p_match)} under the one-factor copula, "
            f"{side} the {pct(interval[0], 0)} to {pct(interval[1], 0)} that the calibrated two-stage model gives "
            "this list; the published figures do not support that correlation: plan on the range, or leave "
            "the correlation unset"]


def target_warning(p_match: float, interval, pessimistic: float | None, target: float,
                   what: str = "the average over the plausible models", min_cost: bool = False) -> list[str]:
    """When a list reaches a P(match) target under ``what`` (the ensemble average, one card, or a
    set correlation's copula) but not across the plausible models: what their 10th percentile
    (and the most pessimistic of them) give, so no one reads the target as sure; for the
    cheapest-list search, how to have the target judged at the 10th percentile instead."""
    if interval is None or interval[0] >= target:
        return []
    pess = f", the most pessimistic {pct(pessimistic)}" if pessimistic is not None else ""
    advice = ("--target-on p10 finds the cheapest budget whose best list reaches it there" if min_cost
              else "a higher target buys a margin")
    return [f"the {100 * target:g}% target is reached under {what} ({pct(p_match)}), not across the "
            f"plausible models: their 10th percentile gives {pct(interval[0])}{pess}; {advice}"]


def plan_target_warning(plan: dict | None, interval, target: float) -> list[str]:
    """When the list reaches the target across the plausible models (their 10th percentile; below
    it :func:`target_warning` speaks) but the figure to plan on (:func:`plan_figure`: a worse
    season, the published-curve check, the Step 2 CK score check or the IMG-share cap check) lies
    below it: the target is
    not what to plan on."""
    if plan is None or interval is None or interval[0] < target or plan["p_match"] >= target - 1e-12:
        return []
    return [f"the {100 * target:g}% target is reached at the 10th percentile of the plausible models, but the figure "
            f"to plan on is {plan_pct(plan['p_match'])} ({plan['from']}, {pct(plan['p_match'])}): plan on that, "
            f"and raise the target if you need {100 * target:g}% on it"]


def no_range_warning(problem, interval) -> list[str]:
    """Why a P(match) comes without a range over plausible models (``interval`` None): the
    catalog's own p_match column, or a model card with a single card and no ensemble."""
    if interval is not None:
        return []
    if problem.source == "catalog p_match":
        return ["no range over plausible models: the probabilities are the catalog's own p_match column, "
                "taken as exact, so this P(match) is only as sure as they are; an [applicant] section in the profile "
                "(Step 2 CK, attempts, years since graduation, clinical experience, LA ties) is not used, so the "
                "column must already be your own chances"]
    fe, card = problem.fm_ensemble, problem.card
    if fe is not None and fe.n_cards >= 2:
        return []
    if fe is None:  # no two-stage model: the card's probabilities under the one-factor copula
        why = (f"it has no two-stage model (no factors section), so no plausible variants of one; its probabilities are "
               f"tied by the one-factor copula at correlation {problem.rho:g}")
    else:
        why = ("its ensemble file holds a single card" if getattr(card, "ensemble", None)
               else "it names no ensemble of plausible variants")
    where = (getattr(card, "path", None) or card.name) if card is not None else problem.source.removeprefix("model card ")
    return [f"no range over plausible models: the model card {where} is one model ({why}), so this P(match) "
            "leaves out how unsure its judged numbers are and may be well off either way; plan below it, or "
            "use a card with an ensemble (the shipped models/default.toml has one)"]


def figure_source(problem) -> str:
    """What a list's P(match) is, in words: the ensemble average, one card alone, or the
    one-factor copula at a set correlation."""
    if problem.fm is None:
        return f"the one-factor copula at the correlation you set ({problem.rho:g})"
    if problem.card_choice in ("", "ensemble"):
        return "the average over the plausible models"
    return f"the {problem.card_choice} card alone"
