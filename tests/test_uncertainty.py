"""Every answer carries its uncertainty: intervals over the ensemble, the pessimistic card,
the calibrated-domain guard, and the robust list against the central card's own optimum."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from allocator.api import robustness
from allocator.model.probability import load_card
from allocator.optim.evaluate import evaluate
from allocator.verification import domain, planfigure

from .helpers import mc_close
from .test_twostage import factor_problem

CARD = load_card()


def test_guard_flags_lists_outside_the_cohort_and_signal_driven_p():
    lo, hi = CARD.calibration.domain["applications"]
    assert domain.warnings(CARD, int(lo), 5.0, 0.6, 0.5) == []
    w = domain.warnings(CARD, int(hi) + 10, 30.0, 0.9, 0.3)
    assert len(w) == 3
    assert f"{int(hi) + 10} applications" in w[0] and "30.0 expected interviews" in w[1]
    assert "60.0 of 90.0 points" in w[2]
    assert all("\n" not in x for x in w)


def test_intervals_and_robustness_on_a_card_mixture():
    rng = np.random.default_rng(21)
    pr = factor_problem(rng, n=9, cards=4, gold=1, silver=1)
    from allocator import optimize

    out = optimize(pr, "p_match")
    m = evaluate(pr, out.plan)
    lo, hi = m.p_match_interval
    assert m.p_match_pessimistic <= lo <= hi
    la_lo, la_hi = m.p_match_la_interval
    assert la_lo <= la_hi <= hi + 1e-12
    r = robustness(pr, out.plan, m, "p_match", None, "highs")
    # the central card's own optimum is at least as good under the central card ...
    assert r["cost_in_central_p"] >= -1e-9
    # ... and the ensemble optimum at least as good on average over the ensemble
    assert r["robust_list"]["p_match_ensemble"] >= r["central_list"]["p_match_ensemble"] - 1e-9


def test_result_json_carries_the_uncertainty_keys():
    rng = np.random.default_rng(22)
    pr = factor_problem(rng, n=8, cards=3)
    pr = pr.with_limits(budget=max(pr.budget, 500.0))  # its drawn $55 pays for no 2024 application
    from allocator.api import solve

    res = solve(None, problem=pr, draws=20_000)
    d = json.loads(json.dumps(res.to_dict()))
    for k in ("p_match_interval", "p_match_la_interval", "p_match_pessimistic", "warnings"):
        assert k in d
    assert len(d["p_match_interval"]) == 2 and d["p_match_pessimistic"] <= d["p_match_interval"][0]
    assert d["model"]["kind"] == "two-stage" and d["model"]["ensemble_cards"] == 3
    assert mc_close(d["mc"]["p_match"], d["p_match"], 20_000)
    assert d["correlation"] is None  # the two-stage model has no copula rho
    # expected interviews and their range over the cards, by the plain logistic formula per card
    fe, plan = pr.fm_ensemble, res.plan
    assert fe.interview_scale == 1.0
    per = []
    for c in range(fe.n_cards):
        on = fe.card == c
        w = fe.w[on] / fe.w[on].sum()
        per.append(sum(w @ (1 / (1 + np.exp(-(fe.eta[v][c, i] + fe.S[on]))))
                       for v, i in zip(pr.plan_variants(plan), plan.idx)))
    assert d["expected_interviews_interval"] == pytest.approx(list(np.percentile(per, [10, 90])), abs=1e-12)
    assert d["expected_interviews"] == pytest.approx(np.dot(np.bincount(fe.card, weights=fe.w), per), abs=1e-12)
    assert abs(d["mc"]["mean_interviews"] - d["expected_interviews"]) < 0.05 * d["expected_interviews"] + 0.05


def test_cli_solve_with_the_central_card_reports_the_ensemble_interval(capsys):
    """`--card default` optimizes the central card alone; the interval still spans the ensemble."""
    from allocator.cli import main
    from allocator.paths import DATA_DIR

    with pytest.raises(SystemExit) as e:
        main(["solve", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--card", "default", "--json",
              "--draws", "20000", "--budget", "300", "--objective", "p_match"])
    assert e.value.code == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"]["objective"] == "default" and d["model"]["ensemble_cards"] >= 30
    lo, hi = d["p_match_interval"]
    assert d["p_match_pessimistic"] <= lo < hi and d["p_match"] == pytest.approx(d["p_match_central"])
    assert isinstance(d["warnings"], list) and "robustness" not in d
    with pytest.raises(SystemExit):
        main(["solve", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--card", "default",
              "--draws", "2000", "--budget", "300", "--objective", "p_match"])
    text = capsys.readouterr().out
    assert text.lstrip().startswith("SYNTHETIC") and "P(match): " in text.splitlines()[1]


def _main(capsys, *args):
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_a_set_correlation_leads_with_the_calibrated_range_and_warns_when_outside(capsys):
    """With --correlation the copula's P(match) is the objective's value, but the headline leads
    with the calibrated two-stage model's range (named as such) and the copula's figure follows
    it; when that figure lies outside the range, a warning says so (text and JSON)."""
    from allocator.paths import DATA_DIR

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    args = ("solve", prof, "--correlation", "0", "--objective", "p_match", "--budget", "300", "--draws", "2000")
    code, out, _ = _main(capsys, *args)
    head = " ".join(out.splitlines()[1:3])
    assert code == 0 and head.startswith("P(match): ") and "over the calibrated two-stage model's plausible" in head
    assert "under the one-factor copula at the correlation you set (0)" in head
    assert "warning: the correlation you set (0) gives P(match)" in out
    code, out, _ = _main(capsys, *args, "--json")
    d = json.loads(out)
    assert d["model"]["kind"] == "one-factor copula" and "not a range around this P(match)" in d["model"]["interval"]
    assert d["correlation"] == 0  # the copula's rho, the model here
    lo, hi = d["p_match_interval"]
    assert d["p_match"] > hi  # independence: far above what the calibrated model gives the list
    assert any(w.startswith("the correlation you set (0)") and "above" in w for w in d["warnings"])
    from allocator.batch import outputs

    view = {"id": "x", "source": "x.toml", "payload": d, "curve": None}
    text = "\n".join(outputs._text_lines(view))
    assert "correlation 0" in text and "the two-stage model's range" in text and "two-stage model\n" not in text


def test_simulate_warns_outside_the_calibrated_domain_and_refuses_a_csv_report(capsys, tmp_path):
    from allocator.paths import DATA_DIR

    prof, season = str(DATA_DIR / "profiles" / "typical_us_img.toml"), str(DATA_DIR / "seasons" / "example_80.csv")
    code, out, _ = _main(capsys, "simulate", prof, "--list", season, "--draws", "2000", "--json")
    d = json.loads(out)
    assert code == 0 and any("expected interviews" in w for w in d["warnings"])  # 17.5 > the cohort's 12.6
    code, out, _ = _main(capsys, "simulate", prof, "--list", season, "--draws", "2000")
    assert "exact" in out and "(two-stage model)" in out and "warning: outside the calibrated domain" in out
    code, _, err = _main(capsys, "simulate", prof, "--list", season, "--out", str(tmp_path / "r.csv"))
    assert code == 2 and "not CSV" in err and not (tmp_path / "r.csv").exists()


def test_estimate_gives_each_program_its_range_over_the_ensemble(capsys):
    from allocator.paths import DATA_DIR

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, _ = _main(capsys, "estimate", prof, "--json")
    rows = [r for r in json.loads(out)["programs"] if r["eligible"]]
    assert code == 0 and len(rows) > 100
    assert all(0 <= r["p_match_p10"] <= r["p_match_p90"] <= 1 for r in rows)
    assert sum(r["p_match_p10"] < r["p_match_p90"] for r in rows) > len(rows) // 2  # the cards disagree
    assert all(r["p_match_p10"] - 1e-12 <= r["p_match"] <= r["p_match_p90"] + 1e-12 for r in rows)
    assert all(r["p_interview_p10"] - 1e-12 <= r["p_interview"] <= r["p_interview_p90"] + 1e-12 for r in rows)
    assert sum(r["p_interview_p10"] < r["p_interview_p90"] for r in rows) > len(rows) // 2
    from allocator.api import load

    pr = load(prof)  # the same per-program P(success) as solve's table (the ensemble), not the central card's
    pos = {pid: i for i, pid in enumerate(pr.ids)}
    for r in rows[:50]:
        assert r["p_match"] == pytest.approx(pr.p[pos[r["program_id"]]], abs=1e-9)  # JSON keeps 10 digits
        assert r["p_signal_gold"] == pytest.approx(pr.p_signal["gold"][pos[r["program_id"]]], abs=1e-9)
    code, out, _ = _main(capsys, "estimate", prof, "--show", "3")
    assert "10th-90th pct" in out


def test_a_target_met_on_the_average_only_says_so(capsys):
    """--min-cost reaches its target on the ensemble average; when the 10th percentile is below
    the target a warning gives it (and the most pessimistic model), in text and JSON."""
    from allocator.paths import DATA_DIR
    from allocator.verification.domain import target_warning

    assert target_warning(0.85, (0.81, 0.9), 0.78, 0.8) == []  # every plausible model but the tail reaches it
    w = target_warning(0.801, (0.734, 0.86), 0.708, 0.8)
    assert len(w) == 1 and "73.4%" in w[0] and "70.8%" in w[0] and "80% target" in w[0]
    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, _ = _main(capsys, "solve", prof, "--min-cost", "--target", "0.8", "--draws", "0", "--json")
    d = json.loads(out)
    assert code == 0 and d["p_match"] >= 0.8 - 1e-9 and d["p_match_interval"][0] < 0.8
    assert any(x.startswith("the 80% target is reached under the average over the plausible models")
               for x in d["warnings"])
    code, out, _ = _main(capsys, "solve", prof, "--min-cost", "--target", "0.8", "--draws", "0", "--json",
                         "--card", "default")
    assert any("reached under the default card alone" in x for x in json.loads(out)["warnings"])


def test_each_listed_program_carries_its_range(capsys):
    """solve --json's selected rows carry each program's 10th-90th percentile over the plausible
    models at its own variant (signal, preferred division); a program sent plain has exactly the
    range that `estimate` gives it."""
    from allocator.paths import DATA_DIR

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    # the central card's list (the ensemble's own list signals or prefers every program it holds)
    code, out, _ = _main(capsys, "solve", prof, "--objective", "p_match", "--draws", "0", "--json", "--card", "default")
    d = json.loads(out)
    rows = d["selected"]
    assert code == 0 and all(r["p_match_p10"] < r["p_match_p90"] for r in rows)
    code, out, _ = _main(capsys, "estimate", prof, "--json", "--show", "1000")
    est = {r["program_id"]: r for r in json.loads(out)["programs"]}
    import pandas as pd

    division = pd.read_csv(DATA_DIR / "catalogs" / "demo_internal_medicine.csv", comment="#") \
        .set_index("program_id")["division"]
    divs = set(d.get("geographic_preference") or [])
    plain = [r for r in rows if not r["signal"] and division[r["program_id"]] not in divs]
    assert plain, "the typical list has programs sent without a signal outside its divisions"
    for r in plain:
        e = est[r["program_id"]]
        assert (r["p_match_p10"], r["p_match_p90"]) == pytest.approx((e["p_match_p10"], e["p_match_p90"]), abs=1e-9)


def test_guard_flags_an_applicant_outside_the_calibration_cohort():
    """The cohort's Step 2 CK runs 205-275, at most 2 failed attempts, at most 10 years since
    graduation, and Internal Medicine only: an applicant beyond any of these gets one line each;
    an applicant inside gets none."""
    from allocator.inputs.profile import Applicant

    spec = CARD.calibration.cohort
    inside = Applicant(step2_score=int(spec.step2_mean), exam_attempts=2, years_since_graduation=10)
    assert domain.applicant_warnings(CARD, inside, ["Internal Medicine"]) == []
    assert domain.applicant_warnings(CARD, Applicant(step2="pass"), ["Internal Medicine"]) == []
    top = domain.applicant_warnings(CARD, Applicant(step2_score=spec.step2_max), ["Internal Medicine"])
    assert len(top) == 1 and "may be understated" in top[0]  # inside the cohort, but far from its mean
    far = Applicant(step2_score=spec.step2_max + 1, exam_attempts=3, years_since_graduation=10.5,
                    specialties=["Internal Medicine", "Psychiatry"])
    w = domain.applicant_warnings(CARD, far, ["Internal Medicine", "Psychiatry"])
    assert len(w) == 5 and all("\n" not in x for x in w)
    assert f"Step 2 CK {spec.step2_max + 1}" in w[0] and "205-275" in w[0]
    assert w[1].startswith(f"Step 2 CK {spec.step2_max + 1} is") and "may be understated" in w[1]
    assert "3 failed attempts" in w[2] and "at most 2" in w[2]
    assert "10.5 years since graduation" in w[3]
    assert w[4].startswith("not calibrated for Psychiatry:") and "Internal Medicine applicants only" in w[4]


def test_a_score_far_from_the_cohort_mean_carries_the_held_out_miss():
    """The card's held-out Step 2 CK gap is 3 points against 6 published: the model moves P(match)
    with the score about half as much as it should, so a low scorer's P(match) may be overstated
    beyond the range (solve gave "62% to 82%" at 214 without a word).  Flagged from one cohort
    standard deviation from the mean (236 -+ 12): overstated below, understated above; nothing in
    between, nothing for a card whose gap meets the published one."""
    spec = CARD.calibration.cohort
    mean, sd = spec.step2_mean, spec.step2_sd
    assert (mean, sd) == (236, 12) and CARD.calibration.holdout["step2_median_gap"].achieved == 3
    low = domain.score_effect_warnings(CARD, 224)
    assert len(low) == 1 and low[0].startswith("Step 2 CK 224 is 12 points below the calibration cohort's mean of 236")
    assert "3 points in the model, 6 published" in low[0] and "may be overstated" in low[0]
    assert "plan below the range" in low[0]
    assert domain.score_effect_warnings(CARD, 225) == [] and domain.score_effect_warnings(CARD, 247) == []
    assert domain.score_effect_warnings(CARD, None) == []
    high = domain.score_effect_warnings(CARD, 248)
    assert len(high) == 1 and "12 points above" in high[0] and "may be understated" in high[0]
    met = CARD.model_copy(deep=True)
    met.calibration.holdout["step2_median_gap"].achieved = 5  # within the tolerance of 2
    assert domain.score_effect_warnings(met, 200) == [] and domain.score_effect_warnings(met, 270) == []


def _score_check_script():
    import importlib.util

    from allocator.paths import MODELS_DIR

    spec = importlib.util.spec_from_file_location("make_score_check", MODELS_DIR / "make_score_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_shipped_score_check_is_what_its_script_makes(tmp_path):
    """models/default_score_check.json is the output of models/make_score_check.py, byte for byte
    (deterministic: the cohort is seeded)."""
    from allocator.paths import MODELS_DIR

    out = tmp_path / "sc.json"
    assert _score_check_script().main(["--out", str(out)]) == 0
    assert out.read_text() == (MODELS_DIR / "default_score_check.json").read_text()


def test_under_the_score_check_the_cohort_meets_the_published_gap():
    """Recomputed with the calibration code, not read from the file: the central card with the
    score check's parameters (both step2_per_10 slopes x k, intercepts re-fitted) gives the
    synthetic cohort a Step 2 CK gap within the published target's tolerance, keeps every
    calibration target passing, and k is the steepest such factor (to 0.01): one step more fails
    a target, before the interpolated gap reaches the published 6 (k_reaching_target)."""
    from allocator.model import calibration as cal
    from allocator.model import ensemble as ens
    from allocator.verification import scorecheck

    sc_card, data = scorecheck.load(CARD)
    gap = CARD.calibration.holdout["step2_median_gap"]
    for p in ("interview.step2_per_10", "match_given_interview.step2_per_10"):
        assert data["params"][p] == pytest.approx(data["base"][p] * data["k"], abs=1e-4)
    res = cal.evaluate(sc_card)
    assert abs(res.value("step2_median_gap") - gap.target) <= gap.tolerance
    assert res.value("step2_median_gap") == data["achieved"]["step2_median_gap"]
    mi = res.step2_median_interpolated
    assert mi["matched"] - mi["unmatched"] == pytest.approx(data["achieved"]["interpolated_gap"], abs=1e-4)
    table = cal.check(sc_card, res)
    assert table["passed"].all() and data["failed"] == []
    checker = _score_check_script().Checker(CARD)
    above, reach = checker.at(data["k"] + 0.01), checker.at(data["k_reaching_target"])
    assert not above["table"]["passed"].all()  # one step steeper breaks a calibration target
    assert data["k"] < data["k_reaching_target"] and reach["gap"] >= gap.target > checker.at(reach["k"] - 0.01)["gap"]
    assert ens.card_doc(CARD)["score_check"] == "default_score_check.json"


@pytest.fixture
def low_scorer(tmp_path):
    """The typical profile with Step 2 CK 222 (14 points below the cohort's mean of 236), solved;
    within the block, under tests.helpers.cap085_models (the plausible models of card 2026.3,
    whose 10th percentile, 67.8%, lies above the score check's 61.4%: the shipped ensemble's, 58.4%,
    lies below it, and then the check has nothing to join)."""
    from allocator.api import solve
    from allocator.inputs.profile import load_profile
    from allocator.paths import DATA_DIR
    from tests.helpers import using_cap085_models

    prof = load_profile(DATA_DIR / "profiles" / "typical_us_img.toml")
    prof = prof.model_copy(update={"applicant": prof.applicant.model_copy(update={"step2_score": 222})})
    with using_cap085_models(tmp_path / "models"):
        yield prof, solve(prof, objective="p_match", draws=0, compare=False)


def test_the_score_warning_gives_the_list_under_the_score_check_card(low_scorer):
    """For a score well below the cohort's mean the warning gives the list's own P(match) under
    the score-check card, and that figure is what a problem built for that card (the central card
    with the file's parameters: ensemble.apply) gives the same list, mapped by program id."""
    from allocator.api import score
    from allocator.optim.assemble import build_problem
    from allocator.inputs.demo import resolve_catalog
    from allocator.percent import pct
    from allocator.verification import scorecheck

    prof, res = low_scorer
    sc = res.score_check
    assert sc is not None and sc["direction"] == "below" and sc["k"] == scorecheck.load(CARD)[1]["k"]
    sc_card = scorecheck.load(CARD)[0].model_copy(update={"ensemble": None})
    pr = build_problem(resolve_catalog(prof, None), prof, card=sc_card, card_choice=sc_card.name)
    ids = [res.problem.ids[i] for i in res.plan.idx]
    sig = {res.problem.ids[i]: k for i, k in res.plan.signals}
    plan, bad, _ = score(pr, ids, signals=sig, divisions=res.plan.divisions)
    assert bad == [] and len(plan) == len(res.plan)
    assert sc["p_match"] == pytest.approx(evaluate(pr, plan).p_match, abs=1e-9)
    assert sc["p_match_central"] == pytest.approx(res.metrics.p_match_central, abs=1e-12)
    assert scorecheck.p_match(res.problem, res.plan, res.problem.fm_central) == pytest.approx(sc["p_match_central"], abs=1e-9)
    assert sc["p_match"] < sc["p_match_central"]  # the dangerous direction: the central card overstates it
    w = [x for x in res.warnings if x.startswith("Step 2 CK 222 is 14 points below")]
    assert len(w) == 1 and f"this list's P(match) is {pct(sc['p_match'])} instead of {pct(sc['p_match_central'])}" in w[0]
    assert f"x{sc['k']:g}" in w[0] and f"plan on at most {math.floor(100 * sc['p_match'])}%," in w[0]
    d = res.to_dict()
    assert d["p_match_score_check"] == sc


def test_the_plan_figure_takes_the_score_check_below_the_mean(low_scorer):
    """Below the mean the figure to plan on is at most the score check's (and comes from it: at
    222 it is the lowest); at the cohort's mean (236) there is no check and the figure is the
    rule's without it; above the mean (248) the score check is a note and the figure does not
    take it.  Just inside the warning's threshold (225, 11 points below) the check still counts,
    so the figure does not jump there: it lies between 222's and 236's, with a note saying so."""
    from allocator.api import solve
    from allocator.verification.planfigure import SCORE_CHECK, plan_figure

    prof, res = low_scorer
    fig, m = res.plan_figure(), res.metrics
    assert fig["p_match"] <= res.score_check["p_match"] + 1e-12
    without = plan_figure(m.p_match_interval, m.p_match_worst_season, res.published_curve)
    assert res.score_check["p_match"] < without["p_match"]
    assert fig == {"p_match": res.score_check["p_match"], "from": SCORE_CHECK}
    figs = {222: fig["p_match"]}
    for score, direction in ((236, None), (248, "above"), (225, "below")):
        p = prof.model_copy(update={"applicant": prof.applicant.model_copy(update={"step2_score": score})})
        r = solve(p, objective="p_match", draws=0, compare=False)
        m = r.metrics
        assert (r.score_check or {}).get("direction") == direction
        figs[score] = r.plan_figure()["p_match"]
        if direction == "below":  # within one standard deviation: no warning, but a note and the check counts
            assert r.plan_figure() == plan_figure(m.p_match_interval, m.p_match_worst_season, r.published_curve,
                                                  r.score_check)
            assert r.score_check["p_match"] < r.score_check["p_match_central"] - 0.01
            note = [w for w in r.warnings if w.startswith("Step 2 CK 225 is 11 points below")]
            assert len(note) == 1 and "that figure joins the one to plan on" in note[0]
            continue
        assert r.plan_figure() == plan_figure(m.p_match_interval, m.p_match_worst_season, r.published_curve)
        assert any(w.startswith(f"Step 2 CK {score} is") for w in r.warnings) == (direction is not None)
    assert figs[222] < figs[225] < figs[236]


def test_simulate_gives_the_score_check_of_the_list_it_scores(low_scorer, capsys, tmp_path):
    """simulate scores a list file under the same check: the JSON's p_match_score_check and the
    figure to plan on, as solve gives them for the same list."""
    prof, res = low_scorer
    path = tmp_path / "p.toml"
    from allocator.paths import DATA_DIR

    path.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                    .replace("step2_score = 237", "step2_score = 222"))
    lst = tmp_path / "list.json"
    lst.write_text(json.dumps(res.to_dict()))
    code, out, _ = _main(capsys, "simulate", str(path), "--list", str(lst), "--draws", "2000", "--json")
    d = json.loads(out)
    assert code == 0 and d["p_match_score_check"]["p_match"] == pytest.approx(res.score_check["p_match"], abs=1e-9)
    assert d["p_match_plan"] == res.to_dict()["p_match_plan"]


def test_sweep_rows_plan_on_the_score_check_of_their_own_list(capsys, tmp_path):
    """A sweep for Step 2 CK 222: each row's figure to plan on takes its own list's P(match) under
    the score check (planfigure.plan_row), here below its 10th percentile; at the typical profile's
    237 no row takes it (tests/test_sweep.py checks the rule there)."""
    from allocator.paths import DATA_DIR
    from allocator.verification.planfigure import SCORE_CHECK

    from tests.helpers import using_cap085_models

    path = tmp_path / "p.toml"
    path.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                    .replace("step2_score = 237", "step2_score = 222"))
    with using_cap085_models(tmp_path / "models"):  # card 2026.3's models: the score check lies below their range
        code, out, _ = _main(capsys, "sweep", str(path), "--budgets", "600:1500:900", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and len(rows) == 2
    for r in rows:
        assert r["p_match_plan_from"] == SCORE_CHECK and r["p_match_plan"] < r["p_match_interval"][0]
    code, out, _ = _main(capsys, "sweep", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--budgets", "1500",
                         "--json")
    assert code == 0 and all(r["p_match_plan_from"] != SCORE_CHECK for r in json.loads(out)["rows"])


def test_solve_warns_for_an_applicant_outside_the_cohort_in_text_and_json(capsys, tmp_path):
    from allocator.paths import DATA_DIR

    prof = tmp_path / "p.toml"
    prof.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                    .replace("exam_attempts = 0", "exam_attempts = 3"))
    code, out, _ = _main(capsys, "solve", str(prof), "--objective", "p_match", "--draws", "0", "--json")
    assert code == 0 and any(w.startswith("outside the calibrated domain: 3 failed attempts")
                             for w in json.loads(out)["warnings"])
    code, out, _ = _main(capsys, "solve", str(prof), "--objective", "p_match", "--draws", "0")
    assert "3 failed attempts, while the calibration cohort has at most 2" in " ".join(out.split())
    prof.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                    .replace("step2_score = 237", "step2_score = 214"))
    code, out, _ = _main(capsys, "solve", str(prof), "--objective", "p_match", "--draws", "0", "--json")
    assert code == 0 and sum(w.startswith("Step 2 CK 214 is") and "P(match) may be overstated" in w
                             for w in json.loads(out)["warnings"]) == 1


