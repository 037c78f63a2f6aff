"""P(match) now at the ends of the invitation-timing curve's judged band.

Silence is weighed by F, the share of a program's invitations sent by today, read off the model
card's judged timing curve (:mod:`allocator.model.timing`).  The card gives each point a judged
range (``low``, ``high``: 5%-30% by 1 October around 15%), so while programs are silent F itself
is uncertain.  A slower season (F at the band's low end) makes silence weaker evidence, so
P(match) now is higher; a faster one (the high end) lower.  :func:`band` gives the update's
P(match) now, the same posterior (:mod:`allocator.season.posterior`) with F at each end,
everything else (the answers, the rejection curve, the nodes) unchanged.  Probabilities in [0, 1].
"""
from __future__ import annotations

import dataclasses

import numpy as np

from allocator.season import posterior as post


def shares(curve, today) -> tuple[float, float] | None:
    """(slow, fast): the share of invitations sent by ``today`` at the band's low and high ends;
    None when the curve gives no band (a card without ``low``/``high``)."""
    if not getattr(curve, "has_band", False):
        return None
    return curve.band("low").share(today), curve.band("high").share(today)


def at_share(ctx, F: float):
    """The update's context with the invitation share ``F`` in place of the curve's: its
    observations, posterior weights and no-match factors recomputed (the answers unchanged)."""
    obs = post.Observed.of(ctx.statuses, F, ctx.R)
    return dataclasses.replace(ctx, F=float(F), obs=obs, pi=post.posterior_weights(ctx.nm, obs),
                               c=post.no_match_factors(ctx.nm, obs))


def weighs_silence(ctx) -> bool:
    """Whether the band moves anything now: a program is still silent and the band's ends differ
    today (before ERAS releases applications and from 1 February both ends agree)."""
    return ctx.F_band is not None and bool(np.any(ctx.obs.code == post.APPLIED)) and \
        ctx.F_band[1] - ctx.F_band[0] > 1e-12


def band(ctx, p_now: float) -> dict:
    """``invitations_sent_share_band`` ([slow, fast] shares by today; None without a band on the
    card) and ``p_match_timing_band`` ([at the fast end, at the slow end]: P(match) now, the
    average over the plausible models, as ``p_match``; [p_now, p_now] when no silence is
    weighed or the ends agree; None without a band)."""
    if ctx.F_band is None:
        return {"invitations_sent_share_band": None, "p_match_timing_band": None}
    if not weighs_silence(ctx):
        return {"invitations_sent_share_band": list(ctx.F_band), "p_match_timing_band": [p_now, p_now]}
    from allocator.season.update import prob

    slow, fast = (at_share(ctx, F) for F in ctx.F_band)
    return {"invitations_sent_share_band": list(ctx.F_band),
            "p_match_timing_band": [prob(post.p_match(fast.pi, fast.c)), prob(post.p_match(slow.pi, slow.c))]}
