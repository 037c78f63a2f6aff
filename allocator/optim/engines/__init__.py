"""Engines for the master integer program: one adapter per engine, each with its own status map.

``run_master(f, ...)`` solves the current :class:`~allocator.optim.formulation.Formulation`
with HiGHS (the default, :mod:`.highs`) or CBC (:mod:`.cbc`) and returns a :class:`MasterRun`:
the mapped :class:`~allocator.status.Status`, the objective and the proven bound (both on the
probability scale, i.e. divided by the formulation's objective scale) and the times.
"""
from __future__ import annotations

from dataclasses import dataclass

from allocator.status import Status

ENGINES = ("highs", "cbc")
DEFAULT_ENGINE = "highs"


@dataclass(frozen=True)
class MasterRun:
    """What one solve of the master problem returned."""

    status: Status
    objective: float | None
    bound: float | None
    seconds: float  # the engine's own time
    total_seconds: float  # including model writing / syncing and reading the solution
    # the bound can be trusted to stop on: CBC (no preprocessing) or HiGHS with presolve off;
    # a presolved HiGHS bound is only a hint (engines.highs.run_highs)
    proven: bool = True
    # False: a relaxation's answer (``relax=True``) with fractional binaries, so no list
    integral: bool = True
    columns: object = None  # a relaxation's column values (numpy array by engine column index)
    duals: object = None  # a relaxation's reduced costs, by engine column index (optim.fixing)


def run_master(f, time_limit: float | None = None, warm: bool = False, engine: str = DEFAULT_ENGINE,
               proven: bool = False, relax: bool = False, fixed: dict | None = None) -> MasterRun:
    """Solve the current master problem with the chosen engine ("highs" or "cbc").
    ``proven``: the bound must be one to stop on (HiGHS then runs without presolve).
    ``relax``: solve the linear relaxation instead (HiGHS only: every binary continuous,
    no presolve, warm-started from the previous relaxation's basis); its objective is a
    proven bound, and its columns a list only when ``integral``.  ``fixed``: engine column
    index -> 0 or 1, binaries fixed for this relaxation only (a node of a branch and bound)."""
    if relax and engine != "highs":
        raise ValueError("the linear relaxation is solved with the highs engine only")
    if engine == "cbc":
        from allocator.optim.engines.cbc import run_cbc

        return run_cbc(f, time_limit, warm)
    if engine == "highs":
        from allocator.optim.engines.highs import run_highs, run_relaxation

        if relax:
            return run_relaxation(f, time_limit, fixed)
        return run_highs(f, time_limit, warm, presolve=not proven)
    raise ValueError(f"unknown engine {engine!r}")


def open_session(f, engine: str = DEFAULT_ENGINE) -> None:
    """Load the model ``f`` into the engine now rather than at its first solve (HiGHS: the
    persistent session, about 0.05 s on the safety-first models), so that a caller can do it
    on a second thread while another model solves.  CBC reads the PuLP model at every solve:
    nothing to do."""
    if engine == "highs":
        from allocator.optim.engines.highs import open_session as _open

        _open(f)
    elif engine != "cbc":
        raise ValueError(f"unknown engine {engine!r}")