def test_a_card_without_an_ensemble_gives_no_range_and_says_why(capsys, tmp_path):
    """A user's own card with no `ensemble` key is one model: solve and simulate printed
    "84% to 84% (10th-90th percentile over the plausible models)" and a JSON interval of zero
    width.  Now the intervals are null, the text leads with the figure alone, and a warning gives
    the reason (text, JSON, and the batch report built from the JSON)."""
    from allocator.batch import outputs
    from allocator.paths import DATA_DIR, MODELS_DIR

    text = (MODELS_DIR / "default.toml").read_text()
    assert "\nensemble = " in text
    card = tmp_path / "mine.toml"
    card.write_text("\n".join(x for x in text.splitlines() if not x.startswith(("ensemble = ", "cap_check = "))))
    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    args = ("solve", prof, "--card", str(card), "--objective", "p_match", "--budget", "300", "--draws", "20000")
    code, out, _ = _main(capsys, *args, "--json")
    d = json.loads(out)
    assert code == 0 and d["model"]["ensemble_cards"] == 1 and d["model"]["interval"] is None
    assert d["expected_interviews"] > 0 and d["expected_interviews_interval"] is None
    assert d["p_match_interval"] is None and d["p_match_la_interval"] is None and d["p_match_pessimistic"] is None
    assert all("p_match_p10" not in s for s in d["selected"])
    why = [w for w in d["warnings"] if w.startswith("no range over plausible models: the model card")]
    assert len(why) == 1 and str(card) in why[0] and "plan below it" in why[0]
    code, out, _ = _main(capsys, *args)
    flat = " ".join(out.split())
    assert code == 0 and " to " not in flat.split("P(match): ")[1].split("(")[0]
    assert "no range over plausible models: the warning below says why" in flat and "percentile" not in flat
    lst = tmp_path / "list.json"
    lst.write_text(json.dumps(d))
    code, out, _ = _main(capsys, "simulate", prof, "--list", str(lst), "--card", str(card), "--draws", "20000")
    flat = " ".join(out.split())
    assert code == 0 and "percentile" not in flat and "no range over plausible models: the model card" in flat
    code, out, _ = _main(capsys, "simulate", prof, "--list", str(lst), "--card", str(card), "--draws", "20000", "--json")
    s = json.loads(out)
    assert s["p_match_interval"] is None and s["p_match_pessimistic"] is None
    view = {"id": "x", "source": "x.toml", "payload": d, "curve": None}
    report = " ".join(outputs._text_lines(view)) + outputs.applicant_html(view)
    assert "one card: no range over plausible models" in report and "pessimistic" not in report


