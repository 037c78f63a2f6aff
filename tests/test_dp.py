"""The dynamic program (allocator.optim.dp): brute force on small instances, the integer
program on medium ones, its fall-backs, and the path the solve takes."""
import json

import numpy as np
import pandas as pd
import pytest

from allocator.cli import main
from allocator.errors import InputError
from allocator.inputs.catalog import catalog_from_frame
from allocator.inputs.profile import profile_from_dict
from allocator.optim import dp, feasibility, pipeline
from allocator.optim.assemble import build_problem

from .helpers import brute_force


def catalog_frame(rng, n, *, cents=False, low_p=False):
    """``low_p``: p log-uniform from 0.001 (else uniform from 0.01) to 0.5, and the last program
    a near-tie of the first: a dollar cheaper, p lower by 0.3%.  Then a list a little cheaper
    and a little worse (by 3e-6 to 3e-3 in -ln(1 - p)) than the best exists, which a tie slack of 1e-3 would
    take (review 19: with p >= 0.01 every program adds >= 0.01 to the sum of -ln(1 - p))."""
    rows = []
    for i in range(n):
        la = rng.random() < 0.4
        fee = int(rng.integers(5, 40)) + (int(rng.integers(0, 100)) / 100 if cents else 0)
        p = np.exp(rng.uniform(np.log(0.001), np.log(0.5))) if low_p else rng.uniform(0.01, 0.5)
        rows.append({"program_id": f"P{i:03d}", "name": f"Program {i}", "specialty": "Internal Medicine",
                     "city": "Los Angeles" if la else "Columbus", "state": "CA" if la else "OH",
                     "la_area": str(la).lower(), "p_match": f"{p:.5f}",
                     "fee_extra": f"{fee:.2f}", "utility": str(int(rng.integers(1, 30)))})
    if low_p and n >= 2:
        first = rows[0]
        rows[-1] |= {"p_match": f"{float(first['p_match']) * 0.997:.6f}", "utility": first["utility"],
                     "fee_extra": f"{max(1.0, float(first['fee_extra']) - 1):.2f}"}
    return pd.DataFrame(rows)


def problem(rng, n, objective, *, cents=False, budget=None, season="none", correlation=0.0, low_p=False,
            **strategy):
    df = catalog_frame(rng, n, cents=cents, low_p=low_p)
    st = {"budget": float(budget if budget is not None else rng.integers(30, 150)), "season": season,
          "max_applications": n, "la_share_max": 1.0, "correlation": correlation, "objective": objective} | strategy
    return build_problem(catalog_from_frame(df, "<dp test>"), profile_from_dict({"strategy": st}, "<dp test>"))


def draw_limits(rng, ids):
    """Random limits the dynamic program enforces (must_apply, counts, an LA cap of 0) or only
    checks (another LA cap)."""
    mx = int(rng.choice([len(ids), 3, 5]))
    return {"max_applications": mx, "min_applications": int(rng.choice([0, 0, min(2, mx)])),
            "la_share_max": float(rng.choice([1.0, 1.0, 0.5, 0.0])),
            "must_apply": list(rng.permutation(ids)[:int(rng.integers(0, 2))])}


@pytest.mark.parametrize("objective", ["p_match", "utility"])
def test_dp_equals_brute_force(objective):
    """n <= 12, whole dollars and cents, must_apply, count limits and LA caps, a third of the
    draws with p down to 0.001 and a near-tie: the answer (by the dynamic program, or the
    integer program when the LA cap binds) is the brute-force optimum, and a list the dynamic
    program returns meets every limit."""
    rng = np.random.default_rng(7 if objective == "p_match" else 8)
    paths = {"dp": 0, "milp": 0}
    for trial in range(40):
        n = int(rng.integers(6, 13))
        ids = [f"P{i:03d}" for i in range(n)]
        pr = problem(rng, n, objective, cents=trial % 2 == 1, low_p=trial % 3 == 2, **draw_limits(rng, ids))
        assert dp.applicable(pr, objective)
        out = pipeline.optimize(pr, objective)
        best, _ = brute_force(pr, objective)
        if best is None:
            assert not out.status.has_list
            continue
        paths[out.path] += 1
        assert out.status.has_list and out.objective == pytest.approx(best, abs=1e-9), trial
        assert feasibility.is_feasible(pr, out.plan)
    assert paths["dp"] >= 25  # most draws are answered without the integer program


