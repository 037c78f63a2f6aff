"""A cross-check against published figures the model misses: a list's P(match) if P(match |
N interviews) followed the published conversion curve.

The card's ``conversion_N`` targets (Internal Medicine IMGs: about 25, 35, 50 and 75% at 1, 3,
5 and 10 interviews; NRMP 2009 data, as the card's sources say) are missed by every plausible
model: they convert interviews into a match more often (35/53/64/86%, models/README.md).  The
curve cannot be the model (with the published match rate it is inconsistent:
benchmarks/target_consistency.py), but it is the published figure an applicant may have
read, so every answer re-scores its own list with it:

    P_curve = sum over N of P(N interviews) * c(N)

with P(N interviews) from the Monte Carlo check of the list (the model's interview counts,
which the published interview quartiles constrain) and c the published curve: 0 at no
interview, linear between the published points.  Above the last point (10 interviews) the
curve is not published, so the check is a range: c flat at the last value (75%) for the
lower end; rising 2 points per interview up to 95% for the upper end (the model's own
curve rises about 3 points per interview there and reaches 95-99% by 15-20).

`solve`, `simulate` and the sweep and frontier rows take P(N interviews) from its exact
distribution under the model's mixture (:func:`exact`: a Poisson-binomial at each node, counts
from where the curve is flat at both ends pooled), at about the cost of one evaluation of the
list, so a list gets one check wherever it is shown; :func:`assess` takes it from a Monte
Carlo run's interview counts (the tests hold the two together within the draws' noise).
"""
from __future__ import annotations

import re

import numpy as np

from allocator.model.counts import poisson_binomial
from allocator.percent import pct

SLOPE_ABOVE = 0.02  # per interview above the last published point (the upper end's guess)
CAP_ABOVE = 0.95    # the upper end's ceiling: no published figure says more


def curve_points(card) -> tuple[np.ndarray, np.ndarray] | None:
    """(interviews, P(match)) of the card's published conversion targets, with (0, 0) first;
    None when the card has none."""
    targets = getattr(getattr(card, "calibration", None), "targets", None) or {}
    pts = sorted((int(m.group(1)), float(t.target)) for k, t in targets.items()
                 if (m := re.fullmatch(r"conversion_(\d+)", k)))
    if not pts:
        return None
    return np.array([0] + [n for n, _ in pts], float), np.array([0.0] + [p for _, p in pts])


def conversion(n: np.ndarray, xs: np.ndarray, ys: np.ndarray, upper: bool) -> np.ndarray:
    """c(N): the published curve, linear between its points; above the last, flat (lower end)
    or rising SLOPE_ABOVE per interview up to CAP_ABOVE (upper end)."""
    c = np.interp(n, xs, ys)
    if upper:
        above = n > xs[-1]
        c[above] = np.minimum(CAP_ABOVE, ys[-1] + SLOPE_ABOVE * (n[above] - xs[-1]))
    return c


def check(card, interviews_hist) -> tuple[float, float] | None:
    """(lower, upper) P(match) of a list under the published curve, from its simulated
    interview counts (``interviews_hist[k]``: draws with k interviews); None without a curve
    or a distribution."""
    pts = curve_points(card)
    if pts is None or interviews_hist is None:
        return None
    w = np.asarray(interviews_hist, float)
    if w.sum() <= 0:
        return None
    w, n = w / w.sum(), np.arange(len(w), dtype=float)
    return tuple(float(w @ conversion(n, *pts, upper)) for upper in (False, True))


def assess(problem, mc) -> tuple[float, float] | None:
    """The check for a list of ``problem`` from its Monte Carlo result ``mc`` (its interview
    counts); None without the check's draws or the two-stage model (the copula has no
    interview stage)."""
    if mc is None or problem.fm is None:
        return None
    return check(problem.card, getattr(mc, "interviews_hist", None))


def flat_from(xs: np.ndarray, ys: np.ndarray) -> int:
    """The interview count from which both ends of the curve are flat (beyond the last point,
    and past where the upper end reaches CAP_ABOVE): counts from there on can be pooled."""
    rise = max(0.0, CAP_ABOVE - float(ys[-1]))
    return int(xs[-1]) + max(1, int(np.ceil(rise / SLOPE_ABOVE)))


def exact(problem, plan) -> tuple[float, float] | None:
    """The check for ``plan`` from the exact distribution of its interview count under the
    problem's two-stage mixture (programs interview independently at each node, as the Monte
    Carlo of :func:`assess` draws them), so without sampling error; None without a curve or the
    two-stage model (the copula has no interview stage)."""
    pts = None if problem.fm is None else curve_points(problem.card)
    if pts is None:
        return None
    dist = poisson_binomial(problem.plan_pi(plan).T, flat_from(*pts)) @ problem.fm.w
    return check(problem.card, dist)


def describe(card) -> str:
    """"25/35/50/75% at 1/3/5/10 interviews" for the card's published curve."""
    xs, ys = curve_points(card)
    return f"{'/'.join(f'{100 * y:.0f}' for y in ys[1:])}% at {'/'.join(f'{x:.0f}' for x in xs[1:])} interviews"


def relation(check_range, interval) -> str:
    """Where the check lies against the plausible models' figures for this list, in words for a
    parenthesis: the models convert interviews more often than the curve over the calibration
    cohort, but an applicant's own answers (rejections, silence) can put their figures below
    it, so the words follow the numbers shown.  "" without a range."""
    if check_range is None or interval is None:
        return ""
    if check_range[1] < interval[0]:
        return "which every plausible model exceeds"
    if check_range[0] > interval[1]:
        return "above every plausible model's figure for you: your answers so far weigh more than the curve's average"
    return "within the plausible models' range"


def reading_at(card, n: int) -> str:
    """How the curve's figure at ``n`` interviews is read: "published" at a published point,
    "interpolated between ..." between two, or the tool's guess above the last; "" without a
    curve."""
    pts = curve_points(card)
    if pts is None:
        return ""
    xs, ys = pts
    if n in xs:
        return "published"
    if n < xs[-1]:
        k = int(np.searchsorted(xs, n))
        return (f"interpolated between the published {100 * ys[k - 1]:.0f}% at {xs[k - 1]:.0f} and "
                f"{100 * ys[k]:.0f}% at {xs[k]:.0f}")
    return (f"not published above {xs[-1]:.0f} interviews: from {100 * ys[-1]:.0f}% held flat to "
            f"{100 * SLOPE_ABOVE:.0f} points more per interview, the tool's guess")


def below_range_warning(check_range, interval, *, subject: str = "this list") -> list[str]:
    """A warning when even the upper end of the published-curve check lies below the plausible
    models' 10th percentile: ``subject``'s P(match) may be well below the figures shown.
    Without a range (``interval`` None: a single card) none: every card converts interviews more
    often than the curve, so the check's upper end sits just under any one card's figure, and
    the no-range warning already says to plan below it."""
    if check_range is None or interval is None or check_range[1] >= interval[0]:
        return []
    shown = f"the plausible models' {pct(interval[0])} to {pct(interval[1])}"
    return [f"the published-curve check gives {subject} at most {pct(check_range[1])}, below {shown}: its "
            "P(match) may be well below the figures shown; plan on the lower one, and apply more widely if you can"]
