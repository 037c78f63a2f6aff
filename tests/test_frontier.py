"""The P(any match) / P(match in LA) frontier: every point optimal, monotone trade, the
safest and the chosen list on the curve, the bare `--frontier` and its outputs."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from allocator.api import optimize
from allocator.cli.sweep import bare_frontier
from allocator.studies.frontier import COLUMNS, MARGINS, frontier, la_cap_binds, margin_frontier

from .helpers import brute_force, random_problem

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "data" / "catalogs" / "tiny_p_match.csv")
PROFILE = str(ROOT / "data" / "profiles" / "tiny_demo.toml")


@pytest.mark.parametrize("seed,method", [(0, "auto"), (1, "auto"), (2, "milp"), (3, "milp")])
def test_frontier_points_are_optimal_and_monotone(seed, method):
    rng = np.random.default_rng(600 + seed)
    pr = random_problem(rng, 10, rho=0.35, affordable=True)  # every seed: best P(match) 0.67 to 0.76
    best, _ = brute_force(pr)
    assert best is not None and best > 0.05, "the instance family must leave a frontier to trace"
    targets = np.linspace(0.1 * best, best - 1e-6, 5)
    df = frontier(pr, targets, method=method)  # one reused model on the MILP path
    ok = df[df.status == "optimal"]
    assert len(ok) == len(targets)  # every target up to the maximum is reachable
    for t, la in zip(ok.target, ok.p_match_la):
        want, _ = brute_force(pr, "la_given_target", t)
        assert la == pytest.approx(want, abs=1e-7)
    assert np.all(np.diff(ok.p_match_la.to_numpy()) <= 1e-9)  # safer lists give up LA chances
    assert np.all(ok.p_match.to_numpy() >= ok.target.to_numpy() - 1e-9)
    over = frontier(pr, [min(best + 0.01, 0.999)], method=method)
    assert over.status.iloc[0] == "infeasible"


@pytest.mark.parametrize("seed,method", [(10, "auto"), (11, "milp"), (12, "milp")])
def test_margin_frontier_exact_monotone_and_safest_is_max_p(seed, method):
    rng = np.random.default_rng(700 + seed)
    pr = random_problem(rng, 10, rho=0.3, affordable=True)
    best, _ = brute_force(pr)
    margins = (0.0, 0.01, 0.03, 0.08, 0.2)
    df = margin_frontier(pr, margins, method=method)
    assert list(df.kind) == ["safest"] + ["frontier"] * len(margins) + ["chosen"]
    safest, cur, chosen = df.iloc[0], df[df.kind == "frontier"], df.iloc[-1]
    assert safest.p_match == pytest.approx(best, abs=1e-7)  # the safest point is the max-P solve
    assert chosen.p_match == pytest.approx(best, abs=1e-7)  # objective p_match: chosen = safest
    assert cur.margin.tolist() == list(margins)
    for r in cur.itertuples():
        assert r.target == pytest.approx(max(0.0, safest.p_match - max(r.margin, 1e-6)))
        want, _ = brute_force(pr, "la_given_target", r.target)
        assert r.p_match_la == pytest.approx(want, abs=1e-7)  # each point optimal
        assert r.p_match >= r.target - 1e-9
        assert r.la_cap_binds == la_cap_binds(pr, r.n_la, r.n_applications)
        assert r.n_la + r.n_west + r.n_elsewhere == r.n_applications
    assert np.all(np.diff(cur.p_match_la.to_numpy()) >= -1e-9)  # P(LA) never falls as the floor falls
    assert cur.p_match_la.iloc[0] >= safest.p_match_la - 1e-9


def test_margin_frontier_marks_the_chosen_list_of_the_api():
    rng = np.random.default_rng(801)
    pr = random_problem(rng, 9, rho=0.2, affordable=True, objective="utility")
    calls = []

    def chosen(p):
        calls.append(p)
        return optimize(p)  # the profile's own objective through the public API

    df = margin_frontier(pr, (0.0, 0.05), chosen=chosen)
    assert len(calls) == 1 and df.kind.iloc[-1] == "chosen"
    from allocator.optim.evaluate import evaluate
    from allocator.optim.problem import Plan

    want, _ = brute_force(pr, "utility")
    plan = Plan.of(pr.index_of(df.program_ids.iloc[-1].split()))
    m = evaluate(pr, plan, correlations=())
    assert m.expected_utility == pytest.approx(want, abs=1e-7)  # the chosen row is the utility optimum
    assert (m.p_match, m.p_match_la) == pytest.approx((df.p_match.iloc[-1], df.p_match_la.iloc[-1]))


def test_la_cap_binds_definition():
    import dataclasses

    pr = random_problem(np.random.default_rng(5), 6)
    pr = dataclasses.replace(pr, la=np.array([True] * 4 + [False] * 2)).with_limits(la_share_max=0.3)
    assert la_cap_binds(pr, 3, 10) and not la_cap_binds(pr, 2, 10)
    assert not la_cap_binds(pr.with_limits(la_share_max=1.0), 10, 10)
    # every LA program already on the list (or none in the catalog): a higher cap could add none
    assert not la_cap_binds(pr, 4, 10) and not la_cap_binds(dataclasses.replace(pr, la=np.zeros(6, bool)), 0, 2)


@pytest.mark.parametrize("argv,want", [
    (["sweep", "P.toml", "--frontier"], ["sweep", "P.toml", "--frontier", "auto"]),
    (["sweep", "--frontier", "P.toml"], ["sweep", "--frontier", "auto", "P.toml"]),
    (["sweep", "P.toml", "--frontier", "--json"], ["sweep", "P.toml", "--frontier", "auto", "--json"]),
    (["sweep", "P.toml", "--frontier", "0.5:0.95:0.05"], ["sweep", "P.toml", "--frontier", "0.5:0.95:0.05"]),
    (["sweep", "P.toml", "--frontier", "auto"], ["sweep", "P.toml", "--frontier", "auto"]),
    (["sweep", "P.toml", "--frontier", "0.9"], ["sweep", "P.toml", "--frontier", "0.9"]),
    (["solve", "P.toml", "--frontier"], ["solve", "P.toml", "--frontier"]),
    (["sweep", "P.toml", "--frontier", "-0.5:0.5:0.1"], ["sweep", "P.toml", "--frontier", "-0.5:0.5:0.1"]),
    (["sweep", "P.toml", "--frontier", "-.5:0.5:0.1"], ["sweep", "P.toml", "--frontier", "-.5:0.5:0.1"]),
])
def test_bare_frontier_means_auto(argv, want):
    assert bare_frontier(argv) == want


def run(capsys, *args):
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_cli_frontier_targets_json_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "frontier.png"
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--frontier", "0.3:0.6:0.1", "--json",
                         "--plot", str(png))
    assert code == 0, err
    d = json.loads(out)
    assert d["param"] == "frontier" and d["mode"] == "target" and len(d["rows"]) == 4 and d["synthetic"] is True
    assert [r["target"] for r in d["rows"]] == pytest.approx([0.3, 0.4, 0.5, 0.6])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bare_frontier_flat_json_csv(capsys, tmp_path):
    csv = tmp_path / "f.csv"
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--frontier", "--csv", str(csv))
    assert code == 0, err
    assert "safest" in out and "chosen" in out and "chosen: safety_first" in out and "best" in out and "LA cap" in out
    assert "la_share_max 0.3" in out  # the tiny profile's LA-leaning lists fill the cap
    lines = csv.read_text().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 1 + len(MARGINS) + 2
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--frontier", "--margins", "0:0.02:0.01",
                         "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["mode"] == "margin" and [r["kind"] for r in d["rows"]] == ["safest"] + ["frontier"] * 3 + ["chosen"]
    assert set(COLUMNS) <= set(d["rows"][0])
    assert [r["margin"] for r in d["rows"][1:-1]] == pytest.approx([0.0, 0.01, 0.02])
    code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--frontier", "--margins", "0:1.5:0.5")
    assert code == 2 and "--margins" in err and "Traceback" not in err
    code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--margins", "0:0.1:0.05", "--budgets", "300")
    assert code == 2 and "--frontier" in err


@pytest.mark.parametrize("args, want", [
    (["--frontier", "-0.5:0.5:0.1"], "--frontier '-0.5:0.5:0.1': targets are probabilities strictly between 0 and 1"),
    (["--frontier", "--margins", "x"], "--margins 'x': not numbers; write --margins LO:HI:STEP, e.g. 0:0.1:0.01"),
    (["--budgets", "300:500:100", "--csv", "out.json"], "--csv out.json: --csv writes comma-separated values; "
                                                         "give the file a .csv name"),
])
def test_sweep_option_errors_say_what_to_write(capsys, tmp_path, monkeypatch, args, want):
    """A negative --frontier read as an unknown option ("No such option: -0"), the --margins error
    showed a budget range, and --csv out.json wrote CSV under a JSON name."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, *args)
    assert code == 2 and out == "" and err.startswith(f"allocator: error: {want}")
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_ceiling_settles_low_floors_without_a_solve(seed):
    """The best P(match in LA) with no floor (the ceiling) bounds every point: a floor the
    ceiling's own list meets is answered by that list, proven optimal, with no integer
    program, and the value equals brute force at that floor."""
    from allocator.studies.frontier import _LaSolver

    rng = np.random.default_rng(800 + seed)
    pr = random_problem(rng, 10, rho=0.35, affordable=True)
    solver = _LaSolver(pr.with_limits(objective="p_match_la"), "milp", None, "highs")
    top = solver.ceiling
    want, _ = brute_force(pr, "la_given_target", 0.0)
    assert top is not None and top[0] == pytest.approx(want, abs=1e-7)
    p_any = float(optimize(pr, "p_match").objective)
    from allocator.optim.evaluate import evaluate

    low = float(evaluate(pr, top[1], correlations=()).p_match)
    assert low <= p_any + 1e-9
    for floor in (0.5 * low, low - 1e-9):
        out = solver.solve(floor)
        assert out.status.value == "optimal" and out.solves == 0
        assert out.objective == pytest.approx(brute_force(pr, "la_given_target", floor)[0], abs=1e-7)
        # the exact solve of objective p_match_la takes the same shortcut
        plain = optimize(pr.with_limits(objective="p_match_la"), "la_given_target", target=floor, method="milp")
        assert plain.status.value == "optimal" and plain.solves == 0
        assert plain.objective == pytest.approx(out.objective, abs=1e-7)