@pytest.mark.parametrize("objective", ["p_match", "utility"])
def test_dp_equals_integer_program(objective):
    """Medium instances with season "none" costs (fee_extra alone): the same optimum as
    --method milp to 1e-9, with a must_apply program and a binding count limit in one."""
    rng = np.random.default_rng(21 if objective == "p_match" else 22)
    for k, extra in enumerate([{}, {"must_apply": ["P003"], "max_applications": 6}]):
        pr = problem(rng, 40, objective, budget=[180, 160][k], cents=k == 1, **extra)
        assert pr.schedule.fee(10) == 0
        a = pipeline.optimize(pr, objective)
        b = pipeline.optimize(pr, objective, method="milp")
        assert a.path == "dp" and b.path == "milp"
        assert a.status.value == "optimal" and b.status.value == "optimal"
        assert a.objective == pytest.approx(b.objective, abs=1e-9)
        assert feasibility.is_feasible(pr, a.plan) and pr.list_cost(a.plan.idx)[0] <= pr.budget + 1e-9


def test_budget_override_and_cheapest_tie():
    """optimize(budget=...) answers to that budget; with a budget above every program's total
    the list is everything useful and costs no more than it needs."""
    rng = np.random.default_rng(3)
    pr = problem(rng, 10, "p_match", budget=1e6)
    out = pipeline.optimize(pr, "p_match")
    assert out.path == "dp" and len(out.plan) == pr.n
    low = pipeline.optimize(pr, "p_match", budget=60.0)
    best, _ = brute_force(pr.with_limits(budget=60.0))
    assert low.objective == pytest.approx(best, abs=1e-12) and pr.list_cost(low.plan.idx)[0] <= 60 + 1e-9


def test_when_the_dp_does_not_apply():
    """Correlated outcomes, tiered ERAS fees over two specialties, fractions of a cent, the LA
    objective: the
    dynamic program does not apply, auto takes another path and --method dp says why."""
    rng = np.random.default_rng(5)
    two = catalog_frame(rng, 8)
    two.loc[::2, "specialty"] = "Family Medicine"
    two_specs = build_problem(catalog_from_frame(two, "<dp test>"), profile_from_dict(
        {"strategy": {"budget": 100.0, "season": "2026", "correlation": 0.0, "la_share_max": 1.0}}, "<dp test>"))
    cases = [problem(rng, 8, "p_match", correlation=0.3), two_specs]
    odd = problem(rng, 8, "p_match")
    cases.append(odd.__class__(**{**{f: getattr(odd, f) for f in odd.__dataclass_fields__ if f != "_cache"},
                                  "extra": odd.extra + 0.005}))
    for pr in cases:
        assert not dp.applicable(pr, "p_match")
        assert pipeline.choose_path(pr, "p_match", "auto") in ("fast", "milp")
        with pytest.raises(InputError, match="--method dp needs independent outcomes"):
            pipeline.choose_path(pr, "p_match", "dp")
    ok = problem(rng, 8, "p_match")
    assert dp.applicable(ok, "p_match") and dp.applicable(ok, "min_cost")
    assert not dp.applicable(ok, "la_given_target")
    assert pipeline.choose_path(ok, "la_given_target", "auto") == "milp"


