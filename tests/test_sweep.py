"""Sweeps: every point optimal (monotone in the budget, equal to a fresh solve), the fast path
and the MILP agree, failed points are rows, ranges parse inclusively, the CLI writes its
files; and the cheapest list for a target (solve --min-cost) on both paths."""
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from allocator.api import optimize
from allocator.errors import InputError
from allocator.optim.evaluate import evaluate
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict
from allocator.inputs.ranges import parse_range
from allocator.studies.sweep import at, knees, parse_param, sweep

from .helpers import brute_force, random_catalog

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "data" / "catalogs" / "tiny_p_match.csv")
PROFILE = str(ROOT / "data" / "profiles" / "tiny_demo.toml")
METRICS = ["p_match", "p_match_independent", "p_match_la", "cost"]


def problem(seed: int, n: int = 10, *, rho: float = 0.35, extras: bool = False, **strategy):
    rng = np.random.default_rng(seed)
    cat = random_catalog(rng, n, extras=extras)
    s = {"budget": 200.0, "season": "2026", "max_applications": 8, "min_applications": 0,
         "la_share_max": 0.5, "correlation": rho, "objective": "p_match"} | strategy
    return build_problem(cat, profile_from_dict({"strategy": s}, "<test>"))


# ---------------------------------------------------------------------- ranges
def test_ranges_are_inclusive_with_float_care():
    assert parse_range("0.1:0.6:0.05", name="--param la_share_max").tolist() == pytest.approx(
        [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6])
    assert parse_range("0:0.6:0.1", name="--budgets").tolist()[-1] == 0.6
    assert len(parse_range("0:0.6:0.1", name="--budgets")) == 7
    assert parse_range("500:3000:100", name="--budgets").tolist()[-1] == 3000
    assert parse_range("500:950:100", name="--budgets").tolist() == [500, 600, 700, 800, 900]  # HI off the grid
    assert parse_range("2500", name="--budgets").tolist() == [2500]
    name, vals = parse_param("max_applications=20:120:10")
    assert name == "max_applications" and vals.tolist() == list(range(20, 121, 10))


@pytest.mark.parametrize("text, words", [
    ("3000:500:100", ["--budgets", "below LO"]),
    ("500:3000:0", ["--budgets", "STEP must be positive"]),
    ("500:3000", ["--budgets", "LO:HI:STEP"]),
    ("a:b:c", ["--budgets", "not numbers"]),
    ("0:1e9:1", ["--budgets", "raise STEP"]),
])
def test_bad_range_names_the_option(text, words):
    with pytest.raises(InputError) as e:
        parse_range(text, name="--budgets")
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


@pytest.mark.parametrize("text, word", [
    ("colour=1:2:1", "NAME one of"),
    ("correlation=0:1.2:0.1", "out of range"),
    ("la_share_max=0.5:1.5:0.5", "out of range"),
    ("max_applications=10:20:2.5", "whole number"),
    ("correlation", "NAME=LO:HI:STEP"),
])
def test_bad_param(text, word):
    with pytest.raises(InputError, match=word):
        parse_param(text)


def test_knee_definition():
    assert knees([0, 1, 2, 3, 4], [0, 0.5, 1.0, 1.1, 1.2]).tolist() == [False, False, True, False, False]
    # a staircase of single-program steps is not a knee; missing points are skipped
    assert not knees([0, 1, 2, 3, 4, 5, 6], [0, 0, 0.2, 0.2, 0.4, 0.4, 0.6]).any()
    assert knees([0, 1, 2, 3], [np.nan, 0.5, 1.0, 1.05]).tolist() == [False, False, True, False]
    # a user's sweep, on its figure to plan on: slopes 2.0, 0.35, 0.047, 0 points per $100; the
    # third vertex halves a slope already under a tenth of the steepest: no knee there
    x, y = [200, 500, 800, 1100, 1400], [0.3469, 0.4077, 0.4182, 0.4196, 0.4196]
    assert knees(x, y).tolist() == [False, True, True, False, False]


# ---------------------------------------------------------------------- correctness
@pytest.mark.parametrize("seed", range(3))
def test_budget_sweep_fast_path_monotone_and_fresh(seed):
    pr = problem(seed, 12)
    vals = parse_range("0:240:30", name="--budgets")
    df = sweep(pr, "budget", vals, method="fast")
    assert len(df) == len(vals) and (df["path"] == "fast").all()
    ok = df["p_match"].notna()
    assert (df.loc[ok, "status"] == "optimal").all()
    p = df.loc[ok, "p_match"].to_numpy()
    assert np.all(np.diff(p) >= -1e-12)  # never falls as the budget rises
    for r in df.itertuples():
        fresh = optimize(at(pr, "budget", r.budget), method="fast")
        if not fresh.status.has_list or not len(fresh.plan.idx):  # nothing fits: no answer, not "optimal 0%"
            assert r.status == "infeasible" and np.isnan(r.p_match)
            continue
        assert r.p_match == pytest.approx(fresh.objective, abs=1e-12)
        m = evaluate(at(pr, "budget", r.budget), fresh.plan)  # the grid's own tie-break, too
        assert (r.cost, r.n_applications, r.n_la) == (m.cost, m.n_applications, m.n_la)
        assert r.cost <= r.budget + 1e-9
        best, _ = brute_force(at(pr, "budget", r.budget))
        assert r.p_match == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("seed", range(2))
def test_milp_sweep_matches_fast_and_fresh(seed):
    pr = problem(10 + seed, 10)
    vals = [30.0, 60.0, 90.0, 120.0]
    fast = sweep(pr, "budget", vals, method="fast")
    milp = sweep(pr, "budget", vals, method="milp")
    assert (milp["path"] == "milp").all() and (milp["status"] == fast["status"]).all()
    for c in METRICS:
        np.testing.assert_allclose(milp[c], fast[c], atol=1e-9, rtol=0)
    for r in milp.itertuples():
        fresh = optimize(at(pr, "budget", r.budget), method="milp")
        assert r.p_match == pytest.approx(fresh.objective, abs=1e-9)


def test_milp_path_forced_by_extras_is_monotone_and_exact():
    pr = problem(21, 10, extras=True)
    vals = [40.0, 70.0, 100.0, 130.0]
    df = sweep(pr, "budget", vals)  # auto: fee_extra forces the MILP
    assert (df["path"] == "milp").all() and (df["status"] == "optimal").all()
    assert np.all(np.diff(df["p_match"].to_numpy()) >= -1e-9)
    for r in df.itertuples():
        best, _ = brute_force(at(pr, "budget", r.budget))
        assert r.p_match == pytest.approx(best, abs=1e-9)


