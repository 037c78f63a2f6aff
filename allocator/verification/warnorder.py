"""The one order in which a list's warnings are shown, on every surface.

The warnings that say the figure to plan on may be too high (the unsafe direction: P(match)
"may be overstated", "read the figure to plan on as an upper estimate", "plan below the
range", a check whose lower figure "joins the one to plan on") come first, then the others
(an extrapolation, a high Step 2 CK's "may be understated ... the safe direction"), each group
in the order the checks wrote them.  ``solve`` (text, ``--json``, ``/api/solve``, the web page
and batch's reports, summary.csv and cohort.html), ``simulate`` and ``update`` give them in
this order, so a first warning is never the reassuring one when a worrying one exists.
Text only: no figure is computed here.
"""
from __future__ import annotations

from collections.abc import Iterable

# A warning that says the figure may be too high: "P(match) may be overstated", "read the figure to
# plan on as an upper estimate", "plan below the range" (or "it"), "plan on at most", the published-curve
# check "may be well below", and a check's lower figure that "joins the one to plan on" (the Step 2 CK
# score check within one standard deviation below the mean, the IMG-share cap check)
UNSAFE_PHRASES = ("may be overstated", "upper estimate", "plan below", "plan on at most", "may be well below",
                  "joins the one to plan on")
# ... and of those, the ones that make the figure to plan on an upper estimate (batch's upper_estimate;
# "may be well below": the published-curve check lies below the range, and its upper end is an "at most";
# a check that joins the figure to plan on is in it, so that figure is no upper estimate for it)
UPPER_PHRASES = ("may be overstated", "upper estimate", "may be well below")


def unsafe_first(warnings: Iterable[str] | str | None) -> list[str]:
    """The warnings as text, those pointing the unsafe way (:data:`UNSAFE_PHRASES`) first, each
    group in the given order (a stable sort: applied twice, it changes nothing).

    >>> unsafe_first(["an extrapolation", "P(match) may be overstated"])
    ['P(match) may be overstated', 'an extrapolation']
    """
    items = [str(w) for w in warnings or []] if isinstance(warnings, (list, tuple)) else \
        ([] if warnings is None else [str(warnings)])
    return sorted(items, key=lambda w: not any(x in w for x in UNSAFE_PHRASES))


def upper_estimate(warnings: Iterable[str] | str | None) -> bool:
    """True when a warning says P(match) may be overstated or to read the figure to plan on as an
    upper estimate."""
    return any(x in w for w in unsafe_first(warnings) for x in UPPER_PHRASES)