def test_one_card_out_of_reach_target_and_a_card_without_factors_are_said_in_one_line(capsys, tmp_path):
    """With one card an unreachable --min-cost target raised an internal error (the 10th
    percentile of one card was indexed), and a card with no two-stage model led with "the
    warning below says why" under no such warning."""
    from allocator.paths import DATA_DIR, MODELS_DIR

    text = (MODELS_DIR / "default.toml").read_text()
    one = tmp_path / "one.toml"
    one.write_text("\n".join(x for x in text.splitlines() if not x.startswith(("ensemble = ", "cap_check = "))))
    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, err = _main(capsys, "solve", prof, "--card", str(one), "--min-cost", "--target", "0.999",
                           "--draws", "0")
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1
    assert "no list reaches P(match) >= 0.999" in err and "10th percentile" not in err
    lines = text.splitlines()
    start = next(k for k, x in enumerate(lines) if x.startswith("[factors."))
    end = next(k for k in range(start + 1, len(lines)) if lines[k].startswith("[") and not lines[k].startswith("[factors"))
    nofac = tmp_path / "nofac.toml"
    nofac.write_text("\n".join(x for x in lines[:start] + lines[end:] if not x.startswith(("ensemble = ", "cap_check = "))))
    code, out, _ = _main(capsys, "solve", prof, "--card", str(nofac), "--draws", "0", "--objective", "p_match")
    flat = " ".join(out.split())
    assert code == 0 and "the warning below says why" in flat
    assert "warning: no range over plausible models: the model card" in flat and "no two-stage model" in flat


