"""allocator: choose which residency programs to apply to.

The list is a portfolio: maximize P(at least one match) (or expected utility) within an ERAS
fee budget, an application count and a cap on the Los Angeles share; solved exactly
(a count scan, a dynamic program over the budget for independent outcomes with whole-dollar
costs, or an integer program with outer approximation solved by HiGHS, CBC on request),
checked by an independent Monte Carlo.

The public names below are imported lazily (module ``__getattr__``): ``import allocator``
and ``allocator --help`` do not import numpy, scipy or pandas.

Pipeline, one subpackage per stage (no stage imports a later one):
inputs (profile, catalog, fees, geography, one TOML loader, ranges) -> model (card,
probability, copula, calibration) -> optim (problem, formulation, solver, fast path, dynamic program,
feasibility, min-cost) -> verification (simulate, draws: the independent Monte Carlo) -> studies (sweep,
frontier, bench, heuristics) -> output (result, report, plot, files); ``api`` and ``cli`` on top.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "load": "allocator.api", "optimize": "allocator.api", "score": "allocator.api", "solve": "allocator.api",
    "verify": "allocator.api", "Catalog": "allocator.inputs.catalog", "load_catalog": "allocator.inputs.catalog",
    "AllocatorError": "allocator.errors", "InfeasibleError": "allocator.errors", "InputError": "allocator.errors",
    "SolverError": "allocator.errors", "Metrics": "allocator.optim.evaluate", "evaluate": "allocator.optim.evaluate",
    "Plan": "allocator.optim.problem", "Problem": "allocator.optim.problem",
    "build_problem": "allocator.optim.assemble", "Profile": "allocator.inputs.profile",
    "load_profile": "allocator.inputs.profile", "Result": "allocator.output.result", "Status": "allocator.status",
}

__all__ = list(_LAZY)
__version__ = "0.1.0"


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
