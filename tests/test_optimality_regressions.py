"""Instances a randomized brute-force audit found answered wrongly, pinned with their brute
force: a local search that broke specialty_limits behind an "optimal" LA-leaning list, a floor
a hair above the best P(match) reported as a solver failure, and a program with no Census
division letting "" be chosen as the geographic preference."""
from __future__ import annotations

import io
import itertools

import numpy as np
import pandas as pd
import pytest

from allocator.api import optimize
from allocator.inputs.catalog import catalog_from_frame
from allocator.inputs.profile import profile_from_dict
from allocator.optim import feasibility
from allocator.optim.assemble import build_problem
from allocator.optim.evaluate import evaluate
from allocator.optim.problem import Plan
from allocator.status import Status
from allocator.studies.frontier import frontier

HEAD = "program_id,name,specialty,city,state,la_area,p_match,fee_extra\n"
LIMITED = HEAD + """P00,Prog 0,Internal Medicine,Fresno,CA,false,0.29309,12.34
P01,Prog 1,Internal Medicine,Columbus,OH,false,0.19285,0.99
P02,Prog 2,Internal Medicine,Denver,CO,false,0.02601,40.00
P03,Prog 3,Family Medicine,Seattle,WA,false,0.10560,0.00
P04,Prog 4,Family Medicine,Columbus,OH,false,0.26382,0.00
P05,Prog 5,Family Medicine,Los Angeles,CA,true,0.43841,0.99
P06,Prog 6,Family Medicine,Pasadena,CA,true,0.21249,12.34
P07,Prog 7,Internal Medicine,Fresno,CA,false,0.30740,12.34
"""
NEAR_FLOOR = HEAD + """P00,Prog 0,Internal Medicine,Los Angeles,CA,true,0.18056,0.00
P01,Prog 1,Internal Medicine,Atlanta,GA,false,0.02061,0.00
P02,Prog 2,Internal Medicine,Chicago,IL,false,0.42848,60.00
P03,Prog 3,Internal Medicine,Los Angeles,CA,true,0.40319,0.00
P04,Prog 4,Internal Medicine,Pasadena,CA,true,0.35086,15.00
P05,Prog 5,Internal Medicine,Pasadena,CA,true,0.34889,0.00
P06,Prog 6,Internal Medicine,Denver,CO,false,0.49264,0.00
P07,Prog 7,Internal Medicine,Atlanta,GA,false,0.09016,60.00
P08,Prog 8,Internal Medicine,Phoenix,AZ,false,0.14622,0.00
"""
# a two-stage catalog slice (synthetic demo rows) with a Puerto Rico program, which has no Census division
WITH_PR = """program_id,name,specialty,city,state,county,la_area,region,division,setting,positions,img_share,\
min_step2,max_attempts,max_years_since_graduation,fee_extra,synthetic
IM-0035,Synthetic 35,Internal Medicine,Colton,CA,San Bernardino,True,West,Pacific,county,18,0.15,,,,5.00,True
IM-0059,Synthetic 59,Internal Medicine,Montclair,CA,San Bernardino,True,West,Pacific,community,7,0.14,,,5,0.00,True
IM-0100,Synthetic 100,Internal Medicine,Whittier,CA,Los Angeles,True,West,Pacific,community,4,0.28,,,,0.00,True
IM-0570,Synthetic 570,Internal Medicine,Gallipolis,OH,,False,Midwest,East North Central,community,5,0.75,,,,0.00,True
IM-0647,Synthetic 647,Internal Medicine,Bayamon,PR,,False,,,community,7,0.93,,,5,60.00,True
IM-0388,Synthetic 388,Internal Medicine,St Louis,MO,,False,Midwest,West North Central,university,11,0.62,230,1,,15.00,True
"""


def _problem(csv: str, strategy: dict, applicant: dict | None = None):
    doc = {"strategy": strategy} | ({"applicant": applicant} if applicant else {})
    cat = catalog_from_frame(pd.read_csv(io.StringIO(csv), dtype=str), "<test>")
    return build_problem(cat, profile_from_dict(doc, "<test>"))


def _best_at(problem, floor: float) -> tuple[float, float]:
    """Brute force over every feasible subset meeting the P(match) floor: (best E[U], best P(match in LA))."""
    best_eu = best_la = -1.0
    for r in range(min(problem.n, problem.max_apps) + 1):
        for idx in itertools.combinations(range(problem.n), r):
            plan = Plan.of(idx)
            if feasibility.violations(problem, plan):
                continue
            m = evaluate(problem, plan, correlations=())
            if m.p_match >= floor - 1e-12:
                best_eu, best_la = max(best_eu, m.expected_utility), max(best_la, m.p_match_la)
    return best_eu, best_la


def _best_la(problem, floor: float) -> float:
    return _best_at(problem, floor)[1]


