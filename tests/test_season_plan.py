"""The season update's figure to plan on and its Step 2 CK score check: the list as sent gets
the figure `solve` gives it (the same rule, the same checks), the score check now is its
model's nodes conditioned on the answers (checked by the independent season simulator), and
the command line and the web page show what the JSON holds."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from allocator.optim.evaluate import evaluate
from allocator.season import update
from allocator.season.seasonfile import load_season
from allocator.verification import planfigure, scorecheck
from allocator.verification.season_mc import simulate_season_mixture

ROOT = Path(__file__).resolve().parent.parent
SEASON = ROOT / "data/seasons/example_80.csv"
TODAY = dt.date(2026, 12, 7)


def _profile(tmp_path: Path, score: int) -> Path:
    text = (ROOT / "data/profiles/typical_us_img.toml").read_text()
    p = tmp_path / f"s{score}.toml"
    p.write_text(re.sub(r"(?m)^step2_score = \d+", f"step2_score = {score}", text))
    return p


def _figures(profile: Path, today=TODAY, season=SEASON):
    from allocator.api import load
    from allocator.model.card import load_card

    pr = load(profile)
    ctx = update.prepare(pr, load_season(season, today), today, load_card().timing)
    return pr, ctx, update.figures(ctx)


@pytest.fixture(scope="module")
def low(tmp_path_factory):
    """Step 2 CK 222 under card 2026.3's plausible models (tests.helpers.cap085_models), whose 10th
    percentile lies above the score check before any answer: the figure to plan on takes the check
    (under the shipped ones, which draw the IMG-share cap, the 10th percentile is the lower)."""
    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path_factory.mktemp("models")):
        return _figures(_profile(tmp_path_factory.mktemp("low"), 222))


def test_before_any_answer_the_list_gets_solve_s_figure_to_plan_on(low):
    """The list as sent: the score check before any answer is solve's (scorecheck.check on the
    same list) and the figure to plan on is the sweep row's rule (planfigure.plan_row)."""
    pr, ctx, fig = low
    m = evaluate(pr, ctx.plan, correlations=())
    solve_sc = scorecheck.check(pr, ctx.plan, m.p_match_central)
    sc = fig["p_match_score_check"]
    assert sc["p_match_before"] == pytest.approx(solve_sc["p_match"], abs=1e-11)
    assert sc["p_match_before_central"] == pytest.approx(m.p_match_central, abs=1e-11)
    row = planfigure.plan_row(pr, ctx.plan, m)
    assert fig["p_match_before_plan"]["p_match"] == pytest.approx(row["p_match_plan"], abs=1e-9)
    assert fig["p_match_before_plan"]["from"] == row["p_match_plan_from"] == planfigure.SCORE_CHECK


def test_the_score_check_now_is_its_model_conditioned_on_the_answers(low):
    """Three invitations and eleven rejections where about ten invitations were due: under the
    score check P(match) now falls as under the central card, stays below it (the steeper score
    effect), and the independent season simulator on the score-check model's nodes agrees
    within four standard errors."""
    pr, ctx, fig = low
    sc = fig["p_match_score_check"]
    assert sc["p_match"] < sc["p_match_before"] - 0.2 and sc["p_match_central"] < sc["p_match_before_central"] - 0.2
    assert sc["p_match"] < sc["p_match_central"]
    sc_card, _ = scorecheck.load(pr.card)
    nm = update.node_model(pr, ctx.plan, scorecheck.factor_model(pr, sc_card)).subset(
        update.season_order(ctx.plan, ctx.idx))
    sts = ["invited" if s == "interviewed" else s for s in ctx.statuses]
    mc = simulate_season_mixture(nm.w, nm.q, nm.m, sts, ctx.F, ctx.R, pr.la[ctx.idx], draws=60_000, seed=3)
    assert abs(mc.p_match - sc["p_match"]) < 4 * mc.p_match_se
    central = update.node_model(pr, ctx.plan, pr.fm_central).subset(update.season_order(ctx.plan, ctx.idx))
    mc = simulate_season_mixture(central.w, central.q, central.m, sts, ctx.F, ctx.R, pr.la[ctx.idx], draws=60_000,
                                 seed=4)
    assert abs(mc.p_match - sc["p_match_central"]) < 4 * mc.p_match_se


