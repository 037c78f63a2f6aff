"""Hand-checkable instances with known optima, and the solve pipeline end to end."""
import numpy as np
import pandas as pd
import pytest

from allocator import Plan, optimize, solve
from allocator.inputs.catalog import catalog_from_frame
from allocator.optim.evaluate import evaluate
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict

from .helpers import mc_close


def make(p, la, strategy):
    n = len(p)
    df = pd.DataFrame({"program_id": [f"P{i}" for i in range(n)], "name": [f"n{i}" for i in range(n)],
                       "specialty": "Internal Medicine", "city": ["Los Angeles" if x else "Columbus" for x in la],
                       "state": ["CA" if x else "OH" for x in la], "la_area": la, "p_match": p})
    # hand-checked optima of P(match): the objective is set (the profile default is safety_first)
    return build_problem(catalog_from_frame(df), profile_from_dict({"strategy": {"objective": "p_match"} | strategy}))


@pytest.mark.parametrize("method", ["fast", "milp"])
def test_budget_for_two(method):
    pr = make([0.5, 0.4, 0.3], [False] * 3, {"budget": 22, "correlation": 0.0})
    out = optimize(pr, method=method)
    assert out.plan.idx == (0, 1)
    assert out.objective == pytest.approx(1 - 0.5 * 0.6, abs=1e-12)


@pytest.mark.parametrize("method", ["fast", "milp"])
def test_la_cap_forces_a_non_la_program(method):
    # two strong LA programs and one weak non-LA one; at most half LA
    pr = make([0.6, 0.5, 0.1], [True, True, False], {"budget": 1000, "la_share_max": 0.5, "correlation": 0.0})
    out = optimize(pr, method=method)
    # {LA, LA, non-LA} breaks the cap (2/3); the best is one LA + the non-LA
    assert out.plan.idx == (0, 2)
    assert out.objective == pytest.approx(1 - 0.4 * 0.9, abs=1e-12)


@pytest.mark.parametrize("method", ["fast", "milp"])
def test_must_and_never(method):
    pr = make([0.5, 0.4, 0.3, 0.05], [False] * 4,
              {"budget": 22, "correlation": 0.0, "must_apply": ["P3"], "never_apply": ["P0"]})
    out = optimize(pr, method=method)
    ids = [pr.ids[i] for i in out.plan.idx]
    assert sorted(ids) == ["P1", "P3"]


def test_fee_jump_at_31_programs():
    # 31 equal programs: the 31st costs $30, so $330 buys 30 and $360 buys 31
    pr = make([0.02] * 31, [False] * 31, {"budget": 359, "correlation": 0.0})
    assert len(optimize(pr).plan) == 30
    pr = make([0.02] * 31, [False] * 31, {"budget": 360, "correlation": 0.0})
    assert len(optimize(pr).plan) == 31


def test_one_program_p_at_any_correlation():
    pr = make([0.3, 0.2], [False, False], {"budget": 11, "correlation": 0.6})
    out = optimize(pr, method="milp")
    assert out.objective == pytest.approx(0.3, abs=1e-9)


def test_solve_runs_the_simulation_within_4_standard_errors():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.2, 25)
    la = rng.random(25) < 0.3
    pr = make(p, la, {"budget": 300, "la_share_max": 0.3, "correlation": 0.35})
    res = solve(None, problem=pr, draws=100_000, seed=3)
    assert mc_close(res.mc.p_match, res.p_match, 100_000)  # 4 SE of the analytic value
    d = res.to_dict()
    for key in ("status", "objective", "p_match", "p_match_independent", "p_match_la", "mc", "n_applications",
                "n_la", "la_share", "cost", "selected", "solver", "constraints"):
        assert key in d
    assert d["p_match_independent"] > d["p_match"]  # correlation lowers P(>=1) for lists of 2+
    assert d["n_la"] <= 0.3 * d["n_applications"] + 1e-9
    assert d["cost"]["total"] <= 300
    m = evaluate(pr, Plan.of(pr.index_of([s["program_id"] for s in d["selected"]])))
    assert m.p_match == pytest.approx(d["p_match"], abs=1e-12)


def _verify_case():
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.2, 12)
    pr = make(p, [False] * 12, {"budget": 300, "correlation": 0.35})
    plan = Plan.of(range(12))
    return pr, plan, evaluate(pr, plan).p_match


def test_verify_raises_when_the_simulation_disagrees_with_the_analytic_value():
    """api.verify's alarm: at 20 000 draws and P near 0.6 the standard error is 0.0035, so the true
    value passes and a value 0.05 (14 standard errors) off either way raises."""
    from allocator.api import verify
    from allocator.errors import SolverError

    pr, plan, truth = _verify_case()
    assert 0.4 < truth < 0.8
    mc = verify(pr, plan, draws=20_000, seed=2, p_analytic=truth)
    assert mc_close(mc.p_match, truth, 20_000)
    for wrong in (truth + 0.05, truth - 0.05):
        with pytest.raises(SolverError, match="verification failed"):
            verify(pr, plan, draws=20_000, seed=2, p_analytic=wrong)


def test_solve_raises_when_the_exact_evaluator_overstates_p_match(monkeypatch):
    """An evaluator off by +0.05 in P(match) must not reach the user: solve's simulation catches it."""
    import dataclasses

    import allocator.api as api
    from allocator.errors import SolverError

    pr, _, _ = _verify_case()
    assert solve(None, problem=pr, draws=20_000, seed=1, compare=False).p_match > 0.4  # sound: no alarm
    real = api.evaluate

    def overstated(*args, **kwargs):
        m = real(*args, **kwargs)
        return dataclasses.replace(m, p_match=m.p_match + 0.05)

    monkeypatch.setattr(api, "evaluate", overstated)
    with pytest.raises(SolverError, match="verification failed"):
        solve(None, problem=pr, draws=20_000, seed=1, compare=False)