def test_shared_model_sweep_equals_fresh_solves_on_a_larger_instance():
    """A budget sweep solves one model (cuts cleared, candidates fixed, budget row moved
    between points); every row equals a solve built from scratch at that budget."""
    pr = problem(77, 40, extras=True, max_applications=18, la_share_max=0.3)
    vals = np.linspace(60.0, 420.0, 10)
    df = sweep(pr, "budget", vals)
    assert (df["path"] == "milp").all() and (df["status"] == "optimal").all()
    assert np.all(np.diff(df["p_match"].to_numpy()) >= -1e-12)
    for r in df.itertuples():
        fresh = optimize(at(pr, "budget", r.budget), method="milp")
        assert r.p_match == pytest.approx(fresh.objective, abs=1e-9)


@pytest.mark.parametrize("param, text", [
    ("la_share_max", "0:0.6:0.2"),
    ("max_applications", "1:7:3"),
    ("correlation", "0:0.6:0.3"),
])
def test_other_params_fast_and_milp_agree(param, text):
    pr = problem(31, 9, budget=90.0)
    vals = parse_range(text, name="--budgets")
    fast = sweep(pr, param, vals, method="fast")
    milp = sweep(pr, param, vals, method="milp")
    assert fast[param].tolist() == pytest.approx(vals.tolist())
    assert (fast["status"] == milp["status"]).all()
    for c in METRICS:
        np.testing.assert_allclose(milp[c], fast[c], atol=1e-9, rtol=0)
    for r in fast.itertuples():
        fresh = optimize(at(pr, param, getattr(r, param)), method="fast")
        assert r.p_match == pytest.approx(fresh.objective, abs=1e-12)
    if param in ("la_share_max", "max_applications"):  # looser limits never hurt
        assert np.all(np.diff(fast["p_match"].to_numpy()) >= -1e-12)
    else:  # correlation lowers P(>=1) of the lists; independence column is rho = 0
        assert fast["p_match"].iloc[0] == pytest.approx(fast["p_match_independent"].iloc[0], abs=1e-12)


@pytest.mark.parametrize("method", ["fast", "milp"])
def test_infeasible_points_are_rows(method):
    pr = problem(41, 8, min_applications=3)
    df = sweep(pr, "budget", [0.0, 20.0, 40.0, 80.0], method=method)
    assert df["status"].tolist() == ["infeasible", "infeasible", "optimal", "optimal"]
    assert df.loc[:1, METRICS].isna().all().all() and df.loc[:1, "n_applications"].isna().all()
    assert np.isnan(df["gain_per_100"].iloc[2])  # no gain against a point without a list
    assert df["n_applications"].iloc[2] >= 3
    calls = []
    sweep(pr, "max_applications", [1, 2, 3, 4], method=method, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    mx = sweep(pr, "max_applications", [1, 2, 3, 4], method=method)
    assert mx["status"].tolist()[:2] == ["infeasible", "infeasible"]


def test_gain_per_100():
    """Gain per $100 = (P(match) here - P(match) at the previous budget) / (budget step) x 100, at
    unequal steps where every gain is positive (P(match) rises at each of these budgets)."""
    pr = problem(5, 10)
    budgets = [20.0, 40.0, 70.0, 100.0]
    df = sweep(pr, "budget", budgets, method="fast")
    y = [optimize(pr.with_limits(budget=b), "p_match").objective for b in budgets]
    assert df["p_match"].tolist() == pytest.approx(y, abs=1e-9)
    assert np.isnan(df["gain_per_100"].iloc[0])
    for i in range(1, 4):
        g = (y[i] - y[i - 1]) / (budgets[i] - budgets[i - 1]) * 100
        assert g > 0.05
        assert df["gain_per_100"].iloc[i] == pytest.approx(g, rel=1e-6)


def test_sweep_rejects_bad_input():
    pr = problem(1, 6)
    with pytest.raises(InputError, match="use one of"):
        sweep(pr, "colour", [1, 2])
    with pytest.raises(InputError, match="out of range"):
        sweep(pr, "correlation", [0.2, 1.5])
    with pytest.raises(InputError, match="method fast"):
        sweep(problem(1, 6, extras=True) if (problem(1, 6, extras=True).extra > 0).any()
              else dataclasses.replace(pr, extra=np.full(pr.n, 5.0)), "budget", [50.0], method="fast")


# ---------------------------------------------------------------------- cheapest list for a target
@pytest.mark.parametrize("seed", range(6))
def test_min_cost_both_paths_even_below_the_profile_budget(seed):
    # the profile's budget (40) is below what the target needs: min_cost ignores it
    pr = problem(60 + seed, 10, budget=40.0, max_applications=10, la_share_max=1.0)
    top, _ = brute_force(dataclasses.replace(pr, budget=1e9), "p_match")
    target = round(0.9 * top, 4)  # reachable, and (every seed) only above the profile's $40
    best, _ = brute_force(dataclasses.replace(pr, budget=1e9), "min_cost", target)
    fast = optimize(pr, "min_cost", target=target, method="fast")
    milp = optimize(pr, "min_cost", target=target, method="milp")
    assert -best > 40.0
    assert fast.objective == pytest.approx(-best, abs=1e-9) and fast.objective > 40.0
    assert milp.objective == pytest.approx(-best, abs=1e-9)
    # ... and the target out of reach is infeasible on both paths
    above = top + 1e-3
    assert not optimize(pr, "min_cost", target=above, method="fast").status.has_list
    assert not optimize(pr, "min_cost", target=above, method="milp").status.has_list


# ---------------------------------------------------------------------- CLI
def run(capsys, *args):
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_cli_sweep_json_csv_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    csv, png = tmp_path / "s.csv", tmp_path / "s.png"
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "100:500:50", "--json",
                         "--csv", str(csv), "--plot", str(png))
    assert code == 0, err
    d = json.loads(out)
    assert d["param"] == "budget" and d["synthetic"] is True and len(d["rows"]) == 9
    assert {"budget", "status", "p_match", "p_match_independent", "p_match_la", "n_applications", "n_la",
            "cost", "gain_per_100"} <= set(d["rows"][0])
    assert all(r["status"] == "optimal" for r in d["rows"])
    assert csv.read_text().splitlines()[0].startswith("budget,status,p_match")
    assert csv.read_text().splitlines()[0].endswith(",program_ids,p_match_published_curve,p_match_plan,p_match_plan_from,"
                                                  "p_match_west,p_match_west_interval,gain_per_100_plan,knee_on")
    assert len(csv.read_text().splitlines()) == 10
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_cli_sweep_table_param_and_errors(capsys):
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--param", "la_share_max=0:0.5:0.25")
    assert code == 0, err
    assert "SYNTHETIC" in out and "la_share_max" in out
    code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "500:100:50")
    assert code == 2 and "--budgets" in err and "Traceback" not in err
    code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY)
    assert code == 2 and "--budgets" in err
    code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--param", "correlation=0:2:1")
    assert code == 2 and "correlation" in err


