"""allocator: choose which residency programs to apply to.

The list is a portfolio: maximize P(at least one match) (or expected utility) within an ERAS
fee budget, an application count and a cap on the Los Angeles share; solved exactly
(count scan or CBC integer program with outer approximation), checked by Monte Carlo.

Pipeline, one module each: profile/catalog -> probability -> problem -> formulation ->
solver (fastpath) -> result -> simulate -> report / plot.
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