def test_the_cap_check_now_is_its_model_conditioned_on_the_answers(low):
    """The IMG-share cap check now: the cap-check model's nodes conditioned on the answers, as the
    score check's are; the independent season simulator on those nodes agrees within four
    standard errors, and the answers move it down from solve's figure for the list as sent."""
    from allocator.verification import capcheck

    pr, ctx, fig = low
    cc, before = fig["p_match_cap_check"], fig["p_match_before_cap_check"]
    assert cc is not None and before is not None and cc["cap"] == before["cap"] == 0.65
    assert cc["p_match"] < before["p_match"] - 0.1
    nm = update.node_model(pr, ctx.plan, capcheck.factor_model(pr, capcheck.load(pr.card)[0])).subset(
        update.season_order(ctx.plan, ctx.idx))
    sts = ["invited" if s == "interviewed" else s for s in ctx.statuses]
    mc = simulate_season_mixture(nm.w, nm.q, nm.m, sts, ctx.F, ctx.R, pr.la[ctx.idx], draws=60_000, seed=5)
    assert abs(mc.p_match - cc["p_match"]) < 4 * mc.p_match_se
    assert cc["p_match_central"] == pytest.approx(fig["p_match_score_check"]["p_match_central"], abs=1e-12)


def test_the_figure_to_plan_on_now_is_the_lowest_of_the_figures_now(low):
    pr, ctx, fig = low
    lo = fig["p_match_interval"][0]
    found = [lo, fig["p_match_score_check"]["p_match"]] + ([fig["p_match_cap_check"]["p_match"]]
                                                            if fig.get("p_match_cap_check") else [])
    tb = fig.get("p_match_timing_band")
    found += [tb[0]] if tb else []
    curve = fig["p_match_published_curve"]
    if curve[1] < lo:
        found.append(curve[1])
    assert fig["p_match_plan"]["p_match"] == pytest.approx(min(found), abs=1e-12)
    assert fig["p_match_plan"]["p_match"] <= lo and fig["p_match_plan"]["p_match"] < fig["p_match"]


def test_before_any_invitation_is_sent_now_is_before(tmp_path):
    """Before programs send anything (the timing curve at 0) the answers carry no news: the
    score check now and the figure to plan on now are the ones before any answer, save the
    worst season, which only the list as sent has."""
    import csv

    rows = [r for r in SEASON.read_text().splitlines() if not r.startswith("#")]
    quiet = tmp_path / "quiet.csv"  # the same applications, none answered
    quiet.write_text("program_id,status\n" + "".join(f"{r['program_id']},applied\n" for r in csv.DictReader(rows)))
    _, _, fig = _figures(_profile(tmp_path, 222), today=dt.date(2026, 9, 1), season=quiet)
    assert fig["invitations_sent_share"] == 0
    sc = fig["p_match_score_check"]
    assert sc["p_match"] == pytest.approx(sc["p_match_before"], abs=1e-9)
    assert sc["p_match_central"] == pytest.approx(sc["p_match_before_central"], abs=1e-9)
    assert fig["p_match_plan"]["p_match"] >= fig["p_match_before_plan"]["p_match"] - 1e-9


def test_a_score_near_the_mean_has_no_check_and_plans_on_the_range(tmp_path):
    _, _, fig = _figures(_profile(tmp_path, 240))
    assert fig["p_match_score_check"] is None
    assert fig["p_match_plan"]["p_match"] <= fig["p_match_interval"][0]
    assert fig["p_match_plan"]["from"] == "the 10th percentile of the plausible models"