def test_the_published_curve_check_is_not_set_against_a_single_card_s_figure():
    """Without a range, the check's upper end sits just under the one card's P(match) by design
    (every card converts more than the 2009 curve), so a warning there fired on noise; the
    no-range warning already says to plan below the figure.  With a range, the 10th percentile
    is the bar."""
    from allocator.verification.published_curve import below_range_warning

    assert below_range_warning((0.73, 0.832), None) == [] and below_range_warning((0.7, 0.8), None) == []
    assert below_range_warning((0.73, 0.832), (0.84, 0.9)) != []
    assert below_range_warning((0.73, 0.85), (0.84, 0.9)) == []


def test_warnings_print_a_probability_below_one_as_the_report_does():
    """The warnings printed raw percentages: "gives P(match) 100.0% under the one-factor copula"
    beside a table that says ">99.9%", "below the 92.8-100.0% of the plausible models"."""
    from allocator.verification.published_curve import below_range_warning

    w = domain.copula_warning(0.99996, (0.74, 0.996), 0.0)[0]
    assert "gives P(match) >99.9% under the one-factor copula, above the 74% to >99%" in w and "100" not in w
    w = domain.target_warning(0.9999, (0.9, 0.99992), 0.89, 0.95)[0]
    assert "(>99.9%)" in w and "their 10th percentile gives 90.0%, the most pessimistic 89.0%" in w
    assert domain.target_warning(0.96, (0.951, 0.99), 0.9, 0.95) == []
    w = below_range_warning((0.5, 0.927), (0.928, 0.99971))[0]
    assert "at most 92.7%, below the plausible models' 92.8% to >99.9%" in w and "100" not in w