def test_cli_sweep_all_infeasible_exit_3(capsys, tmp_path):
    prof = tmp_path / "p.toml"
    prof.write_text(Path(PROFILE).read_text().replace("max_applications = 30", "max_applications = 30\n"
                                                      "min_applications = 5"))
    code, out, err = run(capsys, "sweep", str(prof), "--catalog", TINY, "--budgets", "0:10:5", "--json")
    assert code == 3 and "every point infeasible" in err
    # the conflict, named: $10 buys no program ($11 each), so lowering min_applications cannot help and
    # only the budget is named, with what min_applications = 5 costs
    assert "at budget $10: budget $10 pays for no application" in err and "raise the budget to $55" in err
    assert "(conflicting: budget)" in err
    assert [r["status"] for r in json.loads(out)["rows"]] == ["infeasible"] * 3


def test_cli_min_cost_and_unreachable_target(capsys):
    code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--min-cost", "--target", "0.5", "--json",
                         "--draws", "2000")
    assert code == 0, err
    d = json.loads(out)
    assert d["p_match"] >= 0.5
    code, _, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--min-cost", "--target", "0.999",
                       "--draws", "2000")
    assert code == 3 and "best reachable" in err


@pytest.mark.parametrize("param,vals", [("budget", [40.0, 70.0, 100.0, 400.0, 800.0]),
                                        ("max_applications", [2, 4, 6, 10, 14]),
                                        ("la_share_max", [0.2, 0.5, 0.8, 1.0])])
def test_top_down_sweep_reuses_a_list_only_where_it_is_still_optimal(param, vals):
    """From the top down, a larger value's optimal list that meets a smaller value's limits
    is that value's answer without a solve; every point still equals brute force."""
    pr = problem(22, 9, extras=True)
    df = sweep(pr, param, vals, method="milp")
    reused = df["solves"] == 0
    assert (df["status"] == "optimal").all()
    for r in df.itertuples():
        best, _ = brute_force(at(pr, param, getattr(r, param)))
        assert r.p_match == pytest.approx(best, abs=1e-9)
    assert reused.any() or param == "la_share_max"  # the budget and count sweeps level off at the top
    assert not reused.iloc[-1]  # the largest value is always solved


# ---------------------------------------------------------------------- --objective
def test_la_first_objective_sweep_each_point_optimal():
    pr = problem(31, la_share_max=0.5)
    best, _ = brute_force(pr)
    t = 0.8 * best
    vals = [0.0, 0.25, 0.5, 1.0]
    df = sweep(pr, "la_share_max", vals, mode="p_match_la", target=t, method="milp")
    assert df["la_share_max"].tolist() == vals
    for r in df.itertuples():
        want, _ = brute_force(at(pr, "la_share_max", r.la_share_max), "la_given_target", t)
        if want is None:
            assert r.status == "infeasible"
        else:
            assert r.status == "optimal" and r.p_match_la == pytest.approx(want, abs=1e-7)
            assert r.p_match >= t - 1e-9
    assert np.all(np.diff(df["p_match_la"].to_numpy()) >= -1e-9)  # a looser cap never lowers P(LA)
    with pytest.raises(InputError, match="target"):
        sweep(pr, "la_share_max", vals, mode="p_match_la")


def test_cli_sweep_objective_options(capsys):
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--param", "la_share_max=0:0.5:0.25",
                         "--objective", "p_match_la", "--target", "0.5", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["objective"] == "p_match_la" and d["target"] == 0.5 and len(d["rows"]) == 3
    assert all(r["status"] == "optimal" and r["p_match"] >= 0.5 - 1e-9 for r in d["rows"])
    la = [r["p_match_la"] for r in d["rows"]]
    assert la == sorted(la) and la[0] == 0.0 and la[-1] > 0
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--param", "la_share_max=0:0.5:0.5",
                         "--objective", "utility", "--json")
    assert code == 0, err
    assert all(r["expected_utility"] > 0 for r in json.loads(out)["rows"])
    for args, word in [(("--objective", "p_match_la"), "target"), (("--target", "0.5"), "p_match_la"),
                       (("--objective", "nonsense"), "objective"), (("--target", "1.5", "--objective", "p_match_la"),
                                                                     "--target")]:
        code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "300", "--param",
                           "la_share_max=0:0.5:0.5", *args)
        assert code == 2 and word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_la_share_sweep_of_best_p_match_says_how_to_see_la_change(capsys):
    """Rows that maximize P(match) alone cannot prefer LA: the table and the JSON say which
    objective shows LA change with the cap."""
    args = ("sweep", PROFILE, "--catalog", TINY, "--param", "la_share_max=0:0.5:0.5")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    text = " ".join(out.split())
    assert "note: each point is the best P(match) list" in text
    assert "add --objective p_match_la --target P" in text and "--safety-margin M" in text
    code, out, _ = run(capsys, *args, "--json")
    d = json.loads(out)
    la_notes = [n for n in d["notes"] if "--objective p_match_la" in n]
    assert d["objective"] == "p_match" and len(la_notes) == 1 and d["notes"][-1] == la_notes[0]
    code, out, _ = run(capsys, *args, "--objective", "p_match_la", "--target", "0.5", "--json")
    assert not any("--objective p_match_la" in n for n in json.loads(out)["notes"])  # the catalog's notes only
    code, out, _ = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "300:400:100", "--json")
    assert not any("--objective p_match_la" in n for n in json.loads(out)["notes"])


# ---------------------------------------------------------------------- plots
def test_plot_without_matplotlib_fails_before_the_sweep(capsys, tmp_path, monkeypatch):
    import sys

    import allocator.studies.sweep as study

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    called = []
    monkeypatch.setattr(study, "sweep", lambda *a, **k: called.append(1))
    png = tmp_path / "s.png"
    for extra in (("--budgets", "100:500:50"), ("--frontier",)):
        code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, *extra, "--plot", str(png))
        assert code == 2 and "matplotlib" in err and len(err.strip().splitlines()) == 1, err
        assert out == "" and not called and not png.exists()


def _frame(y, knee=None, la=None):
    import pandas as pd

    n = len(y)
    return pd.DataFrame({"budget": np.linspace(1000, 1000 + 100 * (n - 1), n), "p_match": y,
                         "p_match_independent": np.minimum(np.asarray(y) + 0.02, 1.0),
                         "p_match_la": la if la is not None else np.linspace(0.3, 0.5, n),
                         "knee": knee if knee is not None else np.zeros(n, bool)})


