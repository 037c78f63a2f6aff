"""The one status enum for solver outcomes.  Each engine maps its own statuses onto it
(:mod:`allocator.optim.engines.cbc` for PuLP/CBC, :mod:`allocator.optim.engines.highs` for HiGHS)."""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Outcome of a solve.  The string value is what ``--json`` prints."""

    OPTIMAL = "optimal"
    """A list was returned and proven optimal (relative/absolute gap within tolerance)."""
    FEASIBLE = "feasible"
    """A list was returned, feasible, but optimality is not proven (time limit); see gap."""
    INFEASIBLE = "infeasible"
    """No list satisfies the constraints."""
    NO_SOLUTION = "no_solution"
    """The solver stopped (time limit) before finding any list."""
    ERROR = "error"
    """The solver crashed or reported something we cannot interpret."""

    @property
    def has_list(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)
