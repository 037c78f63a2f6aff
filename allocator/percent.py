"""The one way a probability is printed as a percentage, for every report, warning and page
(:func:`allocator.output.report.pct` is this function): a base module, so that the warnings of
the verification stage print their figures as the report does."""
from __future__ import annotations

import math


def pct(x: float | None, digits: int = 1) -> str:
    """A probability as a percentage; one below 1 that would round to 100 is shown as ">99.9%"
    (never a certainty it is not)."""
    if x is None:
        return "n/a"
    s = f"{100 * x:.{digits}f}%"
    if x < 1 and float(s[:-1]) >= 100:
        return f">{100 - 10 ** -digits:.{digits}f}%"
    return s[1:] if s.startswith("-") and float(s[:-1]) == 0 else s  # never "-0.0%"


def plan_whole(x: float) -> int:
    """The figure to plan on in whole percents, rounded down (25.7% is 25, never 26)."""
    return max(0, math.floor(100 * float(x) + 1e-9))


def pct_floored(x: float) -> str:
    """The figure that the figure to plan on rounds down from, to enough decimals that it does not
    read as the next whole percent: 6.96% is "6.96%", not "7.0%" beside "plan on 6%"."""
    for digits in (1, 2, 3):
        s = pct(x, digits)
        if s[:1].isdigit() and math.floor(float(s[:-1]) + 1e-9) <= plan_whole(x):
            return s
    return f"just under {plan_whole(x) + 1}%"


def plan_pct(x: float) -> str:
    """The figure to plan on in whole percents, rounded down (25.7% is "25%", never "26%");
    "less than 1%" for a figure between 0 and 1% (0.7% is not "0%")."""
    if 0 < float(x) < 0.01:
        return "less than 1%"
    return f"{plan_whole(x)}%"
