"""P(match) now at the ends of the judged bands of both timing curves.

Silence is weighed by F, the share of a program's invitations sent by today, and R, the share of
the programs that will not invite you that have sent a rejection by today, both read off the
model card's judged timing curves (:mod:`allocator.model.timing`).  The card gives each point of
each curve a judged range (``low``, ``high``: invitations 5%-30% by 1 October around 15%,
rejections 2%-15% by 15 October around 8%), so while programs are silent F and R are uncertain.

Which ends lower P(match) now.  A silent program's likelihood at a node is
1 - F q - R (1 - q) = (1 - R) (1 - q x), x = (F - R) / (1 - R), and its chance of a match there
(1 - F) q m / (1 - F q - R (1 - q)).  As F rises x rises (silence weighs the nodes further
toward those where you interview less) and the chance falls (its derivative in F is
-(1 - q)(1 - R) q m / (...)^2); as R rises x falls (dx/dR = (F - 1) / (1 - R)^2) and the chance
rises.  So silence is stronger evidence against you when invitations are sent faster (F high) and when
fewer rejections are sent (R low: a silent program is then more likely one that will not invite
you and has not written).  Checked numerically on the typical list, all silent on 1 December
(F 80%, judged 70-90%; R 26.4%, judged 15.3-38.0%), card 2026.4: P(match) now 16.6% central, 8.2%
and 25.4% at F's fast and slow ends, 14.3% and 19.8% at R's low and high ends (14.0% and 20.4% at
half and 1.5 times R), 7.1% at the pessimistic corner (F fast, R low), 30.8% at the optimistic one
(F slow, R high), 9.7% and 21.9% at the mixed ones (tests/test_season_declined_and_timing_band.py
checks the direction on several dates).

So the band is [P(match) at the pessimistic corner (invitations at the fast end, rejections at
the low end), at the optimistic corner (invitations slow, rejections high)]; the two mixed
corners lie between (the tests check every corner on several seasons and dates, brute force).
:func:`band` gives them: the same posterior (:mod:`allocator.season.posterior`) with (F, R) at
each corner, everything else (the answers, the nodes) unchanged.  Probabilities in [0, 1].
"""
from __future__ import annotations

import dataclasses

import numpy as np

from allocator.season import posterior as post


def shares(curve, today) -> tuple[float, float] | None:
    """(low, high): the curve's share by ``today`` at its band's low and high ends (for the
    invitation curve the slow and fast ends); None when the curve gives no band (a card without
    ``low``/``high``)."""
    if not getattr(curve, "has_band", False):
        return None
    return curve.band("low").share(today), curve.band("high").share(today)


def at_share(ctx, F: float, R: float | None = None):
    """The update's context with the invitation share ``F`` (and the rejection share ``R``; None
    keeps the curve's) in place of the curves': its observations, posterior weights and no-match
    factors recomputed (the answers unchanged)."""
    R = ctx.R if R is None else float(R)
    obs = post.Observed.of(ctx.statuses, F, R)
    return dataclasses.replace(ctx, F=float(F), R=R, obs=obs, pi=post.posterior_weights(ctx.nm, obs),
                               c=post.no_match_factors(ctx.nm, obs))


def ends(ctx) -> tuple[tuple[float, float], tuple[float, float]]:
    """((F, R) at the pessimistic corner, (F, R) at the optimistic one): invitations at the fast
    end and rejections at the low end, then invitations slow and rejections high (a curve without
    a band stays at its share)."""
    (f_slow, f_fast) = ctx.F_band if ctx.F_band is not None else (ctx.F, ctx.F)
    (r_low, r_high) = ctx.R_band if ctx.R_band is not None else (ctx.R, ctx.R)
    return (f_fast, r_low), (f_slow, r_high)


def corners_differ(ctx) -> bool:
    """Whether the corners differ today: a curve has a band, its ends differ, and invitations are
    not all sent at both ends (from 1 February the invitation curve is 1 at both and the rejection
    share no longer matters: a silent program can no longer invite you)."""
    if ctx.F_band is None and ctx.R_band is None:
        return False
    (fp, rp), (fo, ro) = ends(ctx)
    return fo < 1.0 - 1e-12 and (fp - fo > 1e-12 or ro - rp > 1e-12)


def weighs_silence(ctx) -> bool:
    """Whether the bands move P(match) now: a program is still silent and the corners differ
    (before ERAS releases applications both curves are 0 at every end)."""
    return bool(np.any(ctx.obs.code == post.APPLIED)) and corners_differ(ctx)


def pessimistic(ctx):
    """The update's context at the pessimistic corner (:func:`ends`); None when the corners agree
    today (it still matters with no program silent: the share of invitations still to come at a
    program added now)."""
    return at_share(ctx, *ends(ctx)[0]) if corners_differ(ctx) else None


def band(ctx, p_now: float) -> dict:
    """``invitations_sent_share_band`` ([slow, fast] shares by today), ``rejections_sent_share_band``
    ([low, high]; each None without a band on the card) and ``p_match_timing_band``
    ([at the pessimistic corner, at the optimistic one]: P(match) now, the average over the
    plausible models, as ``p_match``; [p_now, p_now] when no silence is weighed or the corners
    agree; None when neither curve has a band)."""
    out = {"invitations_sent_share_band": None if ctx.F_band is None else list(ctx.F_band),
           "rejections_sent_share_band": None if ctx.R_band is None else list(ctx.R_band)}
    if ctx.F_band is None and ctx.R_band is None:
        return out | {"p_match_timing_band": None}
    if not weighs_silence(ctx):
        return out | {"p_match_timing_band": [p_now, p_now]}
    from allocator.season.update import prob

    low, high = (at_share(ctx, F, R) for F, R in ends(ctx))
    return out | {"p_match_timing_band": [prob(post.p_match(low.pi, low.c)), prob(post.p_match(high.pi, high.c))]}
