"""The calibrated-domain guard: does a list lie where the calibration cohort says anything?

The card's ``[calibration.domain]`` records what the synthetic calibration cohort covers
(5th-95th percentile of its list lengths and of its expected interview counts; written by
``benchmarks/calibrate.py``).  A list outside those ranges is an extrapolation of the
model, and so is a list whose P(match) comes mostly from signal and geographic-preference
effects (odds ratios measured on US graduates, uncertain for IMGs).  Each finding is one
line with the figures, for the report and ``solve --json`` ``warnings``.
"""
from __future__ import annotations

BONUS_SHARE = 0.5  # "most of P": more than half of P(match) from signals and preferences


def warnings(card, n_applications: int, expected_interviews: float | None, p_match: float,
             p_without_bonuses: float | None) -> list[str]:
    out: list[str] = []
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    if dom:
        lo, hi = dom["applications"]
        if not lo <= n_applications <= hi:
            out.append(f"outside the calibrated domain: {n_applications} applications, while the calibration "
                       f"cohort's lists hold {lo:g}-{hi:g}; the probabilities are an extrapolation")
        lo, hi = dom["expected_interviews"]
        if expected_interviews is not None and not lo <= expected_interviews <= hi:
            out.append(f"outside the calibrated domain: {expected_interviews:.1f} expected interviews, while the "
                       f"calibration cohort expects {lo:.1f}-{hi:.1f}; the probabilities are an extrapolation")
    if p_without_bonuses is not None and p_match > 0:
        gain = p_match - p_without_bonuses
        if gain > BONUS_SHARE * p_match:
            out.append(f"most of this P(match) comes from signal and geographic-preference effects "
                       f"({100 * gain:.1f} of {100 * p_match:.1f} points), whose size for IMGs is uncertain")
    return out


def outside(card, n_applications: int, expected_interviews: float | None) -> str:
    """A list's departures from the calibrated domain in a few words for a table cell ("27
    applications (calibrated 46-109)"), "" inside it."""
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    if not dom:
        return ""
    parts = []
    lo, hi = dom["applications"]
    if not lo <= n_applications <= hi:
        parts.append(f"{n_applications} applications (calibrated {lo:g}-{hi:g})")
    lo, hi = dom["expected_interviews"]
    if expected_interviews is not None and not lo <= expected_interviews <= hi:
        parts.append(f"{expected_interviews:.1f} expected interviews (calibrated {lo:.1f}-{hi:.1f})")
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
    return [f"the correlation you set ({rho:g}) gives P(match) {100 * p_match:.1f}% under the one-factor copula, "
            f"{side} the {100 * interval[0]:.0f}-{100 * interval[1]:.0f}% that the calibrated two-stage model gives "
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
    pess = f", the most pessimistic {100 * pessimistic:.1f}%" if pessimistic is not None else ""
    advice = ("--target-on p10 finds the cheapest budget whose best list reaches it there" if min_cost
              else "a higher target buys a margin")
    return [f"the {100 * target:.0f}% target is reached under {what} ({100 * p_match:.1f}%), not across the "
            f"plausible models: their 10th percentile gives {100 * interval[0]:.1f}%{pess}; {advice}"]


def figure_source(problem) -> str:
    """What a list's P(match) is, in words: the ensemble average, one card alone, or the
    one-factor copula at a set correlation."""
    if problem.fm is None:
        return f"the one-factor copula at the correlation you set ({problem.rho:g})"
    if problem.card_choice in ("", "ensemble"):
        return "the average over the plausible models"
    return f"the {problem.card_choice} card alone"
