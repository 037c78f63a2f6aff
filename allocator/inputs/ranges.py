"""The one parser for value ranges given on the command line (``--budgets``, ``--param``,
``--frontier``, ``bench --budgets``).

A range is ``LO:HI:STEP`` (inclusive: HI is kept when it lies on the grid up to rounding,
so 0.1:0.6:0.05 ends at 0.6), a single number, or, where the caller allows it, a comma
list (``800,1200``, kept in the order given).  Values are rounded to 10 decimals so
0.30000000000000004 prints as 0.3.  Every error is one :class:`InputError` line naming
the option and what to write instead.
"""
from __future__ import annotations

import math

import numpy as np

from allocator.errors import InputError

MAX_POINTS = 2_000  # a longer range is almost surely a typo in STEP (each point is a solve)

_EXAMPLES = {"la_share": "0.1:0.6:0.05", "correlation": "0:0.6:0.1", "max_app": "20:120:10",
             "frontier": "0.5:0.95:0.05", "target": "0.5:0.95:0.05", "margin": "0:0.1:0.01"}


def example_for(name: str) -> str:
    """A sensible ``LO:HI:STEP`` to show in a message about option ``name``."""
    return next((ex for key, ex in _EXAMPLES.items() if key in name), "500:3000:100")


def parse_range(spec: str, *, name: str, lo_min: float | None = None, hi_max: float | None = None,
                lists: bool = False, max_points: int = MAX_POINTS) -> np.ndarray:
    """The values of ``spec`` for option ``name`` (e.g. ``"--budgets"``), as a float array.

    ``lo_min`` / ``hi_max`` bound every value (inclusive); ``lists`` also accepts a comma
    list; a grid may hold at most ``max_points`` values.

    >>> parse_range("0:0.6:0.1", name="--param correlation").tolist()
    [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    >>> parse_range("800, 1200", name="--budgets", lo_min=0, lists=True).tolist()
    [800.0, 1200.0]
    """
    raw = str(spec).strip()
    comma = lists and "," in raw
    forms = "LO:HI:STEP or a comma list" if lists else "LO:HI:STEP"
    hint = f"write {name} {forms}, e.g. {example_for(name)}"
    parts = [x for x in raw.split(",") if x.strip()] if comma else raw.split(":")
    try:
        nums = [float(x) for x in parts]
    except ValueError:
        raise InputError(f"{name} {raw!r}: not numbers; {hint}") from None
    if not nums:
        raise InputError(f"{name} {raw!r}: no values; {hint}")
    if not all(math.isfinite(x) for x in nums):
        raise InputError(f"{name} {raw!r}: values must be finite numbers; {hint}")
    if comma or len(nums) == 1:
        vals = np.array(nums)
    else:
        vals = _grid(nums, raw, name, hint, max_points)
    _bounds(vals, raw, name, lo_min, hi_max)
    return vals


def _grid(nums: list[float], raw: str, name: str, hint: str, max_points: int) -> np.ndarray:
    if len(nums) != 3:
        raise InputError(f"{name} {raw!r}: expected three numbers LO:HI:STEP; {hint}")
    lo, hi, step = nums
    if step <= 0:
        raise InputError(f"{name} {raw!r}: STEP must be positive; {hint}")
    if hi < lo:
        raise InputError(f"{name} {raw!r}: HI {hi:g} is below LO {lo:g}; swap them")
    span = (hi - lo) / step
    n = int(math.floor(span + 1e-9))
    if n + 1 > max_points:
        raise InputError(f"{name} {raw!r}: {n + 1} points (at most {max_points}); raise STEP or narrow the range")
    vals = lo + step * np.arange(n + 1)
    if abs(span - round(span)) <= 1e-9 * max(1.0, span):
        vals[-1] = hi  # land exactly on HI
    return np.round(vals, 10)


def _bounds(vals: np.ndarray, raw: str, name: str, lo_min: float | None, hi_max: float | None) -> None:
    if lo_min is not None and np.any(vals < lo_min):
        bad = float(vals[vals < lo_min][0])
        raise InputError(f"{name} {raw!r}: {bad:g} is below {lo_min:g}; values must be >= {lo_min:g}")
    if hi_max is not None and np.any(vals > hi_max):
        bad = float(vals[vals > hi_max][0])
        raise InputError(f"{name} {raw!r}: {bad:g} is above {hi_max:g}; values must be <= {hi_max:g}")