def test_sweep_plot_zooms_labels_do_not_overlap_and_the_note_is_outside():
    pytest.importorskip("matplotlib")
    from allocator.output.plot import plot_sweep

    y = np.linspace(0.91, 0.96, 12)
    knee = np.zeros(12, bool)
    knee[[5, 6, 7]] = True  # three knees side by side: their labels would overprint
    ax = plot_sweep(_frame(y, knee), synthetic=True)
    lo, hi = ax.get_ylim()
    assert 85 <= lo <= 91 and 98 <= hi <= 100.5  # zoomed to 91-98%, not 0-100%
    la_ax = [a for a in ax.figure.axes if a is not ax][0]
    assert 25 <= la_ax.get_ylim()[0] <= 30 and 50 <= la_ax.get_ylim()[1] <= 55  # P(LA) on its own zoomed axis
    flat = plot_sweep(_frame(y, la=np.linspace(0.128, 0.131, 12)))
    lo2, hi2 = [a for a in flat.figure.axes if a is not flat][0].get_ylim()
    assert hi2 - lo2 >= 10  # a 0.3-point LA change is not blown up to the axis height
    fig = ax.figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    r = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text().startswith("$")]
    assert 1 <= len(labels) <= 3
    boxes = [t.get_window_extent(r) for t in labels]
    assert not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    note = [t for t in ax.texts if "SYNTHETIC" in t.get_text()][0]
    axes_box = ax.get_window_extent(r)
    assert note.get_window_extent(r).y0 >= axes_box.y1 - 1  # above the axes: it hides no line


def _lines(ax) -> dict:
    return {ln.get_gid(): ln for ln in ax.get_lines() if ln.get_gid()}


def test_sweep_plot_draws_the_figure_to_plan_on_and_subdues_the_independent_line():
    """The budget curve had no line for the figure to plan on: it draws the rows' p_match_plan
    (a gap where a row has none), more prominent than the independent-outcomes line, which is
    thin and grey and labelled as the optimistic bound; the knee is explained as where extra
    dollars start buying less, not as a recommended budget."""
    pytest.importorskip("matplotlib")
    from allocator.output.plot import plot_sweep

    y = np.linspace(0.70, 0.85, 8)
    knee = np.zeros(8, bool)
    knee[3] = True
    df = _frame(y, knee)
    plan = [None, 0.61, 0.64, 0.66, 0.69, 0.70, 0.71, 0.715]  # the first row without a figure (no range)
    df["p_match_plan"] = pd_object(plan)  # as the batch's curve rows hold it: None, not NaN
    ax = plot_sweep(df)
    lines = _lines(ax)
    got = lines["plan"].get_ydata()
    assert np.isnan(got[0]) and np.allclose(got[1:], [100 * v for v in plan[1:]])
    assert np.allclose(lines["plan"].get_xdata(), df["budget"])
    ind, pl, avg = lines["independent"], lines["plan"], ax.get_lines()[0]
    assert np.allclose(ind.get_ydata(), 100 * df["p_match_independent"])
    assert ind.get_linewidth() < 1 < avg.get_linewidth() <= pl.get_linewidth()  # thin; the plan line the boldest
    assert ind.get_color() == "0.6" and ind.get_zorder() < avg.get_zorder() < pl.get_zorder()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "plan on: the figure to plan on for each list" in labels
    assert "if independent: optimistic bound, not the figure" in labels
    assert "knee: extra dollars start buying less" in labels
    caption = " ".join(t.get_text() for t in ax.texts if t.get_gid() == "caption").replace("\n", " ")
    assert "figure to plan on" in caption and "an optimistic bound, not a figure to plan on" in caption
    assert "where extra dollars start buying less" in caption and "It is not a recommended budget." in caption
    df["p_match_interval"] = [[v - 0.08, v + 0.05] for v in y]
    assert "P(match), average of the plausible models" in [t.get_text() for t in plot_sweep(df).get_legend().get_texts()]
    # a set correlation: the blue line is the copula's, the band and the plan line the calibrated model's
    named = [t.get_text() for t in plot_sweep(df, copula=True).get_legend().get_texts()]
    assert named[:3] == ["P(match) under the one-factor copula (not the figure to plan on)",
                         "10th-90th percentile, calibrated two-stage model",
                         "plan on: the figure to plan on for each list"]
    # without the column (or with no figure in any row) there is no plan line, and the caption does not speak of one
    bare = plot_sweep(_frame(y, knee))
    assert "plan" not in _lines(bare)
    assert "orange line" not in " ".join(t.get_text() for t in bare.texts)


def pd_object(values):
    import pandas as pd

    return pd.Series(values, dtype=object)


def test_budget_curve_of_a_real_sweep_draws_its_rows_figure_to_plan_on():
    """On the two-stage model's own sweep rows (the web's budget curve and sweep --plot draw
    these), the plan line is each row's p_match_plan, below the average."""
    pytest.importorskip("matplotlib")
    from allocator.api import load
    from allocator.output.plot import plot_sweep
    from allocator.paths import DATA_DIR

    pr = load(DATA_DIR / "profiles" / "typical_us_img.toml", budget=600.0, objective="p_match")
    df = sweep(pr, "budget", [300.0, 600.0])
    plan = df["p_match_plan"].to_numpy(float)
    assert np.isfinite(plan).all() and (plan < df["p_match"].to_numpy(float)).all()
    line = _lines(plot_sweep(df, synthetic=True))["plan"]
    assert np.allclose(line.get_ydata(), 100 * plan) and np.allclose(line.get_xdata(), [300.0, 600.0])


def test_correlation_sweep_on_the_two_stage_model_is_the_copula_solve_at_each_value():
    """A profile with an [applicant] is solved by the two-stage model, where a correlation means
    nothing; sweeping it switches to the one-factor copula, as `solve --correlation` does, and
    each point equals that solve (it used to return the two-stage list at every value)."""
    from allocator.api import load, optimize
    from allocator.paths import DATA_DIR

    prof = DATA_DIR / "profiles" / "typical_us_img.toml"
    pr = load(prof, budget=400.0, objective="p_match")
    assert pr.fm is not None
    df = sweep(pr, "correlation", [0.0, 0.3, 0.6])
    p = df["p_match"].to_numpy()
    assert np.all(np.diff(p) < -1e-3)  # the copula's P(at least one) falls with the correlation
    for rho, val in zip((0.0, 0.3, 0.6), p):
        one = load(prof, budget=400.0, objective="p_match", correlation=rho)
        assert one.fm is None and optimize(one, "p_match").objective == pytest.approx(val, abs=1e-7)