def test_a_figure_just_past_the_domain_reads_apart_from_its_bound():
    """The budget sweep's $900 row said "12.6 expected interviews (calibrated 1.2-12.6)" and was
    flagged outside: the figure takes as many decimals as it needs to differ from the bound."""
    lo, hi = CARD.calibration.domain["expected_interviews"]
    assert (lo, hi) == (1.2, 12.6)
    assert domain.outside(CARD, 60, 12.63) == "12.63 expected interviews (calibrated 1.2-12.6)"
    assert domain.outside(CARD, 60, 12.6004) == "12.6004 expected interviews (calibrated 1.2-12.6)"
    assert domain.outside(CARD, 60, 1.17) == "1.17 expected interviews (calibrated 1.2-12.6)"
    assert domain.outside(CARD, 60, 15.74) == "15.7 expected interviews (calibrated 1.2-12.6)"
    assert domain.outside(CARD, 60, 12.6) == ""
    assert "12.63 expected interviews, while the calibration cohort expects 1.2-12.6" in domain.warnings(
        CARD, 60, 12.63, 0.5, None)[0]


def test_sweeps_frontiers_and_estimates_carry_the_applicants_warnings(capsys, tmp_path):
    """A low scorer deciding how much to spend from a budget sweep saw no word that P(match) may
    be overstated (solve said it; sweep, --frontier and estimate did not).  And the text report
    printed "no budget in : ... under )": rich read "[strategy]" as markup."""
    prof = tmp_path / "low.toml"
    prof.write_text('[applicant]\nspecialties = ["Internal Medicine"]\nstep2_score = 214\n'
                    '[strategy]\nmax_applications = 40\n')
    low = "Step 2 CK 214 is 22 points below the calibration cohort's mean of 236"
    for args in (("sweep", str(prof), "--budgets", "600:700:100"), ("sweep", str(prof), "--frontier", "auto",
                 "--margins", "0:0.01:0.01"), ("estimate", str(prof), "--show", "0")):
        code, out, _ = _main(capsys, *args, "--json")
        warnings = json.loads(out)["warnings"]
        assert code == 0 and sum(w.startswith(low) for w in warnings) == 1, args
        assert any(w.startswith("no budget in [strategy]") for w in warnings) == (args[2] == "--frontier"), args
        code, out, _ = _main(capsys, *args)
        assert code == 0 and low in " ".join(out.split()), args
    code, out, _ = _main(capsys, "solve", str(prof), "--draws", "0")
    flat = " ".join(out.split())
    assert code == 0 and "no budget in [strategy]: the default $2,500 is used" in flat and "under [strategy])" in flat


