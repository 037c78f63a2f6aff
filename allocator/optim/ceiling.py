"""The ceiling of the LA-leaning objective: the best P(match in Greater LA) with no floor.

Every "best P(match in LA) with P(any match) >= floor" answer is at most the value with no
floor, C.  That value is cheap to prove (an exact solve in which only LA programs count:
0.4-1.3 s on the shipped profiles, against minutes for a floored solve), so a list that
reaches C and meets a floor is proven optimal at that floor, and at every lower one, with
no floored solve at all.  :func:`la_ceiling` returns C with a list reaching it whose
P(any match) a local search has raised as far as it can without giving up P(LA) (the
ceiling solve itself leaves the non-LA part of the list to chance).

Units: probabilities in [0, 1].
"""
from __future__ import annotations

from allocator.optim import feasibility, pipeline
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.optim.evaluate import evaluate
from allocator.optim.problem import Plan, Problem
from allocator.optim.tradeup import trade_up
from allocator.status import Status

TOL = 1e-7  # a list within this of C reaches the ceiling (the integer program's own tolerance)
LIFT_WEIGHT = 1e6  # the lift maximizes P(any) + LIFT_WEIGHT * P(LA): P(LA) first, P(any) second


def la_ceiling(problem: Problem, cand, *, time_limit: float | None = None, method: str = "auto",
               engine: str = DEFAULT_ENGINE) -> tuple[float, Plan] | None:
    """(C, list reaching C) under ``problem``'s limits, or None when the solve does not prove C
    (a time limit, no list).  ``cand``: the candidates the lift may draw from."""
    out = pipeline.optimize(problem.with_limits(objective="p_match_la"), "la_given_target", target=0.0,
                            time_limit=time_limit, method=method, engine=engine)
    if out.status is not Status.OPTIMAL or out.plan is None:
        return None
    lex = 1.0 + LIFT_WEIGHT * problem.la.astype(float)
    p_any = float(evaluate(problem, out.plan, correlations=()).p_match)
    lifted = trade_up(problem, out.plan, p_any, lex, cand)
    ok = not feasibility.violations(problem, lifted) and la_value(problem, lifted) >= float(out.objective) - TOL
    keep = lifted if ok else out.plan
    return float(out.objective), keep


def la_value(problem: Problem, plan: Plan) -> float:
    return float(evaluate(problem, plan, correlations=()).p_match_la)


def reaches(problem: Problem, ceiling: tuple[float, Plan] | None, plan: Plan | None, floor: float) -> bool:
    """True when ``plan`` meets the P(any match) ``floor`` and reaches the ceiling: then it is
    optimal for the LA-leaning objective at that floor."""
    return (ceiling is not None and plan is not None and la_value(problem, plan) >= ceiling[0] - TOL
            and float(evaluate(problem, plan, correlations=()).p_match) >= floor)