def test_count_dimension_too_large_falls_back(monkeypatch):
    """When a binding count limit would need a table above MAX_CELLS, the integer program answers."""
    rng = np.random.default_rng(11)
    pr = problem(rng, 10, "utility", budget=400, max_applications=2)
    full = pipeline.optimize(pr, "utility")
    assert full.path == "dp"
    monkeypatch.setattr(dp, "MAX_CELLS", 10 * 401 + 1)  # the 1-D table fits, the count dimension does not
    out = pipeline.optimize(pr, "utility")
    best, _ = brute_force(pr, "utility")
    assert out.path == "milp" and out.objective == pytest.approx(best, abs=1e-9)
    assert full.objective == pytest.approx(best, abs=1e-9)


def test_infeasible_must_apply_is_reported(capsys, tmp_path):
    """must_apply programs that alone exceed the budget: infeasible (exit 3, the budget named)."""
    rng = np.random.default_rng(4)
    df = catalog_frame(rng, 6)
    df["fee_extra"] = "50"
    cat = tmp_path / "c.csv"
    df.to_csv(cat, index=False)
    prof = tmp_path / "p.toml"
    prof.write_text('[strategy]\nbudget = 80\nseason = "none"\ncorrelation = 0\nla_share_max = 1.0\n'
                    'must_apply = ["P000", "P001"]\n')
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), "--catalog", str(cat), "--json", "--draws", "0"])
    err = capsys.readouterr().err
    assert e.value.code == 3 and "budget" in err


def test_cli_reports_the_dp_path(capsys, tmp_path):
    rng = np.random.default_rng(9)
    cat = tmp_path / "c.csv"
    catalog_frame(rng, 30, cents=True).to_csv(cat, index=False)
    prof = tmp_path / "p.toml"
    prof.write_text('[strategy]\nbudget = 150\nseason = "none"\ncorrelation = 0\nla_share_max = 1.0\n'
                    'max_applications = 30\nobjective = "utility"\n')
    outs = {}
    for method in ("auto", "milp"):
        with pytest.raises(SystemExit) as e:
            main(["solve", str(prof), "--catalog", str(cat), "--json", "--draws", "2000", "--method", method])
        cap = capsys.readouterr()
        assert e.value.code == 0, cap.err
        outs[method] = json.loads(cap.out)
    assert outs["auto"]["solver"]["path"] == "dp" and outs["auto"]["solver"]["name"] == "dynamic-program"
    assert outs["milp"]["solver"]["path"] == "milp"
    assert outs["auto"]["status"] == "optimal"
    assert outs["auto"]["expected_utility"] == pytest.approx(outs["milp"]["expected_utility"], abs=1e-9)


def test_budget_sweep_takes_the_dp():
    """A budget sweep on season "none" costs: every point by the dynamic program, each the
    integer program's optimum to 1e-9."""
    from allocator.studies.sweep import sweep

    rng = np.random.default_rng(13)
    pr = problem(rng, 20, "utility", budget=100)
    vals = [20, 60, 100, 140]
    fast = sweep(pr, "budget", vals, mode="utility")
    milp = sweep(pr, "budget", vals, mode="utility", method="milp")
    assert (fast["path"] == "dp").all() and (fast["status"] == "optimal").all()
    assert np.allclose(fast["expected_utility"], milp["expected_utility"], atol=1e-9, rtol=0)


def test_min_cost_equals_brute_force():
    """--min-cost by the dynamic program: the cheapest list reaching the target (brute force),
    with must_apply and count limits; an unreachable target is left to the integer program's
    search, which reports it infeasible."""
    rng = np.random.default_rng(17)
    seen = 0
    for trial in range(30):
        n = int(rng.integers(6, 12))
        ids = [f"P{i:03d}" for i in range(n)]
        pr = problem(rng, n, "p_match", cents=trial % 2 == 0, **draw_limits(rng, ids))
        target = float(rng.choice([0.3, 0.6, 0.8, 0.95]))
        best, _ = brute_force(pr.with_limits(budget=np.inf), "min_cost", target)
        out = pipeline.optimize(pr, "min_cost", target=target)
        if best is None:
            assert not out.status.has_list and out.path == "milp"
            continue
        seen += out.path == "dp"
        assert out.status.value == "optimal" and out.objective == pytest.approx(-best, abs=1e-9), trial
        assert pr.list_cost(out.plan.idx)[0] == pytest.approx(-best, abs=1e-9)
        assert feasibility.is_feasible(pr.with_limits(budget=np.inf), out.plan)
    assert seen >= 10