def test_a_one_card_sweep_has_no_empty_range_column_and_says_why(capsys, tmp_path):
    """With one card a sweep showed an empty "10th-90th pct" column and no word why."""
    from allocator.paths import DATA_DIR, MODELS_DIR

    text = (MODELS_DIR / "default.toml").read_text()
    one = tmp_path / "one.toml"
    one.write_text("\n".join(x for x in text.splitlines() if not x.startswith(("ensemble = ", "cap_check = "))))
    args = ("sweep", str(DATA_DIR / "profiles" / "typical_us_img.toml"), "--budgets", "600:700:100",
            "--card", str(one))
    code, out, _ = _main(capsys, *args)
    flat = " ".join(out.split())
    assert code == 0 and "10th-90th" not in flat and "warning: no range over plausible models: the model card" in flat
    code, out, _ = _main(capsys, *args, "--json")
    d = json.loads(out)
    assert all(r["p_match_interval"] is None for r in d["rows"])
    assert sum(w.startswith("no range over plausible models") for w in d["warnings"]) == 1


def test_the_figure_to_plan_on_is_the_lowest_of_the_checks():
    """One figure to plan on, as the README's rule says: the lowest of the 10th percentile, the
    worst season, and the published-curve check's upper end when it lies below the range (a weak
    applicant's page said "plan around the lower end, 31.9%" under a check of at most 25.7%)."""
    from allocator.output.report import plan_pct

    season = {"season": "2022", "p_match": 0.745}
    assert planfigure.plan_figure(None, season, (0.7, 0.8)) is None
    got = planfigure.plan_figure((0.731, 0.887), season, (0.71, 0.81))  # the check reaches into the range
    assert got == {"p_match": 0.731, "from": "the 10th percentile of the plausible models"}
    got = planfigure.plan_figure((0.75, 0.887), season, (0.71, 0.81))
    assert got == {"p_match": 0.745, "from": "a season like 2022"}
    got = planfigure.plan_figure((0.319, 0.51), {"season": "2022", "p_match": 0.33}, (0.2, 0.257))
    assert got == {"p_match": 0.257, "from": "the published-curve check's upper end"}
    assert plan_pct(0.257) == "25%" and plan_pct(0.73) == "73%" and plan_pct(0.0) == "0%"


