"""What a list is made of, against what the calibration cohort's lists were made of.

The calibrated-domain guard (:mod:`allocator.verification.domain`) looks at a list's length and
its expected interviews.  An optimized list can sit inside both and still be unlike any list
the calibration targets were checked on: it concentrates on the programs with 85% IMGs or more
(the central card's IMG-share cap, ``IMG_CLIP``, where its IMG-share effect is largest: odds x9.2
the reference's; the plausible models stop the effect anywhere from 50% to 85% IMGs, a judged
range since card 2026.4) and, with the LA objectives, on Greater LA.  The cohort's
lists hold at most 28% cap programs and 25% Greater LA programs (95th percentiles; the card's
``[calibration.domain]``, printed by `allocator calibrate`); a typical optimized list holds 64%
cap programs and expects 0.18 interviews per application against the cohort's 0.016-0.156.
Nothing published checks the model there, and no published figure checks P(match in Greater
LA) at all, so such a list's figures are the least sure the tool gives, whatever their range
says.  One warning line each, for the report and ``solve --json`` ``warnings``; the IMG-share
cap line gives the list's P(match) under the IMG-share cap check
(:mod:`allocator.verification.capcheck`), which runs on the same test (:func:`beyond_cap`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.model.probability import IMG_CLIP

KEYS = ("share_at_img_cap", "la_share", "interviews_per_application")


@dataclass(frozen=True)
class Mix:
    """A list's composition: its programs, those at the IMG-share cap, those in Greater LA, and
    its expected interviews (None when the model gives none: a catalog's own p_match)."""

    n: int
    at_cap: int
    la: int
    interviews: float | None

    @property
    def per_application(self) -> float | None:
        return None if self.interviews is None or self.n == 0 else self.interviews / self.n


def of(problem, plan, metrics=None) -> Mix:
    """The composition of ``plan`` (its candidates' ``img_share`` and LA flags; ``metrics``: its
    expected interviews, None without)."""
    idx = np.asarray(plan.idx, int)
    img = np.asarray(problem.candidates.column("img_share"), float)[idx]
    at_cap = int(np.sum(np.nan_to_num(img, nan=0.0) >= IMG_CLIP[1]))
    return Mix(len(idx), at_cap, int(np.sum(problem.la[idx])), None if metrics is None else metrics.expected_interviews)


def beyond_cap(card, mix: Mix) -> bool:
    """Does the list hold more programs at the IMG-share cap than the calibration cohort's lists
    (the card's ``[calibration.domain] share_at_img_cap`` upper end)?  The test of the warning and
    of the IMG-share cap check (:mod:`allocator.verification.capcheck`)."""
    dom = _domain(card)
    return bool(mix.n) and "share_at_img_cap" in dom and mix.at_cap / mix.n > dom["share_at_img_cap"][1]


def _domain(card) -> dict:
    dom = getattr(getattr(card, "calibration", None), "domain", None) if card is not None else None
    return {k: dom[k] for k in KEYS if dom and k in dom}


def _share(k: int, n: int) -> str:
    return f"{k} of this list's {n} programs ({100 * k / n:.0f}%)"


def warnings(card, mix: Mix, cap_check: dict | None = None, ranged: bool = True) -> list[str]:
    """One line for a list beyond the cohort's share at the IMG-share cap (its interviews per
    application in the same line; ``cap_check``, :func:`allocator.verification.capcheck.check`:
    its P(match) under the IMG-share cap check too) or beyond its interviews per application
    alone, and one for a list beyond the cohort's Greater LA share.  Only upper ends: a list
    below them leans less on the IMG-share effect or on LA than the cohort's did.  ``ranged``:
    the list has a figure to plan on (a range over plausible models) that the cap check joins."""
    dom, out = _domain(card), []
    if mix.n == 0 or not dom:
        return out
    ypa = mix.per_application
    y_lo, y_hi = dom.get("interviews_per_application", (0.0, np.inf))
    cohort_yield = f"{y_lo:.3f}-{y_hi:.3f}"
    yields = ("" if ypa is None or "interviews_per_application" not in dom
              else f"; it expects {ypa:.2f} interviews per application, the cohort's lists {cohort_yield}")
    tail = ("nothing checked the model on a list like this, so its P(match) may be overstated beyond the range "
            "shown: read the figure to plan on as an upper estimate, and apply more widely if you can")
    cap_hi = dom.get("share_at_img_cap", (0, 1))[1]
    if beyond_cap(card, mix):
        out.append(f"outside the calibrated domain: {_share(mix.at_cap, mix.n)} have {100 * IMG_CLIP[1]:.0f}% IMGs or "
                   f"more, where the central model's IMG-share effect is largest, while the calibration cohort's lists hold at "
                   f"most {100 * cap_hi:.0f}% such programs{yields}: {tail if cap_check is None else cap_tail(cap_check, ranged, card)}")
    elif ypa is not None and ypa > y_hi:
        out.append(f"outside the calibrated domain: this list expects {ypa:.2f} interviews per application, while "
                   f"the calibration cohort's lists expect {cohort_yield} (about 0.10 for an average IMG): {tail}")
    la_hi = dom.get("la_share", (0, 1))[1]
    if mix.la / mix.n > la_hi:
        out.append(f"outside the calibrated domain: {_share(mix.la, mix.n)} are in Greater LA, while the calibration "
                   f"cohort's lists hold at most {100 * la_hi:.0f}%; no published figure checks P(match in Greater "
                   "LA) (the model's LA effects are judgements held only by the overall match rate), and a list "
                   "this LA-heavy leans on them most: read its LA figures as the least sure of all")
    return out


def cap_tail(cap_check: dict, ranged: bool = True, card=None) -> str:
    """The cap warning's ending with the list's figure under the IMG-share cap check (``ranged``:
    it joins the figure to plan on; else, with no range and so no such figure, it is an upper
    bound to plan on).  ``card``: when its ``[interview.img_share_cap]`` has a range, the
    plausible models draw the cap across it, and the warning says so."""
    from allocator.percent import pct

    drawn = _drawn_caps(card) if ranged else ""  # with one card there are no plausible models to draw it
    joins = ("that figure joins the one to plan on; " + (
        "no published figure checks a list like this, so read the figure to plan on as an upper estimate still"
        if drawn else "a lower cap fits the targets too, so read the figure to plan on as an upper estimate still")
        if ranged else
        "with no range over plausible models here, plan on at most that figure; a lower cap fits the targets "
        "too, so read it as an upper estimate")
    return (f"nothing checked the model on a list like this, and the calibration targets cannot tell where the "
            f"effect stops{drawn}: under the IMG-share cap check (the effect stopping at {100 * cap_check['cap']:.0f}% "
            f"IMGs, its intercepts re-fitted to the same calibration targets, all of which still pass) this list's "
            f"P(match) is {pct(cap_check['p_match'])} instead of {pct(cap_check['p_match_central'])} under the central "
            f"model, and {joins}, and apply more widely if you can")


def _drawn_caps(card) -> str:
    """" (the plausible models stop it anywhere from 50% to 85% IMGs)" for a card whose
    IMG-share cap is a judged parameter; "" otherwise."""
    p = getattr(getattr(card, "interview", None), "img_share_cap", None)
    if p is None or not p.range:
        return ""
    return f" (the plausible models stop it anywhere from {100 * p.range[0]:.0f}% to {100 * p.range[1]:.0f}% IMGs)"


def cell(card, mix: Mix) -> str:
    """The same findings in a few words for a sweep or frontier row's ``outside_domain``."""
    dom, parts = _domain(card), []
    if mix.n == 0 or not dom:
        return ""
    if beyond_cap(card, mix):
        parts.append(f"{100 * mix.at_cap / mix.n:.0f}% at the IMG-share cap "
                     f"(calibrated up to {100 * dom['share_at_img_cap'][1]:.0f}%)")
    if mix.la / mix.n > dom.get("la_share", (0, 1))[1]:
        parts.append(f"{100 * mix.la / mix.n:.0f}% in Greater LA (calibrated up to {100 * dom['la_share'][1]:.0f}%)")
    return "; ".join(parts)


def outside_row(problem, plan, metrics) -> str:
    """A sweep or frontier row's ``outside_domain``: the list's length and expected interviews
    (:func:`allocator.verification.domain.outside`) and its composition (:func:`cell`)."""
    from allocator.verification.domain import outside

    parts = [outside(problem.card, metrics.n_applications, metrics.expected_interviews),
             cell(problem.card, of(problem, plan, metrics))]
    return "; ".join(x for x in parts if x)