def test_highs_time_limit_counts_from_now():
    """HiGHS compares time_limit with its run time summed over runs of one object; the
    engine sets the limit past the time already run, so a later run gets its full limit."""
    import highspy

    from allocator.optim.engines.highs import _set_time_limit

    h = highspy.Highs()
    h.silent()
    h.addVars(2, [0.0, 0.0], [1.0, 1.0])
    h.changeColsCost(2, [0, 1], [-1.0, -2.0])
    h.addRow(-highspy.kHighsInf, 1.5, 2, [0, 1], [1.0, 1.0])
    for _ in range(3):
        h.run()
    ran = h.getRunTime()
    assert ran > 0

    def limit():
        v = h.getOptionValue("time_limit")
        return v[1] if isinstance(v, tuple) else v  # (status, value) in some highspy versions

    _set_time_limit(h, 0.5)
    assert limit() == pytest.approx(ran + 0.5, rel=0, abs=1e-12)
    _set_time_limit(h, None)
    assert limit() == float("inf")


@pytest.mark.parametrize("seed", [30, 31, 32, 33])
def test_settled_frontier_points_state_honest_gaps(seed, monkeypatch):
    """Frontier points settled at the relaxation root (forced here on small instances): an
    "optimal" point is the brute-force optimum and a "feasible" one lies within its stated
    gap of it; every point meets its floor."""
    from allocator.optim import safety

    monkeypatch.setattr(safety, "SETTLE_MIN_CANDIDATES", 0)
    rng = np.random.default_rng(900 + seed)
    pr = random_problem(rng, 10, rho=0.35, affordable=True)
    best, _ = brute_force(pr)
    targets = np.linspace(0.5 * best, best - 1e-6, 4)
    df = frontier(pr, targets, method="milp")
    for r in df.itertuples():
        want, _ = brute_force(pr, "la_given_target", r.target)
        assert r.p_match >= r.target - 1e-9
        if r.status == "optimal":
            assert r.p_match_la == pytest.approx(want, abs=1e-7)
        else:
            assert r.status == "feasible" and np.isfinite(r.gap)
            assert r.p_match_la - 1e-9 <= want <= r.p_match_la + r.gap + 1e-7