def test_the_command_prints_what_the_json_holds(tmp_path):
    profile = _profile(tmp_path, 222)
    base = [sys.executable, "-m", "allocator", "update", str(profile), "--season", str(SEASON),
            "--today", TODAY.isoformat(), "--draws", "0"]
    d = json.loads(subprocess.run(base + ["--json"], capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    text = " ".join(subprocess.run(base, capture_output=True, text=True, cwd=ROOT, check=True).stdout.split())
    from allocator.output.report import pct, plan_pct

    now, before, sc = d["p_match_plan"], d["p_match_before_plan"], d["p_match_score_check"]
    assert (f"Plan on {plan_pct(now['p_match'])} now ({now['from']} given your answers, {pct(now['p_match'])} "
            "rounded down)") in text
    assert f"before any answer: plan on {plan_pct(before['p_match'])} ({before['from']}, " in text
    assert f"now, Step 2 CK score check: {pct(sc['p_match'])} (central model {pct(sc['p_match_central'])}" in text
    assert f"P(match) now, given your answers, is {pct(sc['p_match'])} instead of {pct(sc['p_match_central'])}" in text
    assert f"plan on at most {plan_pct(sc['p_match'])}" in text
    assert np.isfinite(sc["p_match"]) and 0 < sc["p_match"] < 1


def _rewrite(tmp_path: Path, *, signals: bool, silent: bool) -> Path:
    """The example season with its signals kept or left out, its answers kept or all 'applied'."""
    import csv

    lines = SEASON.read_text().splitlines()
    head = [x for x in lines if x.startswith("#")]
    rows = list(csv.DictReader(x for x in lines if not x.startswith("#")))
    p = tmp_path / f"s_{signals}_{silent}.csv"
    p.write_text("\n".join(head) + "\nprogram_id,status,signal\n" + "".join(
        f"{r['program_id']},{'applied' if silent else r['status']},{r['signal'] if signals else ''}\n" for r in rows))
    return p


def test_a_season_file_without_signals_is_warned_and_can_be_off_either_way(tmp_path):
    """The profile optimizes signals; a season file without them reads every answer as from an
    unsignalled application.  Late in the season that raises P(match) now with the example's
    answers and lowers it with every program silent: the warning says "either way"."""
    profile = ROOT / "data/profiles/typical_us_img.toml"
    day = dt.date(2026, 12, 7)
    got = {}
    for silent in (False, True):
        for signals in (True, False):
            _, ctx, fig = _figures(profile, today=day, season=_rewrite(tmp_path, signals=signals, silent=silent))
            got[silent, signals] = fig["p_match"]
            warned = [w for w in ctx.warnings if w.startswith("the season file gives no signals")]
            assert len(warned) == (0 if signals else 1)
    assert got[False, False] > got[False, True] + 0.005  # answers: overstated without the signals
    assert got[True, False] < got[True, True] - 0.005  # silence: understated
    assert "either way" in warned[0]


@pytest.mark.parametrize("score", [222, 237])
def test_the_figure_to_plan_on_with_the_added_applications(tmp_path, score):
    """`update --add-budget`: the figure to plan on with the applications added now.  Its P(match)
    formula, run on the objective's own mixture, is the extra list's P(match) after (extend's, by
    another path); every figure it takes can only rise with more applications, so it is at least
    the figure now; with none added it is the figure now; at 222 the score check after is the
    score-check model's, between its figure now and the central card's after."""
    from allocator.optim.problem import Plan
    from allocator.season import planfig
    from allocator.season.run import run

    prof = _profile(tmp_path, score)
    d = run(prof, SEASON, today=dt.date(2026, 11, 4), add_budget=600, max_add=20, draws=0)
    a = d["add"]
    assert a["n_added"] == 20 and a["p_match_after_plan"]["p_match"] >= d["p_match_plan"]["p_match"] - 1e-12
    assert a["p_match_after_plan"]["p_match"] <= a["p_match_after_interval"][0] + 1e-12
    pr, ctx, _ = _figures(prof, today=dt.date(2026, 11, 4))
    from allocator.season import extend

    add = extend.additional(ctx, 600.0, 20, d["p_match"])
    sent, new = add["_plan"], [i for i in add["_plan"].idx if i not in set(int(x) for x in ctx.idx)]
    sig = dict(sent.signals)
    plan_new = Plan.of(new, {i: sig[i] for i in new if i in sig}, ctx.plan.divisions)
    assert planfig.p_match_after(ctx, pr.fm, plan_new, 1 - ctx.F) == pytest.approx(add["p_match_after"], abs=1e-10)
    sc = a["p_match_after_score_check"]
    if score == 237:
        assert sc is None and d["p_match_score_check"] is None
    else:
        assert d["p_match_score_check"]["p_match"] < sc["p_match"] < sc["p_match_central"]
    gain = a["p_match_after_plan"]["p_match"] - d["p_match_plan"]["p_match"]
    assert a["gain_plan"] == pytest.approx(gain, abs=1e-12)
    assert a["gain_per_100_plan"] == pytest.approx(gain / a["cost"] * 100, rel=1e-9)
    none = run(prof, SEASON, today=dt.date(2026, 11, 4), add_budget=600, max_add=0, draws=0)
    assert none["add"]["p_match_after_plan"]["p_match"] == pytest.approx(none["p_match_plan"]["p_match"], abs=1e-9)
    assert none["add"]["gain_plan"] is None and not none["add"]["worth_it"]


@pytest.mark.parametrize("avg, plan, worth, words", [
    (0.004, 0.012, True, "worth it: +1.2 points on the figure to plan on for $300 (+0.40 per $100; +0.40 on the average)"),
    (0.004, 0.005, False, "not worth it at this price"),  # neither rate reaches 0.2 points per $100
    (0.015, 0.004, True, "worth it: +1.5 points for $300"),  # the average's verdict stands
])
def test_the_verdict_weighs_the_gain_on_the_figure_to_plan_on_too(avg, plan, worth, words):
    """A rate that only the figure to plan on reaches (it can be the larger: a lower figure rises
    faster) makes the extra list worth it, with that gain in the words; the average's verdict is
    never withdrawn."""
    from allocator.season.extend import _summary, judge_on_plan

    class Ctx:
        F = 0.5

    add = _summary(Ctx(), None, None, [{"program_id": "X"}], 300.0, 0.5 + avg, 0.5, 300.0, {})
    add["p_match_after_plan"] = {"p_match": 0.4 + plan, "from": "the 10th percentile"}
    judge_on_plan(add, {"p_match": 0.4, "from": "the 10th percentile"})
    assert add["worth_it"] is worth and words in add["advice"]
    assert add["gain_plan"] == pytest.approx(plan) and add["gain_per_100_plan"] == pytest.approx(plan / 3)


def test_the_command_gives_the_figure_to_plan_on_with_the_additions(tmp_path):
    from allocator.output.report import pct, plan_pct

    base = [sys.executable, "-m", "allocator", "update", str(_profile(tmp_path, 222)), "--season", str(SEASON),
            "--today", "2026-11-04", "--draws", "0", "--add-budget", "600", "--max-add", "20"]
    d = json.loads(subprocess.run(base + ["--json"], capture_output=True, text=True, cwd=ROOT, check=True).stdout)
    text = " ".join(subprocess.run(base, capture_output=True, text=True, cwd=ROOT, check=True).stdout.split())
    a = d["add"]
    plan, sc = a["p_match_after_plan"], a["p_match_after_score_check"]
    assert (f"Plan on {plan_pct(plan['p_match'])} with them ({plan['from']} given your answers, "
            f"{pct(plan['p_match'])} rounded down; Step 2 CK score check with them: {pct(sc['p_match'])}") in text


@pytest.mark.parametrize("score", [222, 200])
def test_the_interviews_in_hand_get_the_published_curve_and_a_figure_to_plan_on(tmp_path, score):
    """"From the interviews you hold alone" is what the published curve measures (P(match | N
    interviews)): it gets the curve's figure at N and the figure to plan on by solve's rule (the
    10th percentile, or the curve's upper end below it)."""
    from allocator.verification import published_curve

    pr, ctx, fig = _figures(_profile(tmp_path, score))
    a = fig["after_interviews"]
    n = len(a["programs"])
    assert n >= 1
    lo, hi = (float(published_curve.conversion(np.array([float(n)]), *published_curve.curve_points(pr.card), u)[0])
              for u in (False, True))
    assert a["p_match_interviews_only_published_curve"] == pytest.approx([lo, hi], abs=1e-12)
    p10 = a["p_match_interviews_only_interval"][0]
    want = min(p10, hi) if hi < p10 else p10
    assert a["p_match_interviews_only_plan"] == pytest.approx(want, abs=1e-12)
    assert a["p_match_interviews_only_plan_from"] == ("the published-curve check's upper end" if hi < p10
                                                      else "the 10th percentile of the plausible models")
    from allocator.cli.update import interviews_only_check
    from allocator.percent import plan_pct

    from allocator.percent import pct_floored

    line = interviews_only_check(a)
    assert f"at {n} interview" in line and f"plan on {plan_pct(want)} from these interviews" in line
    # what it rounds down from, as every other "plan on": "(75% to 87%) ... plan on 74%" read as a slip
    assert line.endswith(f"({a['p_match_interviews_only_plan_from']}, {pct_floored(want)} rounded down)")


def test_the_curve_below_the_range_is_the_figure_to_plan_on_for_the_interviews_in_hand():
    from allocator.model.card import load_card
    from allocator.season.planfig import interviews_only

    card = load_card()
    got = interviews_only(card, 3, [0.50, 0.80])  # the published 35% at 3 interviews lies below the range
    assert got["p_match_interviews_only_published_curve"] == pytest.approx([0.35, 0.35])
    assert got["p_match_interviews_only_plan"] == pytest.approx(0.35)
    assert got["p_match_interviews_only_plan_from"] == "the published-curve check's upper end"
    assert interviews_only(card, 3, None)["p_match_interviews_only_plan"] is None  # no range: no figure


def test_no_addition_prints_one_line_with_the_advice(capsys):
    """--max-add 0 (or nothing to add): "Additional applications within $600: none." and the
    advice, not a header for 0 rows, a cost of $0 and a price per $100 of 0.00."""
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(["update", str(ROOT / "data/profiles/typical_us_img.toml"), "--season", str(SEASON), "--today",
              "2026-11-04", "--draws", "0", "--add-budget", "600", "--max-add", "0"])
    out = " ".join(capsys.readouterr().out.split())
    assert e.value.code == 0
    assert ("Additional applications within $600: none. no additional application: --max-add is 0, which allows "
            "none") in out
    assert "Best 0 additional" not in out and "0.00 points per extra $100" not in out