def test_cli_budget_sweep_table_gives_each_point_its_range(capsys):
    """The two-stage model's budget sweep shows each P(match) with its 10th-90th percentile; the
    title of a safety-first profile's sweep names what it traces (its first step); the $300 row (27
    applications, below the card's calibrated 46) is marked outside the calibrated domain with a
    footnote (test_rows_outside_the_calibrated_domain_are_marked and
    test_sweep_tables_say_what_each_point_maximizes rely on this run instead of their own)."""
    from allocator.paths import DATA_DIR

    code, out, err = run(capsys, "sweep", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--budgets", "300:600:300")
    assert code == 0, err
    assert "10th-90th pct" in out and "(two-stage model)" in out and "plan on" in out
    text = " ".join(out.split())
    assert "best P(match) list (the safety-first answer's first step) at each budget" in text
    assert "%^" in out and "^ outside the calibrated domain" in out
    rows = [ln for ln in out.splitlines() if ln.strip().startswith("$")]
    assert len(rows) == 2 and all(re.search(r"\d+-\d+%", ln) for ln in rows)


def test_rows_outside_the_calibrated_domain_are_marked(capsys):
    """A budget sweep's rows name their departures from the calibrated domain (the card's
    application and expected-interview ranges), and the text table marks them with a footnote;
    a frontier's rows carry their ranges over the plausible models, which hold their values."""
    from allocator.api import load
    from allocator.studies.frontier import frontier
    from allocator.verification.domain import outside

    typical = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    pr = load(typical)
    lo, hi = pr.card.calibration.domain["applications"]
    df = sweep(pr, "budget", [300.0, 1500.0])
    for r in df.itertuples(index=False):  # the applications part is the row's own count against the card's range
        assert ("applications (calibrated" in r.outside_domain) == (not lo <= r.n_applications <= hi)
    assert outside(pr.card, int(lo), 5.0) == "" and "expected interviews" in outside(pr.card, int(lo), 30.0)
    assert df["n_applications"].iloc[0] < lo and f"applications (calibrated {lo:g}-{hi:g})" in df["outside_domain"].iloc[0]
    # the text table's mark and footnote: test_cli_budget_sweep_table_gives_each_point_its_range (the same $300 row)
    fr = frontier(pr, [0.6])
    r = fr.iloc[0]
    lo_p, hi_p = r.p_match_interval
    assert lo_p <= r.p_match <= hi_p and r.p_match_la_interval[0] <= r.p_match_la <= r.p_match_la_interval[1]
    assert r.p_match_pessimistic <= lo_p


def test_sweep_tables_say_what_each_point_maximizes(capsys):
    """The table's title names the objective: a safety-first profile's sweep traces its first step
    (the best P(match) list), a p_match_la sweep its floor; that sweep shows the range of P(LA), its
    objective, and a footnote bounds the gap of its unproven points."""
    prof = str(ROOT / "data" / "profiles" / "strong_la_ties.toml")
    # a safety-first profile's budget sweep title: test_cli_budget_sweep_table_gives_each_point_its_range
    code, out, err = run(capsys, "sweep", prof, "--param", "la_share_max=0.2:0.4:0.1", "--objective", "p_match_la",
                         "--target", "0.9")
    text = " ".join(out.split())
    assert code == 0, err
    assert "best P(match in LA) with P(match) >= 0.9 at each la_share_max" in text and "P(LA) 10th-90th" in text
    assert re.search(r"\b\d+-\d+%\s+100 \(\d+\)", out)  # the P(LA) range beside the count
    assert "0.3 feasible" in text  # (settled at the relaxation's bound on this profile)
    assert "not proven best: no list at that la_share_max is better by more than" in text


def test_sweep_footnote_for_unproven_points_without_a_gap():
    """A point stopped by the time limit may have no proven gap: the footnote said "better by more
    than nan"; it says no gap was proven, and gives the largest gap when every point has one."""
    import io

    import pandas as pd
    from rich.console import Console

    from allocator.api import load
    from allocator.cli.sweep import _render_sweep
    from allocator.studies.sweep import sweep

    pr = load(ROOT / "data" / "profiles" / "tiny_demo.toml", ROOT / "data" / "catalogs" / "tiny_p_match.csv")
    df = sweep(pr, "budget", [200.0, 300.0], mode="p_match")
    df["status"] = "feasible"

    def text(d: pd.DataFrame) -> str:
        c = Console(file=io.StringIO(), width=200)
        _render_sweep(d, "budget", pr, c)
        return " ".join(c.file.getvalue().split())

    df["gap"] = [2e-4, None]
    assert "no gap was proven for some of them" in text(df) and "nan" not in text(df)
    df["gap"] = [2e-4, 1e-4]
    assert "better by more than 2.0e-04" in text(df)


def test_cli_sweep_explicit_safety_first_gives_the_solve_answer_at_each_point(capsys):
    """--safety-margin (or --objective safety_first) asks for the whole safety-first answer: each
    row is the list `allocator solve` gives at that budget with that margin, not the best-P(match)
    list that a safety-first profile's sweep traces by default (the margin was once ignored)."""
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "250:400:150",
                         "--safety-margin", "0.05", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["objective"] == "safety_first" and d["safety_margin"] == 0.05
    for r in d["rows"]:
        code, out, err = run(capsys, "solve", PROFILE, "--catalog", TINY, "--budget", f"{r['budget']:g}",
                             "--safety-margin", "0.05", "--draws", "0", "--json")
        assert code == 0, err
        s = json.loads(out)
        assert sorted(r["program_ids"].split()) == sorted(p["program_id"] for p in s["selected"])
        assert abs(r["p_match"] - s["p_match"]) < 1e-9 and abs(r["expected_utility"] - s["expected_utility"]) < 1e-9
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "250:400:150", "--json")
    plain = json.loads(out)
    assert plain["objective"] == "p_match" and plain["safety_margin"] is None
    assert [r["p_match"] for r in plain["rows"]] != [r["p_match"] for r in d["rows"]]  # the margin is used


def test_cli_correlation_sweep_shows_the_two_stage_range_and_flags_copula_figures_outside_it(capsys):
    """A correlation sweep answers under the one-factor copula, whose P(match) at correlation 0 is
    near 100%: each row shows the calibrated two-stage range of the same list and a figure outside
    it is flagged (table mark and JSON warning), as solve --correlation warns."""
    prof = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    code, out, err = run(capsys, "sweep", prof, "--param", "correlation=0:0.6:0.6", "--json")
    assert code == 0, err
    d = json.loads(out)
    r0 = d["rows"][0]
    assert r0["correlation"] == 0 and r0["p_match"] > r0["p_match_interval"][1]
    # plan on the two-stage range, as solve --correlation does (the copula has no interview stage: no curve check)
    assert r0["p_match_published_curve"] is None and r0["p_match_plan"] <= r0["p_match_interval"][0]
    assert len(d["warnings"]) == 1 and d["warnings"][0].startswith("correlation 0")
    code, out, err = run(capsys, "sweep", prof, "--param", "correlation=0:0.6:0.6")
    assert code == 0 and "two-stage 10th-90th" in out and "†" in out and "do not support that correlation" in out


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_sweep_plot_files_are_the_same_bytes_on_a_rerun(capsys, tmp_path, suffix):
    """No date and fixed SVG ids in --plot files: the same sweep twice writes the same file."""
    files = [tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"]
    for f in files:
        code, _, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "200:400:200", "--plot", str(f))
        assert code == 0, err
    assert files[0].read_bytes() == files[1].read_bytes() and files[0].stat().st_size > 1000