def test_frontier_and_bench_tables_say_synthetic(tmp_path, capsys):
    """Every table written from the synthetic demo catalog says so, the frontier's and the bench's --csv included;
    an out-of-reach target's best P(match) says so too.  (The tiny synthetic catalog, 40 programs:
    the typical profile's three solves took 10-14 s for the same labels.)"""
    import pandas as pd

    from allocator.cli import main

    for args, name in ((["sweep", PROFILE, "--catalog", TINY, "--frontier", "0.5:0.6:0.1"], "f.csv"),
                       (["bench", "--profiles", PROFILE, "--catalog", TINY, "--budgets", "300",
                         "--targets", "none"], "b.csv")):
        with pytest.raises(SystemExit) as e:
            main([*args, "--csv", str(tmp_path / name)])
        assert e.value.code == 0
        df = pd.read_csv(tmp_path / name)
        assert len(df) >= 2 and df["synthetic"].all()
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:  # the tiny catalog reaches at most 0.62
        main(["solve", PROFILE, "--catalog", TINY, "--min-cost", "--target", "0.99", "--json", "--draws", "0"])
    out = capsys.readouterr()
    assert e.value.code == 3 and json.loads(out.out)["data"]["synthetic"] is True
    assert "SYNTHETIC demo catalog" in out.err


