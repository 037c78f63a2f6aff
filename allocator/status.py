"""The one status enum for solver outcomes, and the one place PuLP's statuses map onto it."""
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

    @property
    def exit_code(self) -> int:
        return {Status.OPTIMAL: 0, Status.FEASIBLE: 0, Status.INFEASIBLE: 3}.get(self, 4)


def from_pulp(status: int, sol_status: int) -> Status:
    """Map PuLP's (``prob.status``, ``prob.sol_status``) pair onto :class:`Status`.

    PuLP reports ``status == 1`` ("Optimal") even when CBC stopped at a time limit with an
    integer solution; ``sol_status`` tells the two apart (1 optimal, 2 integer feasible).
    """
    import pulp

    if sol_status == pulp.LpSolutionOptimal and status == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    if sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionOptimal):
        return Status.FEASIBLE
    if sol_status == pulp.LpSolutionInfeasible or status == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if sol_status == pulp.LpSolutionNoSolutionFound or status == pulp.LpStatusNotSolved:
        return Status.NO_SOLUTION
    if status == pulp.LpStatusUnbounded or sol_status == pulp.LpSolutionUnbounded:
        return Status.ERROR  # our models are bounded; unbounded means a modelling bug
    return Status.ERROR