@pytest.fixture(scope="module")
def limited():
    return _problem(LIMITED, {"budget": 71.07, "season": "none", "max_applications": 6, "min_applications": 1,
                              "la_share_max": 0.5, "correlation": 0.0, "objective": "p_match_la",
                              "specialty_limits": {"Family Medicine": {"min": 0, "max": 1}}})


def test_la_leaning_list_keeps_specialty_limits_and_is_the_brute_force_best(limited):
    out = optimize(limited, "la_given_target", target=0.39192, method="milp")
    assert out.status is Status.OPTIMAL and not feasibility.violations(limited, out.plan)
    assert evaluate(limited, out.plan, correlations=()).p_match_la == pytest.approx(_best_la(limited, 0.39192),
                                                                                       abs=1e-7)


def test_frontier_rows_keep_specialty_limits(limited):
    df = frontier(limited, [0.39192, 0.6])
    for _, row in df.iterrows():
        ids = row["program_ids"].split()
        plan = Plan.of(limited.index_of(ids))
        assert row["status"] == "optimal" and not feasibility.violations(limited, plan)
        assert row["p_match_la"] == pytest.approx(_best_la(limited, row["target"]), abs=1e-7)


def test_a_floor_a_hair_above_the_best_p_match_is_infeasible_not_a_solver_failure():
    pr = _problem(NEAR_FLOOR, {"budget": 151.52, "season": "2026", "max_applications": 100, "la_share_max": 1.0,
                               "correlation": 0.6})
    best = optimize(pr, "p_match", method="milp")
    assert best.status is Status.OPTIMAL
    for above in (5e-7, 1e-3):
        out = optimize(pr.with_limits(objective="p_match_la"), "la_given_target", target=best.objective + above)
        assert out.status is Status.INFEASIBLE


def test_no_census_division_is_never_chosen_as_the_geographic_preference():
    applicant = {"specialties": ["Internal Medicine"], "step2_score": 228, "exam_attempts": 0, "usce_months": 0,
                 "usce_california_months": 0, "la_ties": False, "years_since_graduation": 0}
    pr = _problem(WITH_PR, {"budget": 142.13, "season": "2026", "max_applications": 6, "signals": "none",
                            "geographic_preference": "optimize", "max_divisions": 1, "objective": "p_match"},
                  applicant)
    out = optimize(pr, "p_match", method="milp")
    assert out.status is Status.OPTIMAL and "" not in out.plan.divisions
    divisions = [()] + [(d,) for d in sorted(set(pr.division_array) - {""})]
    best = max(evaluate(pr, Plan.of(idx, None, d), correlations=()).p_match
               for d in divisions for r in range(pr.n + 1) for idx in itertools.combinations(range(pr.n), r)
               if not feasibility.violations(pr, Plan.of(idx, None, d)))
    assert out.objective == pytest.approx(best, abs=1e-7)
    assert evaluate(pr, out.plan, correlations=()).p_match == pytest.approx(best, abs=1e-7)


def test_a_sweep_point_where_only_zero_utility_programs_fit_says_so():
    """Expected utility with only utility-0 programs affordable: the empty list is the best,
    and the row says why (programs do fit), not "no program fits"."""
    from allocator.studies.sweep import sweep

    pr = _problem(LIMITED, {"budget": 100.0, "season": "none", "max_applications": 6, "correlation": 0.0,
                            "objective": "utility", "utility": {"la": 1.0, "west": 0.0, "elsewhere": 0.0}})
    df = sweep(pr, "budget", [0.5])  # only P03 (Seattle) and P04 (Columbus) cost nothing: both utility 0
    assert df.loc[0, "status"] == "infeasible" and "utility 0" in df.loc[0, "message"]


def test_a_list_found_before_the_optimum_is_valued_as_the_list_it_is():
    """A master point that chose a division but left a listed program there in its plain state
    (an incumbent at a time limit) is the list with that preference, worth more than the point:
    the reported value is the list's (it was the point's: 0.9290 for a list worth 0.9688)."""
    from types import SimpleNamespace

    from allocator.optim.builder import build
    from allocator.optim.outer import _Loop

    from .test_twostage import factor_problem

    pr = factor_problem(np.random.default_rng(4), n=8, gold=1, silver=0, divisions=1)
    pr = pr.with_limits(budget=1e6, max_apps=8, la_share_max=1.0)
    cand = np.arange(pr.n)
    f = build(pr, cand, "p_match")
    listed, div = [0, 1, 2], str(pr.division_array[0])
    for j, v in enumerate(f.x):
        v.varValue = 1.0 if j in listed else 0.0
    for st in f.states:  # every listed program plain, though its division is chosen
        for j, v in enumerate(f.blocks[st.name]):
            v.varValue = 1.0 if (j in listed and st.signal is None and not st.preferred) else 0.0
    for d, g in f.g.items():
        g.varValue = 1.0 if d == div else 0.0
    plan = f.plan()
    assert plan.divisions == (div,)
    assert any(not np.array_equal(f.values_at(plan)[k], v) for k, v in f.values().items())
    loop = _Loop(f, pr, "highs", len(cand))
    loop.read(SimpleNamespace(bound=None, proven=False, status=Status.FEASIBLE, seconds=0.0, total_seconds=0.0))
    preferred = evaluate(pr, plan, correlations=()).p_match
    plain = evaluate(pr, Plan.of(listed), correlations=()).p_match
    assert preferred > plain + 1e-6  # the preference is worth something here, so the test can fail
    assert 1.0 - loop.best_min == pytest.approx(preferred, abs=1e-12) and loop.best_plan == plan