@pytest.mark.parametrize("objective", ["p_match", "utility"])
def test_certain_programs_and_exact_counts(objective):
    """Programs with p = 1 (a step that forgets the rest) under must_apply and a binding
    minimum count (the count dimension with its -inf states): still the brute-force optimum."""
    rng = np.random.default_rng(31 if objective == "p_match" else 32)
    for trial in range(12):
        n = 9
        df = catalog_frame(rng, n, cents=trial % 2 == 1)
        df.loc[[1, 4], "p_match"] = "1.0"
        st = {"budget": float(rng.integers(40, 120)), "season": "none", "max_applications": int(rng.integers(4, 8)),
              "min_applications": 4, "la_share_max": 1.0, "correlation": 0.0, "objective": objective,
              "must_apply": ["P001"] if trial % 3 == 0 else []}
        pr = build_problem(catalog_from_frame(df, "<dp test>"), profile_from_dict({"strategy": st}, "<dp test>"))
        out = pipeline.optimize(pr, objective)
        best, _ = brute_force(pr, objective)
        if best is None:
            assert out.status.value == "infeasible" and out.path == "dp"
            continue
        assert out.path == "dp" and out.objective == pytest.approx(best, abs=1e-9), trial
        assert feasibility.is_feasible(pr, out.plan)


def test_la_cap_zero_and_one_specialty_limits_stay_on_the_dp():
    """An LA cap of 0 leaves the LA programs out, and a single specialty's limits are count
    limits: both answered by the dynamic program, equal to the integer program to 1e-9."""
    rng = np.random.default_rng(41)
    for objective in ("p_match", "utility"):
        for limits in ({"la_share_max": 0.0}, {"specialty_limits": {"Internal Medicine": {"min": 5, "max": 7}}}):
            pr = problem(rng, 24, objective, budget=150, **limits)
            a = pipeline.optimize(pr, objective)
            b = pipeline.optimize(pr, objective, method="milp")
            assert a.path == "dp" and a.status.value == b.status.value == "optimal"
            assert a.objective == pytest.approx(b.objective, abs=1e-9)
            assert feasibility.is_feasible(pr, a.plan)


@pytest.mark.parametrize("season", ["2024", "2026"])
def test_tiered_eras_fees_one_specialty(season):
    """ERAS tiers (2024's flat $99 block, 2026's $11 then $30) with fee_extra in one specialty:
    the count is a dimension of the program; both objectives and --min-cost equal brute force
    (half the objectives' draws with p down to 0.001, where a tie slack would show)."""
    from .helpers import random_problem

    rng = np.random.default_rng(51 if season == "2024" else 52)
    paths = []
    for trial in range(24):
        objective = ["p_match", "utility", "min_cost"][trial % 3]
        pr = random_problem(rng, 10, extras=True, season=season, must_never=True, affordable=True,
                            objective="utility" if objective == "utility" else "p_match",
                            low_p=objective != "min_cost" and trial % 2 == 1)
        target = 0.6 if objective == "min_cost" else None
        out = pipeline.optimize(pr, objective, target=target)
        ref = pr.with_limits(budget=np.inf) if objective == "min_cost" else pr
        best, _ = brute_force(ref, objective, target)
        paths.append(out.path)
        if best is None:
            assert not out.status.has_list
            continue
        want = -best if objective == "min_cost" else best
        assert out.status.value == "optimal" and out.objective == pytest.approx(want, abs=1e-9), trial
        assert feasibility.is_feasible(ref, out.plan)
    assert paths.count("dp") >= 12