def test_the_figure_rounded_down_never_reads_as_the_next_whole_percent():
    """"Plan on 6% (..., 7.0% rounded down)" read as a rounding slip: the figure it rounds down from
    gets the decimals that keep it below the next whole percent."""
    from allocator.percent import pct_floored, plan_pct

    assert (plan_pct(0.0696), pct_floored(0.0696)) == ("6%", "6.96%")
    assert (plan_pct(0.06996), pct_floored(0.06996)) == ("6%", "6.996%")
    assert pct_floored(0.0699996) == "just under 7%"
    assert pct_floored(0.257) == "25.7%" and pct_floored(0.07) == "7.0%" and pct_floored(0.9999) == "99.99%"
    for x in (0.0696, 0.06996, 0.257, 0.07, 0.9999, 0.5, 0.0):
        shown = pct_floored(x)
        assert int(float(shown.rstrip("%"))) == int(plan_pct(x).rstrip("%"))


def test_solve_shows_the_figure_to_plan_on_in_text_json_and_page(capsys):
    from allocator.paths import DATA_DIR
    from allocator.output.report import plan_pct

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, _ = _main(capsys, "solve", prof, "--json", "--draws", "20000")
    d = json.loads(out)
    plan = d["p_match_plan"]
    checks = [d["p_match_interval"][0], d["p_match_worst_season"]["p_match"]]
    if d["p_match_published_curve"][1] < d["p_match_interval"][0]:
        checks.append(d["p_match_published_curve"][1])
    assert code == 0 and plan["p_match"] == min(checks)
    code, out, _ = _main(capsys, "solve", prof, "--draws", "20000")
    assert code == 0 and f"Plan on {plan_pct(plan['p_match'])} ({plan['from']}" in " ".join(out.split())