# 17 programs (over SETTLE_MIN_CANDIDATES: the floored steps are settled), at most 4 applications
WIDE = """program_id,name,specialty,city,state,la_area,p_match,fee_extra
P00,Prog 0,Internal Medicine,Columbus,OH,false,0.04771,11.91
P01,Prog 1,Internal Medicine,Los Angeles,CA,true,0.04967,14.04
P02,Prog 2,Internal Medicine,Pasadena,CA,true,0.06658,14.32
P03,Prog 3,Internal Medicine,Atlanta,GA,false,0.07559,20.98
P04,Prog 4,Internal Medicine,Atlanta,GA,false,0.09898,12.97
P05,Prog 5,Internal Medicine,Boston,MA,false,0.10284,16.53
P06,Prog 6,Internal Medicine,Phoenix,AZ,false,0.12521,23.44
P07,Prog 7,Internal Medicine,Los Angeles,CA,true,0.14152,17.43
P08,Prog 8,Internal Medicine,Atlanta,GA,false,0.15715,25.52
P09,Prog 9,Internal Medicine,Phoenix,AZ,false,0.21354,25.92
P10,Prog 10,Internal Medicine,Seattle,WA,false,0.30452,31.97
P11,Prog 11,Internal Medicine,Los Angeles,CA,true,0.32072,33.99
P12,Prog 12,Internal Medicine,Chicago,IL,false,0.32220,38.44
P13,Prog 13,Internal Medicine,Columbus,OH,false,0.32359,36.37
P14,Prog 14,Internal Medicine,Seattle,WA,false,0.32445,39.43
P15,Prog 15,Internal Medicine,Los Angeles,CA,true,0.38490,39.89
P16,Prog 16,Internal Medicine,Denver,CO,false,0.44166,42.64
"""


def test_a_settled_step_whose_root_leaves_a_wide_gap_gets_the_integer_program():
    """With 4 applications no single move reaches the lists that change two programs at once:
    the settled steps stopped 12 points of E[U] short (and at P(match in LA) 0 where 0.38 was
    reachable), within the gaps they stated.  A root gap of WIDE_GAP or more now gets the
    integer program, which proves both (brute force agrees)."""
    from allocator.optim.safety import safety_first

    pr = _problem(WIDE, {"budget": 87.6, "season": "none", "max_applications": 4, "la_share_max": 0.34,
                         "safety_margin": 0.1, "utility": {"la": 1.0, "west": 0.5, "elsewhere": 0.6},
                         "correlation": 0.6})
    sf = safety_first(pr)
    best_eu, best_la = _best_at(pr, sf.floor)
    assert sf.chosen.status is Status.OPTIMAL and sf.chosen.objective == pytest.approx(best_eu, abs=1e-7)
    assert sf.la_leaning.status is Status.OPTIMAL and sf.la_leaning.objective == pytest.approx(best_la, abs=1e-7)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_a_budget_passed_to_optimize_is_kept_as_the_problems_own(seed, engine):
    """optimize(problem, budget=B) below the problem's budget: the start list, built under the
    problem's own budget, was taken as the incumbent, so the answer could break B and be called
    optimal (or CBC raised "declared a relaxation infeasible after a feasible list").  It must
    equal the solve of problem.with_limits(budget=B), the brute-force best under B."""
    from .helpers import brute_force, random_problem

    rng = np.random.default_rng(7100 + seed)
    pr = random_problem(rng, 8, rho=[0.0, 0.3][seed % 2], extras=seed % 3 == 0).with_limits(budget=400.0)
    B = float(pr.schedule.fee(2) + [0, 15, 40][seed % 3])
    want, _ = brute_force(pr.with_limits(budget=B))
    out = optimize(pr, "p_match", budget=B, method="milp", engine=engine)
    if want is None:
        assert out.status is Status.INFEASIBLE
        return
    assert out.status is Status.OPTIMAL and not feasibility.violations(pr.with_limits(budget=B), out.plan)
    assert evaluate(pr, out.plan, correlations=()).p_match == pytest.approx(want, abs=1e-7)
