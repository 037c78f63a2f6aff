"""The Monte Carlo checks' verdict, shared by `solve` (:func:`allocator.api.verify`) and
`update` (:mod:`allocator.season.run`): is a simulated figure within MC_SIGMAS standard errors
of the exact one?  Imports nothing from the solver or the season code, so both can use it."""
from __future__ import annotations

import math

from allocator.errors import SolverError

MC_SIGMAS = 4.0


def check(name: str, simulated: float, se: float, exact: float, *, draws: int, var_exact: float,
          n_eff: float | None = None) -> None:
    """Raise SolverError when ``simulated`` is more than MC_SIGMAS standard errors from ``exact``.

    The standard error is the largest of the simulation's own ``se``, the one under the exact
    value, sqrt(``var_exact`` / ``n_eff``), and 1/``draws``.  ``var_exact``: the variance of one
    draw's outcome under the model (p(1 - p) for a probability p); ``n_eff``: the number of draws,
    or their effective number when the draws are weighted (default ``draws``).  The error under
    the exact value matters with few draws and a small P: one success too few makes the
    simulated error tiny, and a correct figure would be called a bug."""
    n = max(float(draws if n_eff is None else n_eff), 1.0)
    se_null = math.sqrt(max(var_exact, 0.0) / n)
    tol = MC_SIGMAS * max(se, se_null, 1.0 / draws)
    if abs(simulated - exact) > tol:
        raise SolverError(f"verification failed: simulated {name} {simulated:.5f} is more than {MC_SIGMAS:g} "
                          f"standard errors from the exact {exact:.5f} (a bug; please report)")