@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_a_target_the_ceiling_meets_names_the_engine_that_proved_it(engine):
    """optimize(..., "la_given_target") answered by the LA ceiling reported solver "count-scan"
    (its Outcome named no engine) although an integer program proved it."""
    rng = np.random.default_rng(820)
    pr = random_problem(rng, 10, rho=0.35, affordable=True).with_limits(objective="p_match_la")
    out = optimize(pr, "la_given_target", target=1e-6, method="milp", engine=engine)
    assert out.status.value == "optimal" and out.solves == 0 and "no floor meets the target" in out.message
    assert out.engine == engine


def test_frontier_plot_marks_points_outside_the_calibrated_domain():
    """The sweep plot marked extrapolated points; the frontier plot, whose shipped-profile points are
    all outside the calibrated domain, did not."""
    pytest.importorskip("matplotlib")
    import pandas as pd

    from allocator.output.plot import plot_frontier

    df = pd.DataFrame({"status": ["optimal"] * 3, "kind": ["frontier"] * 3, "p_match": [0.9, 0.92, 0.94],
                       "p_match_la": [0.5, 0.3, 0.1], "n_la": [10, 6, 2], "n_applications": [100] * 3,
                       "outside_domain": ["23.0 expected interviews (calibrated 1.2-12.6)", "", ""]})
    labels = [ln.get_label() for ln in plot_frontier(df).get_lines()]
    assert "dot: outside the calibrated domain (an extrapolation)" in labels
    df["outside_domain"] = "x"
    labels = [ln.get_label() for ln in plot_frontier(df).get_lines()]
    assert "every point: outside the calibrated domain (an extrapolation)" in labels
    df["outside_domain"] = ""
    assert not any("calibrated" in ln.get_label() for ln in plot_frontier(df).get_lines())