def test_a_count_cap_that_holds_the_list_is_named_by_solve_sweep_and_frontier(capsys, tmp_path):
    """A weak applicant capped at 25 applications saw flat sweep rows and an unspent budget with
    no word that the count, not the money, held the list; the frontier's exit 3 told them to
    raise the budget."""
    from allocator.paths import DATA_DIR

    prof = tmp_path / "capped.toml"
    prof.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                    .replace("max_applications = 100", "max_applications = 12"))
    code, out, err = run(capsys, "solve", str(prof), "--objective", "p_match", "--draws", "0", "--json")
    d = json.loads(out)
    assert code == 0 and d["n_applications"] == 12 and d["constraints"]["binding"] == ["max_applications"], err
    code, out, _ = run(capsys, "solve", str(prof), "--objective", "p_match", "--draws", "0")
    unused = 1500 - d["cost"]["total"]
    assert f"max_applications=12 (${unused:,.0f} of the budget unused)" in " ".join(out.split())
    code, out, _ = run(capsys, "sweep", str(prof), "--budgets", "1000:1100:100", "--json")
    notes = json.loads(out)["notes"]
    assert code == 0 and any(n.startswith("every list here is at max_applications=12") for n in notes)
    code, out, err = run(capsys, "sweep", str(prof), "--frontier", "0.95:0.99:0.04")
    assert code == 3 and "the best P(any match) within your limits is" in err and "raise the budget" not in err
    code, out, _ = run(capsys, "sweep", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--budgets",
                       "600:700:100", "--json")
    assert code == 0 and not any("max_applications" in n for n in json.loads(out)["notes"])


# ---------------------------------------------------------------------- the figure to plan on
@pytest.fixture(scope="module")
def typical_sweep():
    """A budget sweep of the typical profile (two-stage model, an ensemble), with each row's own
    problem and list as the sweep scored them: $0 has no list, $300 (27 applications) is
    planned on its published-curve check, $1,500 on its 10th percentile."""
    from allocator.api import load
    from allocator.studies import sweep as sw

    pr = load(ROOT / "data" / "profiles" / "typical_us_img.toml")
    lists, row = {}, sw._row

    def keep(param, value, p, out, mode):
        lists[float(value)] = (p, out.plan)
        return row(param, value, p, out, mode)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sw, "_row", keep)
        df = sweep(pr, "budget", [0.0, 300.0, 1500.0])
    return pr, df, lists


def test_each_sweep_row_plans_on_the_figure_solve_gives_its_own_list(typical_sweep):
    """Every row with a list and a range carries the figure to plan on by solve's rule
    (planfigure.plan_figure of the row's own list: its 10th percentile, its worst-season figure and its
    published-curve check), at or below its 10th percentile, with the check itself; the exact
    check sits within the Monte Carlo's error of the one solve draws, and solve at that budget
    plans on the same figure.  The row without a list has empty cells."""
    from allocator.api import solve, verify
    from allocator.verification import capcheck, published_curve
    from allocator.verification.planfigure import plan_figure

    pr, df, lists = typical_sweep
    for r in df.itertuples(index=False):
        if r.status == "infeasible":
            assert r.budget == 0 and r.p_match_plan != r.p_match_plan and r.p_match_plan_from == ""
            assert r.p_match_published_curve is None and r.p_match_west_interval is None
            continue
        p, plan = lists[r.budget]
        m = evaluate(p, plan, correlations=())
        curve = published_curve.exact(p, plan)
        cc = capcheck.check(p, plan, m.p_match_central, m)  # None for a list within the cohort's share at the cap
        want = plan_figure(m.p_match_interval, m.p_match_worst_season, curve, cap_check=cc)
        assert r.p_match_plan == want["p_match"] and r.p_match_plan_from == want["from"]
        assert r.p_match_published_curve == list(curve) and r.p_match_interval == list(m.p_match_interval)
        assert (r.p_match_west, r.p_match_west_interval) == (m.p_match_west, list(m.p_match_west_interval))
        assert r.p_match_plan <= r.p_match_interval[0] and r.p_match_plan <= m.p_match_worst_season["p_match"]
        mc = published_curve.assess(p, verify(p, plan, draws=100_000, seed=1))
        assert mc == pytest.approx(curve, abs=0.006)
        mc_fig = plan_figure(m.p_match_interval, m.p_match_worst_season, mc, cap_check=cc)
        assert mc_fig["p_match"] == pytest.approx(r.p_match_plan, abs=0.006)
    by = df.set_index("budget")
    assert by.loc[300.0, "p_match_plan_from"] == "the published-curve check's upper end"
    assert by.loc[300.0, "p_match_plan"] == by.loc[300.0, "p_match_published_curve"][1] < by.loc[300.0, "p_match_interval"][0]
    assert by.loc[1500.0, "p_match_plan"] == by.loc[1500.0, "p_match_interval"][0]
    res = solve(ROOT / "data" / "profiles" / "typical_us_img.toml", budget=300.0, objective="p_match", compare=False)
    fig = res.to_dict()["p_match_plan"]
    assert fig["from"] == by.loc[300.0, "p_match_plan_from"]
    assert fig["p_match"] == pytest.approx(by.loc[300.0, "p_match_plan"], abs=0.006)


def test_the_sweep_table_shows_the_plan_figure_rounded_down_with_its_rule(typical_sweep):
    """The table's "plan on" column is each row's p_match_plan in whole percents rounded down
    (plan_pct), beside its range; the row without a list has none; a footnote states the rule and
    where the figures come from."""
    import io
    import math

    from rich.console import Console

    from allocator.cli.sweep import _render_sweep

    pr, df, _ = typical_sweep
    c = Console(file=io.StringIO(), width=400)
    _render_sweep(df, "budget", pr, c)
    out = c.file.getvalue()
    head = next(ln for ln in out.splitlines() if "plan on" in ln).split()
    assert head[head.index("plan") - 1] == "pct"  # right after the 10th-90th pct column
    shown = {}
    for r in df.itertuples(index=False):
        cells = next(ln for ln in out.splitlines() if ln.strip().startswith(f"${r.budget:,.0f} ")).split()
        if r.status == "infeasible":
            assert cells[2:5] == ["-", "-", "-"]
            continue
        assert re.fullmatch(r"\d+-\d+%", cells[3])
        shown[r.budget] = cells[4]
        assert cells[4] == f"{math.floor(100 * r.p_match_plan + 1e-9)}%"
    x = df.set_index("budget").loc[300.0, "p_match_plan"]
    assert round(100 * x) > math.floor(100 * x) and shown[300.0] == f"{math.floor(100 * x)}%"  # down, not nearest
    text = " ".join(out.split())
    assert "plan on: the one figure to plan on for each list, in whole percents rounded down: the lowest of" in text
    assert "25/35/50/75% at 1/3/5/10 interviews" in text and "../shared" not in text
    assert ("Here: the published-curve check's upper end on 1 row, the 10th percentile of the plausible models on "
            "1 row (columns p_match_plan, p_match_plan_from and p_match_published_curve in the CSV and JSON)") in text


