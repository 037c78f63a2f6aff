"""Shared test helpers: random small problems and a brute-force oracle."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from allocator.catalog import catalog_from_frame
from allocator.evaluate import evaluate
from allocator.feasibility import is_feasible
from allocator.problem import Plan, build_problem
from allocator.profile import profile_from_dict


def random_catalog(rng: np.random.Generator, n: int, *, extras: bool = False, two_specs: bool = False,
                   p_lo: float = 0.01, p_hi: float = 0.45):
    rows = []
    for i in range(n):
        la = rng.random() < 0.4
        spec = "Family Medicine" if (two_specs and rng.random() < 0.4) else "Internal Medicine"
        rows.append({
            "program_id": f"P{i:02d}", "name": f"Test program {i}", "specialty": spec,
            "city": "Los Angeles" if la else ("Phoenix" if rng.random() < 0.3 else "Columbus"),
            "state": "CA" if la else "OH", "la_area": "true" if la else "false",
            "p_match": f"{rng.uniform(p_lo, p_hi):.5f}",
            "fee_extra": f"{rng.choice([0, 0, 15, 40]) if extras else 0}",
        })
    return catalog_from_frame(pd.DataFrame(rows), "<random>")


def random_problem(rng: np.random.Generator, n: int = 12, *, rho: float = 0.0, extras: bool = False,
                   season: str | None = None, must_never: bool = False, objective: str = "p_match",
                   two_specs: bool = False):
    cat = random_catalog(rng, n, extras=extras, two_specs=two_specs)
    ids = list(cat.df["program_id"])
    strategy = {
        "budget": float(rng.choice([40, 55, 88, 132, 200, 400])),
        "season": season or str(rng.choice(["2024", "2026"])),
        "max_applications": int(rng.choice([3, 4, 6, 8, 14])),
        "min_applications": int(rng.choice([0, 0, 0, 2])),
        "la_share_max": float(rng.choice([0.0, 0.25, 0.34, 0.5, 1.0])),
        "correlation": float(rho),
        "objective": objective,
    }
    if must_never:
        perm = rng.permutation(ids)
        strategy["must_apply"] = list(perm[: int(rng.integers(0, 2))])
        strategy["never_apply"] = list(perm[2: 2 + int(rng.integers(0, 3))])
    prof = profile_from_dict({"strategy": strategy}, "<random>")
    return build_problem(cat, prof)


def brute_force(problem, mode: str = "p_match", target: float | None = None):
    """Best value over every subset (n <= 14): (value, plan) or (None, None) if infeasible."""
    best, best_plan = None, None
    n = problem.n
    for k in range(0, min(n, problem.max_apps) + 1):
        for sub in itertools.combinations(range(n), k):
            plan = Plan.of(sub)
            if not is_feasible(problem, plan):
                continue
            m = evaluate(problem, plan, correlations=())
            if mode == "p_match":
                v = m.p_match
            elif mode == "utility":
                v = m.expected_utility
            elif mode == "min_cost":
                if m.p_match < target - 1e-12:
                    continue
                v = -m.cost
            elif mode == "la_given_target":
                if m.p_match < target - 1e-12:
                    continue
                v = m.p_match_la
            if best is None or v > best + 1e-15:
                best, best_plan = v, plan
    return best, best_plan
