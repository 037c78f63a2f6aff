"""allocator: choose which residency programs to apply to.

The list is a portfolio: maximize P(at least one match) (or expected utility) within an ERAS
fee budget, an application count and a cap on the Los Angeles share; solved exactly
(count scan or CBC integer program with outer approximation), checked by Monte Carlo.

Pipeline, one module each: profile/catalog -> probability -> problem -> formulation ->
solver (fastpath) -> result -> simulate -> report / plot.
"""
from .api import load, optimize, score, solve, verify
from .catalog import Catalog, load_catalog
from .errors import AllocatorError, InfeasibleError, InputError, SolverError
from .evaluate import Metrics, evaluate
from .problem import Plan, Problem, build_problem
from .profile import Profile, load_profile
from .result import Result
from .status import Status

__all__ = ["load", "optimize", "score", "solve", "verify", "Catalog", "load_catalog", "AllocatorError",
           "InfeasibleError", "InputError", "SolverError", "Metrics", "evaluate", "Plan", "Problem",
           "build_problem", "Profile", "load_profile", "Result", "Status"]
__version__ = "0.1.0"
