"""allocator: choose which residency programs to apply to.

The list is a portfolio: maximize P(at least one match) (or expected utility) within an ERAS
fee budget, an application count and a cap on the Los Angeles share; solved exactly
(a count scan, or an integer program with outer approximation solved by HiGHS, CBC on
request), checked by an independent Monte Carlo.

Pipeline, one subpackage per stage (no stage imports a later one):
inputs (profile, catalog, fees, geography, one TOML loader, ranges) -> model (card,
probability, copula, calibration) -> optim (problem, formulation, solver, fast path, feasibility,
min-cost) -> verification (simulate, draws: the independent Monte Carlo) -> studies (sweep,
frontier, bench, heuristics) -> output (result, report, plot, files); ``api`` and ``cli`` on top.
"""
from allocator.api import load, optimize, score, solve, verify
from allocator.inputs.catalog import Catalog, load_catalog
from allocator.errors import AllocatorError, InfeasibleError, InputError, SolverError
from allocator.optim.evaluate import Metrics, evaluate
from allocator.optim.problem import Plan, Problem
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import Profile, load_profile
from allocator.output.result import Result
from allocator.status import Status

__all__ = ["load", "optimize", "score", "solve", "verify", "Catalog", "load_catalog", "AllocatorError",
           "InfeasibleError", "InputError", "SolverError", "Metrics", "evaluate", "Plan", "Problem",
           "build_problem", "Profile", "load_profile", "Result", "Status"]
__version__ = "0.1.0"