def test_frontier_rows_plan_on_their_own_list_and_the_table_shows_it(monkeypatch):
    """Each frontier row with a list and a range carries the figure to plan on by solve's rule for
    its own list (planfigure.plan_figure with the exact published-curve check), at or below its 10th
    percentile; a target out of reach has empty cells; the table's "plan on" column shows the
    figure rounded down, with the footnote that states the rule."""
    import io
    import math

    from rich.console import Console

    from allocator.api import load
    from allocator.output.frontier_table import render_frontier
    from allocator.optim.evaluate import evaluate
    from allocator.studies import frontier as fr
    from allocator.verification import published_curve
    from allocator.verification import capcheck
    from allocator.verification.planfigure import plan_figure

    pr = load(ROOT / "data" / "profiles" / "typical_us_img.toml")
    lists, row = {}, fr._row

    def keep(problem, out, kind, **kw):
        lists[kw.get("target")] = out.plan
        return row(problem, out, kind, **kw)

    monkeypatch.setattr(fr, "_row", keep)
    df = frontier(pr, [0.6, 0.99])
    got, out_of_reach = df.iloc[0], df.iloc[1]
    assert got.status == "optimal" and out_of_reach.status == "infeasible"
    m = evaluate(pr, lists[0.6], correlations=())
    curve = published_curve.exact(pr, lists[0.6])
    cc = capcheck.check(pr, lists[0.6], m.p_match_central, m)  # the list is beyond the cohort's share at the cap
    assert cc is not None
    want = plan_figure(m.p_match_interval, m.p_match_worst_season, curve, cap_check=cc)
    assert got.p_match_plan == want["p_match"] and got.p_match_plan_from == want["from"]
    assert got.p_match_published_curve == list(curve) and got.p_match_plan <= got.p_match_interval[0]
    assert (got.p_match_west, got.p_match_west_interval) == (m.p_match_west, list(m.p_match_west_interval))
    assert out_of_reach.p_match_west_interval is None
    assert out_of_reach.p_match_plan != out_of_reach.p_match_plan and out_of_reach.p_match_plan_from == ""
    assert out_of_reach.p_match_published_curve is None
    c = Console(file=io.StringIO(), width=400)
    render_frontier(df, pr, c, auto=False)
    text = c.file.getvalue()
    cells = next(ln for ln in text.splitlines() if ln.strip().startswith("60%")).split()
    assert cells[4] == f"{math.floor(100 * got.p_match_plan + 1e-9)}%" and re.fullmatch(r"\d+-\d+%", cells[3])
    flat = " ".join(text.split())
    assert any("10th-90th" in ln and "plan on" in ln for ln in text.splitlines())
    assert "plan on: the one figure to plan on" in flat


def test_frontier_points_planning_below_their_target_are_named(capsys):
    """`--frontier LO:HI:STEP` keeps each point's P(match) >= its target on the average; a point
    whose figure to plan on is below its target is named in a warning with that figure, and no
    other is (typical profile: the 75% point plans on about 70%, the 60% point above 60%)."""
    from allocator.output.report import plan_pct

    code, out, err = run(capsys, "sweep", str(ROOT / "data" / "profiles" / "typical_us_img.toml"),
                         "--frontier", "0.6:0.75:0.15", "--json")
    assert code == 0, err
    d = json.loads(out)
    below = [r for r in d["rows"] if r["p_match_plan"] < r["target"]]
    assert [r["target"] for r in below] == pytest.approx([0.75])
    assert all(r["p_match"] >= r["target"] - 1e-9 for r in d["rows"])
    warned = [w for w in d["warnings"] if "reaches its P(match) target" in w]
    assert len(warned) == 1 and f"75% (plan on {plan_pct(below[0]['p_match_plan'])})" in warned[0]
    assert "60% (plan on" not in warned[0]


def test_a_bare_frontier_gives_no_target_warning_and_a_catalog_without_la_says_so(capsys, tmp_path):
    """A bare --frontier's floors are margins below the best, not targets the user asked for:
    no target warning (it named "56.0217%" floors).  A catalog with no Greater-LA program says
    that is why P(match in LA) is 0 everywhere, not that "the probabilities limit LA"."""
    import pandas as pd

    prof = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    code, out, err = run(capsys, "sweep", prof, "--frontier", "--margins", "0:0.01:0.01", "--json")
    assert code == 0, err
    assert not [w for w in json.loads(out)["warnings"] if "reaches its P(match) target" in w]
    df = pd.read_csv(ROOT / "data" / "catalogs" / "demo_internal_medicine.csv", dtype=str, keep_default_na=False)
    cat = tmp_path / "no_la.csv"
    df[df["state"] != "CA"].to_csv(cat, index=False)
    code, out, err = run(capsys, "sweep", prof, "--catalog", str(cat), "--frontier", "0.5")
    assert code == 0, err
    text = " ".join(out.split())
    assert f"{cat}: no program of the catalog's candidates is in Greater LA, so P(match in LA) is 0" in text
    assert "never binds" not in text
    code, out, err = run(capsys, "solve", prof, "--catalog", str(cat), "--draws", "0", "--json")
    assert code == 0 and "no candidate program is in Greater LA" in " ".join(json.loads(out)["data"]["notes"]), err