def test_sweep_rows_without_a_range_have_no_plan_figure(capsys, tmp_path):
    """One card (no ensemble) or a catalog's own p_match: no range, so no figure to plan on (empty
    cells, never a made-up number) and no "plan on" column; the published-curve check still comes
    with the two-stage card (as solve gives it), not with the catalog's probabilities."""
    import io

    from rich.console import Console

    from allocator.api import load
    from allocator.cli.sweep import _render_sweep
    from allocator.paths import MODELS_DIR

    card = tmp_path / "one.toml"
    card.write_text("\n".join(x for x in (MODELS_DIR / "default.toml").read_text().splitlines()
                              if not x.startswith(("ensemble = ", "cap_check = "))))
    one = load(ROOT / "data" / "profiles" / "typical_us_img.toml", card=str(card))
    tiny = load(PROFILE, TINY)
    for pr, curve in ((one, True), (tiny, False)):
        df = sweep(pr, "budget", [300.0, 600.0], mode="p_match")
        assert (df["status"] == "optimal").all() and df["p_match_interval"].isna().all()
        assert df["p_match_plan"].isna().all() and (df["p_match_plan_from"] == "").all()
        assert all((c is not None) == curve for c in df["p_match_published_curve"])
        c = Console(file=io.StringIO(), width=300)
        _render_sweep(df, "budget", pr, c)
        assert "plan on" not in c.file.getvalue()
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "300", "--json")
    assert code == 0, err
    r = json.loads(out)["rows"][0]
    assert r["p_match_plan"] is None and r["p_match_plan_from"] == "" and r["p_match_published_curve"] is None


# ---------------------------------------------------------------------- gain and knees on the figure to plan on
MODERATE = str(ROOT / "data" / "profiles" / "moderate_no_ties.toml")


@pytest.fixture(scope="module")
def moderate_rows(tmp_path_factory):
    """The JSON rows of `sweep moderate_no_ties.toml --budgets 100:850:150 --objective p_match`
    (two-stage model: every row has a figure to plan on) under card 2026.3's plausible models
    (tests.helpers.cap085_models); its average P(match) has knees at $250 and $400, its figure to
    plan on at $400 only (under the shipped models both have them at $250 and $400)."""
    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path_factory.mktemp("models")):
        return json.loads(_cli_text(["sweep", MODERATE, "--budgets", "100:850:150", "--objective", "p_match",
                                     "--json"]))


def test_the_gain_per_100_on_the_figure_to_plan_on(moderate_rows):
    """F4: gain_per_100_plan is the difference of consecutive rows' p_match_plan per $100 (from the
    rows' own values); gain_per_100 stays the average's; knee_on names the figure to plan on."""
    rows = moderate_rows["rows"]
    assert [r["budget"] for r in rows] == [100, 250, 400, 550, 700, 850]
    assert all(r["knee_on"] == "p_match_plan" and r["p_match_plan"] is not None for r in rows)
    assert rows[0]["gain_per_100_plan"] is None and rows[0]["gain_per_100"] is None
    for a, b in zip(rows, rows[1:]):
        step = b["budget"] - a["budget"]
        assert b["gain_per_100_plan"] == pytest.approx((b["p_match_plan"] - a["p_match_plan"]) / step * 100, rel=1e-6)
        assert b["gain_per_100"] == pytest.approx((b["p_match"] - a["p_match"]) / step * 100, rel=1e-6)
    # the two differ: here the figure to plan on gains more per $100 than the average at every step from $400
    assert all(r["gain_per_100_plan"] > r["gain_per_100"] + 0.002 for r in rows[2:])


def test_the_knee_is_found_on_the_figure_to_plan_on(moderate_rows):
    """F4: where the average's knees ($250, $400) and the figure to plan on's ($400) differ, the
    rows (and so the table, the plot and the web page's curve) mark the figure to plan on's."""
    rows = moderate_rows["rows"]
    x = [r["budget"] for r in rows]
    on_average = [b for b, k in zip(x, knees(x, [r["p_match"] for r in rows])) if k]
    on_plan = [b for b, k in zip(x, knees(x, [r["p_match_plan"] for r in rows])) if k]
    assert on_average == [250, 400] and on_plan == [400]  # the instance: the two disagree at $250
    assert [r["budget"] for r in rows if r["knee"]] == [400]


def test_the_sweep_table_reads_gain_and_knee_on_the_figure_to_plan_on(moderate_rows, tmp_path):
    """The text table's gain column is gain_per_100_plan ("plan on: gain per +$100"), the "*knee" the
    figure to plan on's, and the footnotes say so (under the rows' models)."""
    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path / "models"):
        out = _cli_text(["sweep", MODERATE, "--budgets", "100:850:150", "--objective", "p_match"])
    rows = {r["budget"]: r for r in moderate_rows["rows"]}
    for line in out.splitlines():
        m = re.match(r"\s*\$(\d+)\s+optimal(\s+\*knee)?\s.*?(?:([+-]\d+\.\d\d) pts)?\s*$", line)
        if not m:
            continue
        r = rows[int(m.group(1))]
        assert bool(m.group(2)) == r["knee"]
        want = None if r["gain_per_100_plan"] is None else f"{100 * r['gain_per_100_plan']:+.2f}"
        assert m.group(3) == want, line
        rows.pop(int(m.group(1)))
    assert not rows  # every row read
    text = " ".join(out.split())
    assert "plan on: gain per +$100" in text
    assert "the figure to plan on gained per extra $100 against the previous row" in text
    assert "*knee: the gain per extra dollar on the figure to plan on falls by more than half" in text


def _cli_text(args) -> str:
    """stdout of a command that exits 0 (for a module fixture, which capsys cannot serve)."""
    import contextlib
    import io

    from allocator.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    return buf.getvalue()


def test_without_a_figure_to_plan_on_gain_and_knee_stay_on_p_match(capsys):
    """A catalog's own p_match has no figure to plan on: the knee and the table's gain are on
    P(match), knee_on says so, gain_per_100_plan is empty, and no footnote speaks of a plan figure."""
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "100:500:50", "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert all(r["knee_on"] == "p_match" and r["gain_per_100_plan"] is None for r in rows)
    x, y = [r["budget"] for r in rows], [r["p_match"] for r in rows]
    assert [r["knee"] for r in rows] == knees(x, y).tolist()
    code, out, err = run(capsys, "sweep", PROFILE, "--catalog", TINY, "--budgets", "100:500:50")
    assert code == 0, err
    assert "gain per +$100" in out and "plan on" not in out
    assert re.search(r"\$150 .*\+\d+\.\d\d pts", out)