def test_the_web_answer_plans_on_the_score_check_for_a_low_score(tmp_path):
    """The web page and POST /api/solve for Step 2 CK 222: the warning gives the list's P(match)
    under the score check and the page's "plan on" takes it (the JSON's p_match_plan)."""
    import html

    pytest.importorskip("fastapi", reason="the web extra is not installed")
    from fastapi.testclient import TestClient

    from allocator.output.report import plan_pct
    from allocator.percent import pct
    from allocator.verification.planfigure import SCORE_CHECK
    from allocator.web.app import create_app
    from tests.web_support import FAST_PROFILE, fast_form, settings

    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path / "models"), TestClient(create_app(settings())) as c:
        r = c.post("/api/solve", content=FAST_PROFILE.replace("step2_score = 245", "step2_score = 222"))
        assert r.status_code == 200, r.text[-500:]
        d = r.json()
        sc = d["p_match_score_check"]
        assert sc["direction"] == "below" and d["p_match_plan"] == {"p_match": sc["p_match"], "from": SCORE_CHECK}
        assert any(f"this list's P(match) is {pct(sc['p_match'])}" in w for w in d["warnings"])
        page = html.unescape(c.post("/solve", data=fast_form(step2_score="222")).text)
    flat = " ".join(page.split())
    assert f"plan on {plan_pct(sc['p_match'])}" in flat and f"({SCORE_CHECK}, {pct(sc['p_match'])} rounded down:" in flat
    assert f"this list's P(match) is {pct(sc['p_match'])}" in flat


def test_a_stale_or_missing_score_check_file_is_refused(tmp_path):
    """A card whose score_check file is missing, or was made for other slopes, is refused with one
    line naming the file and what to run (as a stale ensemble file is), never silently dropped."""
    import shutil

    from allocator.errors import InputError
    from allocator.model.probability import load_card
    from allocator.verification import scorecheck

    models = Path(CARD.path).parent
    for name in ("default.toml", "default_ensemble.json"):
        shutil.copy(models / name, tmp_path / name)
    card = load_card(str(tmp_path / "default.toml"))
    with pytest.raises(InputError, match=r"score_check: .*default_score_check.json not found; run "
                                         r"models/make_score_check.py or remove the key"):
        scorecheck.load(card)
    data = json.loads((models / "default_score_check.json").read_text())
    data["base"]["interview.step2_per_10"] += 0.05
    (tmp_path / "default_score_check.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="other values of its Step 2 CK slopes and intercepts"):
        scorecheck.load(card)


def test_a_reported_pass_gets_the_score_check_at_the_score_the_model_counts():
    """step2 = "pass" counts as the card's pass score (230, 6 below the cohort's mean) in the
    model, so the score check applies there too (it was skipped: no numeric score), and its note
    names the pass, not a score the applicant never gave."""
    import json
    import subprocess
    import sys

    from allocator.paths import DATA_DIR

    out = subprocess.run([sys.executable, "-m", "allocator", "solve", str(DATA_DIR / "profiles" / "moderate_no_ties.toml"),
                          "--objective", "p_match", "--draws", "0", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    sc = d["p_match_score_check"]
    assert sc["step2_score"] == 230 and sc["direction"] == "below" and sc["p_match"] < sc["p_match_central"]
    assert d["p_match_plan"]["p_match"] <= sc["p_match"]
    note = [w for w in d["warnings"] if "score check" in w]
    assert len(note) == 1 and note[0].startswith("Step 2 CK reported as pass (counted as 230) is 6 points below")


def test_a_worst_season_above_the_average_says_so(tmp_path):
    """A dean's weak applicant (Step 2 CK 214, 2 attempts, 6 years out): the 2022-like models rate
    the list above the average of all the models (20.3% against 17.4%), which a figure labelled
    as the worst season must say; for the typical profile they rate it below, and nothing is added."""
    import json
    import subprocess
    import sys

    from allocator.output.report import season_label
    from allocator.paths import DATA_DIR

    weak = tmp_path / "weak.toml"
    weak.write_text('[applicant]\nspecialties = ["Internal Medicine"]\nstep2_score = 214\nexam_attempts = 2\n'
                    "years_since_graduation = 6\n[strategy]\nbudget = 1500\nla_share_max = 0.25\n")
    got = {}
    for name, prof in (("weak", weak), ("typical", DATA_DIR / "profiles" / "typical_us_img.toml")):
        out = subprocess.run([sys.executable, "-m", "allocator", "solve", str(prof), "--objective", "p_match",
                              "--draws", "0", "--json"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        d = json.loads(out.stdout)
        w = d["p_match_worst_season"]
        assert w["above_average"] == (w["p_match"] > d["p_match"])
        got[name] = w
    assert got["weak"]["above_average"] and not got["typical"]["above_average"]
    assert "here it is not the low figure" in season_label(got["weak"])
    assert season_label(got["typical"]).endswith("mean of its 8 plausible models)")
    assert season_label(got["weak"], short=True).endswith("; above the average here)")