def test_a_budget_sweep_at_a_set_correlation_shows_the_figure_its_gain_is_on(capsys):
    """A set correlation: P(match) is the one-factor copula's, the range and the figure to plan on the
    calibrated two-stage model's (as solve --correlation gives them).  The table shows that range and
    figure (the gain column is on it), marks the copula figures outside the range, and the JSON warns."""
    prof = str(ROOT / "data" / "profiles" / "typical_us_img.toml")
    code, out, err = run(capsys, "sweep", prof, "--budgets", "300:600:300", "--correlation", "0.35", "--json")
    assert code == 0, err
    d = json.loads(out)
    a, b = d["rows"]
    assert d["correlation"] == 0.35 and a["knee_on"] == "p_match_plan"
    assert b["gain_per_100_plan"] == pytest.approx((b["p_match_plan"] - a["p_match_plan"]) / 300 * 100, rel=1e-6)
    off = [r["budget"] for r in d["rows"] if not r["p_match_interval"][0] <= r["p_match"] <= r["p_match_interval"][1]]
    assert off and [w for w in d["warnings"] if "one-factor copula" in w] == [
        "budget " + ", ".join(f"${v:,.0f}" for v in off) + ": the one-factor copula's P(match) at that correlation "
        "lies outside the range the calibrated two-stage model gives the same list; the published figures do not "
        "support that correlation: plan on the range"]
    code, out, err = run(capsys, "sweep", prof, "--budgets", "300:600:300", "--correlation", "0.35")
    assert code == 0, err
    row = next(ln for ln in out.splitlines() if ln.strip().startswith("$600"))
    assert f"{int(100 * b['p_match_plan'])}%" in row.split() and f"{100 * b['gain_per_100_plan']:+.2f}" in row
    assert ("†" in row) == (600 in off) and "two-stage" in out and "plan on: gain" in " ".join(out.split())


def test_the_gain_is_never_printed_as_minus_zero():
    from allocator.cli.sweep import points

    assert points(-1e-9) == "+0.00 pts" and points(1e-9) == "+0.00 pts"
    assert points(0.0138) == "+1.38 pts" and points(-0.0124) == "-1.24 pts" and points(float("nan")) == ""


def test_the_plot_puts_the_knees_on_the_line_they_were_found_on(moderate_rows):
    """sweep --plot, the web page's and the batch's budget curve: the red circles sit on the plan-on
    line when the rows' knee_on says so, with the legend and the caption saying so; rows without
    knee_on (a curve saved before it) keep their circles on P(match)."""
    pytest.importorskip("matplotlib")
    import pandas as pd

    from allocator.output.plot import plot_sweep

    df = pd.DataFrame(moderate_rows["rows"])
    ax = plot_sweep(df, synthetic=True)
    circle = _lines(ax)["knee"]
    assert circle.get_xdata().tolist() == [400] and circle.get_ydata().tolist() == pytest.approx(
        [100 * df.set_index("budget").loc[400, "p_match_plan"]])
    assert "knee of the plan-on line: extra dollars start buying less" in [t.get_text() for t in ax.get_legend().get_texts()]
    caption = " ".join(t.get_text() for t in ax.texts if t.get_gid() == "caption").replace("\n", " ")
    assert "on the orange line" in caption and "start buying less on the figure to plan on" in caption
    old = plot_sweep(df.drop(columns=["knee_on"]))
    assert _lines(old)["knee"].get_ydata().tolist() == pytest.approx([100 * df.set_index("budget").loc[400, "p_match"]])


def test_the_web_caption_says_the_knees_are_on_the_figure_to_plan_on():
    from allocator.web import service

    planned = service.budget_caption("p_match", "p_match", planned=True)
    assert "red circles (knees) mark where extra dollars start buying less on it" in planned
    assert "buying less on it" not in service.budget_caption("p_match", "p_match", planned=False)


# ---------------------------------------------------------------------- a P(match) target below the plan figure
def _la_catalog(tmp_path) -> tuple[str, str]:
    """40 demo Internal Medicine programs (12 in Greater LA) and an LA-tied applicant: the
    best-LA list keeps P(match) about 60% on the average, its figure to plan on about 44%."""
    import pandas as pd

    from allocator.paths import DATA_DIR

    d = pd.read_csv(DATA_DIR / "catalogs" / "demo_internal_medicine.csv")
    cat = tmp_path / "la.csv"
    pd.concat([d[d["la_area"]].head(12), d[~d["la_area"]].iloc[::25].head(28)]).to_csv(cat, index=False)
    prof = tmp_path / "la.toml"
    prof.write_text('[applicant]\nspecialties = ["Internal Medicine"]\nstep2_score = 237\nexam_attempts = 0\n'
                    "usce_months = 4\nusce_california_months = 4\nla_ties = true\nyears_since_graduation = 1\n\n"
                    '[strategy]\nbudget = 1500\nseason = "2026"\nmax_applications = 100\nla_share_max = 1.0\n')
    return str(prof), str(cat)


def test_a_la_sweep_warns_once_where_the_figure_to_plan_on_is_below_the_target(capsys, tmp_path):
    """F8: --objective p_match_la --target 0.5 keeps each row's average at 50% or more, but the
    rows' figures to plan on lie below it: one warning, as solve words it, naming those rows with
    their figure (and only those); a target below every row's figure to plan on draws none."""
    import pandas as pd

    from allocator.cli.sweep import _target_rows_warning
    from allocator.output.report import plan_pct, usd

    prof, cat = _la_catalog(tmp_path)
    code, out, err = run(capsys, "sweep", prof, "--catalog", cat, "--budgets", "300:600:300", "--objective",
                         "p_match_la", "--target", "0.5", "--json")
    assert code == 0, err
    d = json.loads(out)
    rows = d["rows"]
    assert all(r["p_match"] >= 0.5 - 1e-9 and r["p_match_plan"] < 0.5 for r in rows)
    said = [w for w in d["warnings"] if "target" in w]
    named = ", ".join(f"{usd(r['budget'])} (plan on {plan_pct(r['p_match_plan'])})" for r in rows)
    assert said == [f"the 50% target is reached under the average over the plausible models, but the figure to "
                    f"plan on is below it at {named}: plan on those figures, and raise --target if you need 50% "
                    "on them"]
    # only the rows below the target are named: a target between the two rows' figures names the lower one
    df = pd.DataFrame(rows)
    lo, hi = sorted(rows, key=lambda r: r["p_match_plan"])
    if hi["p_match_plan"] - lo["p_match_plan"] > 1e-4:
        mid = (lo["p_match_plan"] + hi["p_match_plan"]) / 2
        w = _target_rows_warning(df, "budget", _load_la(prof, cat), mid, "p_match_la")
        assert len(w) == 1 and f"at {usd(lo['budget'])} (plan on" in w[0] and usd(hi["budget"]) not in w[0]
    assert _target_rows_warning(df, "budget", _load_la(prof, cat), 0.5, "p_match") == []  # no floor, no warning
    code, out, err = run(capsys, "sweep", prof, "--catalog", cat, "--budgets", "300:600:300", "--objective",
                         "p_match_la", "--target", "0.3")
    assert code == 0, err
    text = " ".join(out.split())
    assert "P(match) >= 0.3" in text and "target" not in text


def _load_la(prof: str, cat: str):
    from allocator.api import load

    return load(prof, cat, objective="p_match_la", target_p_match=0.5)
