"""The IMG-share cap check (verification/capcheck, models/make_cap_check.py): the central card
with its IMG-share effect stopping at 65% IMGs instead of 85%, its intercepts re-fitted to the
same calibration targets; a list beyond the cohort's share at the cap gets its P(match) under it,
and that figure joins the figure to plan on."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from allocator.errors import InputError
from allocator.inputs.demo import resolve_catalog
from allocator.inputs.profile import load_profile
from allocator.model.logistic import expit, logit
from allocator.model.probability import IMG_CLIP, load_card, program_arrays
from allocator.optim.assemble import build_problem
from allocator.optim.problem import Plan
from allocator.paths import DATA_DIR, MODELS_DIR
from allocator.verification import capcheck, composition
from allocator.verification.planfigure import CAP_CHECK, SCORE_CHECK, plan_figure
from tests.helpers import run

CARD = load_card("default")
TYPICAL = str(DATA_DIR / "profiles" / "typical_us_img.toml")


def _script():
    spec = importlib.util.spec_from_file_location("make_cap_check", MODELS_DIR / "make_cap_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def problem():
    prof = load_profile(TYPICAL)
    return build_problem(resolve_catalog(prof, None), prof)


def test_the_shipped_cap_check_is_what_its_script_makes(tmp_path):
    """models/default_cap_check.json is the output of models/make_cap_check.py, byte for byte
    (deterministic: the cohort is seeded), and the card names it."""
    from allocator.model import ensemble as ens

    out = tmp_path / "cc.json"
    assert _script().main(["--out", str(out)]) == 0
    assert out.read_text() == (MODELS_DIR / "default_cap_check.json").read_text()
    assert ens.card_doc(CARD)["cap_check"] == "default_cap_check.json" and CARD.cap_check == "default_cap_check.json"


def test_under_the_cap_check_every_calibration_target_still_passes():
    """Recomputed with the calibration code, not read from the file: the cap-check card (cap 0.65,
    the file's intercepts) keeps the cohort's match rate on the card's target and its interview
    yield at the ensemble's aim, every target passes, and the intercepts are what retune finds at
    that cap.  The cap follows the file's rule: the grid cap nearest the median IMG share of the
    cohort's applications."""
    from allocator.model import calibration as cal
    from allocator.model import ensemble as ens

    cc_card, data = capcheck.load(CARD)
    assert cc_card.img_share_cap == data["cap"] == 0.65 and CARD.img_share_cap is None
    assert data["params"] == {"interview.intercept": -3.4286, "match_given_interview.intercept": 2.5034}
    res = cal.evaluate(cc_card)
    table = cal.check(cc_card, res)
    assert table["passed"].all() and data["failed"] == []
    t = CARD.calibration.targets
    assert abs(res.value("match_rate") - t["match_rate"].target) < 1e-3
    assert abs(res.value("interview_yield") - ens.YIELD_AIM) < 1e-3
    catalog = cal.cohort_catalog(CARD)
    _, params = ens.retune(ens.card_doc(CARD), {}, catalog, cal.cohort_of(CARD, catalog), path=str(CARD.path),
                           img_cap=0.65)
    assert params == data["params"]
    assert abs(data["median_img_share_of_applications"] - data["cap"]) <= 0.025
    assert all(r["failed"] == [] for r in data["scan"])  # the targets pass at every cap scanned (0.50-0.80)


def test_the_cap_moves_only_programs_beyond_it_and_the_figure_is_exact(problem):
    """Against the central card, the cap-check card's interview and match log-odds differ by the
    intercept shifts alone at programs below 65% IMGs, and by the IMG-share slope times
    logit(clipped at 0.65) - logit(clipped at 0.85) beyond (computed here from the catalog's
    shares); its P(match) of a list is the brute-force sum over the nodes, and a Monte Carlo
    (verification.mixture_sim) agrees within 4 standard errors."""
    from allocator.model.twostage import factor_model
    from allocator.verification.mixture_sim import simulate_mixture

    cc_card, data = capcheck.load(CARD)
    cat = problem.candidates
    img = np.asarray(cat.column("img_share"), float)
    assert not np.isnan(img).any()
    base = factor_model(cat, problem.applicant, [CARD.model_copy(update={"ensemble": None})])
    cc = factor_model(cat, problem.applicant, [cc_card])
    d_logit = logit(np.clip(img, IMG_CLIP[0], 0.65)) - logit(np.clip(img, *IMG_CLIP))
    d_iv = data["params"]["interview.intercept"] - data["base"]["interview.intercept"]
    d_m = data["params"]["match_given_interview.intercept"] - data["base"]["match_given_interview.intercept"]
    over = np.isnan(np.asarray(cat.column("p_interview"), float))  # rows without a catalog P(interview)
    assert over.all()
    np.testing.assert_allclose(cc.eta["plain"], base.eta["plain"] + d_iv + CARD.interview.img_share_slope.value * d_logit,
                               atol=1e-12)
    np.testing.assert_allclose(cc.zeta, base.zeta + d_m + CARD.match_given_interview.img_share_slope.value * d_logit,
                               atol=1e-12)
    assert (d_logit[img <= 0.65] == 0).all() and (d_logit[img >= 0.85] < 0).all()
    # a plain list: 6 programs at the 85% cap, 6 below 65%
    at, below = np.flatnonzero(img >= 0.85)[:6], np.flatnonzero(img < 0.65)[:6]
    idx = np.concatenate([at, below])
    plan = Plan.of(idx.tolist())
    pi = expit(cc.eta["plain"][cc.card][:, idx] + cc.S[:, None])  # eta, zeta: (cards, n); node k is card[k]'s
    mu = expit(cc.zeta[cc.card][:, idx] + cc.T[:, None])
    brute = 1.0 - float(np.sum(cc.w * np.prod(1.0 - pi * mu, axis=1)))
    got = capcheck.p_match(problem, plan, capcheck.factor_model(problem, cc_card))
    assert got == pytest.approx(brute, abs=1e-12)
    mc = simulate_mixture(pi, mu, cc.w, draws=200_000, seed=3)
    assert abs(mc.p_match - got) <= 4 * mc.std_error
    central = capcheck.p_match(problem, plan, problem.fm_central)
    assert got < central  # the cap lowers the programs beyond 65%, whose share here is beyond the cohort's


def test_the_shipped_card_is_unchanged_by_the_cap_attribute(problem):
    """The shipped card carries no cap (None: IMG_CLIP's 0.85), and a card carrying 0.85
    explicitly gives the same program inputs bit for bit; a card TOML may not set the attribute."""
    cat = problem.candidates
    a = program_arrays(cat, CARD)
    b = program_arrays(cat, CARD.model_copy(update={"img_share_cap": IMG_CLIP[1]}))
    assert np.array_equal(a.img_x, b.img_x)
    c = program_arrays(cat, capcheck.load(CARD)[0])
    img = np.asarray(cat.column("img_share"), float)
    assert np.array_equal(a.img_x[img <= 0.65], c.img_x[img <= 0.65]) and (c.img_x[img > 0.65] < a.img_x[img > 0.65] + 1e-15).all()


def test_the_card_toml_cannot_set_the_cap(tmp_path):
    card = tmp_path / "c.toml"
    card.write_text("img_share_cap = 0.6\n" + (MODELS_DIR / "default.toml").read_text())
    with pytest.raises(InputError, match="img_share_cap: unknown key; remove it"):
        load_card(card)


def test_a_list_within_the_cohorts_share_at_the_cap_has_no_cap_check(problem):
    """The check runs exactly where the composition warning does (composition.beyond_cap): a list
    with no program at the cap, or at the cohort's share or below, gets None, and its figure to
    plan on is what it was."""
    from allocator.optim.evaluate import evaluate

    img = np.asarray(problem.candidates.column("img_share"), float)
    plan = Plan.of(np.flatnonzero(img < 0.65)[:20].tolist())
    m = evaluate(problem, plan)
    assert composition.of(problem, plan, m).at_cap == 0
    assert capcheck.check(problem, plan, m.p_match_central, m) is None
    hi = CARD.calibration.domain["share_at_img_cap"][1]
    k = int(hi * 20)  # at the cohort's upper end: still inside
    plan = Plan.of(np.flatnonzero(img >= 0.85)[:k].tolist() + np.flatnonzero(img < 0.65)[:20 - k].tolist())
    m = evaluate(problem, plan)
    assert not composition.beyond_cap(CARD, composition.of(problem, plan, m))
    assert capcheck.check(problem, plan, m.p_match_central, m) is None
    plan = Plan.of(np.flatnonzero(img >= 0.85)[:k + 2].tolist() + np.flatnonzero(img < 0.65)[:18 - k].tolist())
    m = evaluate(problem, plan)
    cc = capcheck.check(problem, plan, m.p_match_central, m)
    assert cc is not None and cc["at_cap"] == k + 2 and cc["n"] == 20 and cc["cap"] == 0.65
    assert cc["p_match_central"] == m.p_match_central and cc["p_match"] < cc["p_match_central"]


def test_plan_figure_takes_the_cap_check_only_when_it_is_lowest():
    interval = (0.70, 0.90)
    assert plan_figure(interval, None, None, cap_check={"p_match": 0.72}) == {
        "p_match": 0.70, "from": "the 10th percentile of the plausible models"}
    assert plan_figure(interval, None, None, cap_check={"p_match": 0.65}) == {"p_match": 0.65, "from": CAP_CHECK}
    both = plan_figure(interval, None, None, {"p_match": 0.6, "direction": "below"}, cap_check={"p_match": 0.65})
    assert both == {"p_match": 0.6, "from": SCORE_CHECK}
    assert plan_figure(None, None, None, cap_check={"p_match": 0.65}) is None  # no range: no figure to plan on
    assert plan_figure(interval, None, None, cap_check=None) == plan_figure(interval, None, None)


def test_a_stale_or_missing_cap_check_file_is_refused(tmp_path, capsys):
    """A card whose cap_check file is missing, or was made for other intercepts or another
    IMG-share effect, is refused with one line naming the file and what to run."""
    models = Path(CARD.path).parent
    for name in ("default.toml", "default_ensemble.json", "default_score_check.json"):
        shutil.copy(models / name, tmp_path / name)
    card = load_card(str(tmp_path / "default.toml"))
    with pytest.raises(InputError, match=r"cap_check: .*default_cap_check.json not found; run "
                                         r"models/make_cap_check.py or remove the key"):
        capcheck.load(card)
    code, _, err = run(capsys, "solve", TYPICAL, "--card", str(tmp_path / "default.toml"), "--draws", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "make_cap_check.py" in err
    for key, bump in (("interview.intercept", 0.01), ("interview.img_share_slope", 0.1)):
        data = json.loads((models / "default_cap_check.json").read_text())
        data["base"][key] += bump
        (tmp_path / "default_cap_check.json").write_text(json.dumps(data))
        with pytest.raises(InputError, match="other values of its intercepts and IMG-share effect"):
            capcheck.load(card)
    data = json.loads((models / "default_cap_check.json").read_text())
    data["card_version"] = "2026.2"  # any other value of the card changed: its version was raised
    (tmp_path / "default_cap_check.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="made for card version 2026.2, but .* is version"):
        capcheck.load(card)
    (tmp_path / "default_cap_check.json").write_text("{}")
    with pytest.raises(InputError, match="not a cap-check file"):
        capcheck.load(card)


def test_solve_json_carries_the_cap_check_and_its_warning_gives_it(capsys, tmp_path):
    """The typical profile's list gets the cap check in solve's JSON, the composition warning gives
    its figure, and the figure to plan on is the lowest of the 10th percentile and the check.  Under
    card 2026.3's plausible models (tests.helpers.cap085_models: every one clipping at 0.85, as
    before card 2026.4 drew the cap) the list holds 77% of its programs at the cap and, at a $900
    budget, the check lies below the 10th percentile: the figure to plan on takes it."""
    from allocator.percent import pct
    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path / "models"):
        _cap_check_in_solve(capsys, pct)


def _cap_check_in_solve(capsys, pct) -> None:

    code, out, _ = run(capsys, "solve", TYPICAL, "--json", "--draws", "0")
    d = json.loads(out)
    cc = d["p_match_cap_check"]
    assert code == 0 and cc["cap"] == 0.65 and (cc["at_cap"], cc["n"]) == (53, 69) and cc["file"] == "default_cap_check.json"
    assert cc["p_match_central"] == d["p_match_central"] and cc["p_match"] < cc["p_match_central"]
    assert d["p_match_plan"]["p_match"] == min(d["p_match_interval"][0], cc["p_match"])
    w = [x for x in d["warnings"] if "85% IMGs or more" in x]
    assert len(w) == 1 and ("under the IMG-share cap check (the effect stopping at 65% IMGs" in w[0]
                            and f"this list's P(match) is {pct(cc['p_match'])} instead of {pct(cc['p_match_central'])} "
                            "under the central model, and " in w[0])
    code, out, _ = run(capsys, "solve", TYPICAL, "--json", "--draws", "0", "--budget", "900")
    d = json.loads(out)
    assert d["p_match_plan"] == {"p_match": d["p_match_cap_check"]["p_match"], "from": CAP_CHECK}
    assert d["p_match_cap_check"]["p_match"] < d["p_match_interval"][0]
    code, out, _ = run(capsys, "solve", TYPICAL, "--draws", "0", "--budget", "900")
    flat = " ".join(out.split())
    assert code == 0 and f"({CAP_CHECK}, " in flat and "the IMG-share cap check; lower still" in flat


def test_the_cap_warning_names_the_model_its_other_figure_is_of():
    """The cap warning's second figure is the central model's, not the headline average beside
    it on every page (83.8% against "average 82.9%"): it says so, as the Step 2 CK warning does."""
    check = {"cap": 0.65, "p_match": 0.757, "p_match_central": 0.838}
    for ranged in (True, False):
        assert "this list's P(match) is 75.7% instead of 83.8% under the central model, and " in \
            composition.cap_tail(check, ranged)


def test_a_card_without_ensemble_gives_the_cap_check_as_an_at_most(capsys, tmp_path):
    """With one card (no ensemble: no range, so no figure to plan on) the warning does not say the
    cap check "joins the one to plan on", a figure never printed: it says to plan on at most it."""
    models = Path(CARD.path).parent
    for name in ("default.toml", "default_score_check.json", "default_cap_check.json"):
        shutil.copy(models / name, tmp_path / name)
    toml = tmp_path / "default.toml"
    toml.write_text("\n".join(ln for ln in toml.read_text().splitlines() if not ln.startswith("ensemble =")) + "\n")
    code, out, err = run(capsys, "solve", TYPICAL, "--card", str(toml), "--draws", "0", "--json")
    d = json.loads(out)
    assert code == 0 and d["p_match_interval"] is None and d["p_match_cap_check"] is not None, err
    w = next(x for x in d["warnings"] if "85% IMGs or more" in x)
    assert "joins the one to plan on" not in w and "plan on at most that figure" in w


def test_simulate_gives_the_cap_check_solve_gives(capsys, tmp_path):
    """simulate of solve's own list (its JSON) carries the same cap check and figure to plan on
    (under card 2026.3's plausible models, where at $900 the cap check is that figure)."""
    from tests.helpers import using_cap085_models

    with using_cap085_models(tmp_path / "models"):
        code, out, _ = run(capsys, "solve", TYPICAL, "--json", "--draws", "0", "--budget", "900")
        assert code == 0
        (tmp_path / "s.json").write_text(out)
        s = json.loads(out)
        code, out, _ = run(capsys, "simulate", TYPICAL, "--list", str(tmp_path / "s.json"), "--draws", "1000", "--json")
    d = json.loads(out)
    assert code == 0 and d["p_match_cap_check"]["p_match"] == pytest.approx(s["p_match_cap_check"]["p_match"], abs=1e-12)
    assert d["p_match_plan"]["from"] == s["p_match_plan"]["from"] == CAP_CHECK


def test_the_web_answer_gives_the_cap_check():
    """The web page and POST /api/solve: the JSON carries the cap check, the composition warning on
    the page gives its figure, and the page's "plan on" is the JSON's p_match_plan."""
    import html

    pytest.importorskip("fastapi", reason="the web extra is not installed")
    from fastapi.testclient import TestClient

    from allocator.output.report import plan_pct
    from allocator.percent import pct
    from allocator.web.app import create_app
    from tests.web_support import FAST_PROFILE, fast_form, settings

    with TestClient(create_app(settings())) as c:
        r = c.post("/api/solve", content=FAST_PROFILE)
        assert r.status_code == 200, r.text[-500:]
        d = r.json()
        cc = d["p_match_cap_check"]
        assert cc is not None and cc["cap"] == 0.65
        assert d["p_match_plan"]["p_match"] <= cc["p_match"]
        page = html.unescape(c.post("/solve", data=fast_form()).text)
    flat = " ".join(page.split())
    plan = d["p_match_plan"]
    assert f"plan on {plan_pct(plan['p_match'])}" in flat and f"({plan['from']}, " in flat
    assert "under the IMG-share cap check (the effect stopping at 65% IMGs" in flat
    assert f"this list's P(match) is {pct(cc['p_match'])} instead of {pct(cc['p_match_central'])}" in flat
    assert "the IMG-share cap check; lower still" in flat


def test_the_season_updates_figure_before_any_answer_takes_the_cap_check(capsys):
    """`update --json`: the list as sent gets solve's cap check (p_match_before_cap_check, on the
    prior, against the central card's P(match) before any answer), the figure to plan on before
    any answer is plan_figure of the before figures with it, and the text prints it."""
    season = str(DATA_DIR / "seasons" / "example_80.csv")
    code, out, _ = run(capsys, "update", TYPICAL, "--season", season, "--today", "2026-11-04", "--json")
    d = json.loads(out)
    cc = d["p_match_before_cap_check"]
    assert code == 0 and cc["cap"] == 0.65 and (cc["at_cap"], cc["n"]) == (67, 80) and cc["p_match"] < cc["p_match_central"]
    want = plan_figure(d["p_match_before_interval"], d["p_match_before_worst_season"],
                       d["p_match_before_published_curve"], None, cap_check=cc)
    assert d["p_match_before_plan"]["p_match"] == pytest.approx(want["p_match"], abs=1e-9)
    assert d["p_match_before_plan"]["from"] == want["from"]
    code, out, _ = run(capsys, "update", TYPICAL, "--season", season, "--today", "2026-11-04")
    from allocator.percent import pct

    assert f"before any answer, IMG-share cap check: {pct(cc['p_match'])}" in " ".join(out.split())


def test_each_plausible_model_draws_its_own_cap_and_clips_there():
    """Since card 2026.4 the cap is a judged parameter: the central card keeps 0.85, the ensemble's
    cards draw it across [0.50, 0.85] (the file records the range), and each card's IMG-share
    effect stops at its own cap, in both stages (img_x is flat above it and moves below it)."""
    from allocator.model import ensemble as ens
    from allocator.model.probability import img_cap

    doc = ens.card_doc(CARD)
    assert doc["interview"]["img_share_cap"]["range"] == [0.50, 0.85] and img_cap(CARD) == 0.85
    data = json.loads((MODELS_DIR / "default_ensemble.json").read_text())
    assert data["ranges"]["interview.img_share_cap"] == [0.5, 0.85]
    cards = ens.load_ensemble(CARD)
    caps = np.array([img_cap(c) for c in cards])
    assert len(cards) == 30 and 0.5 <= caps.min() < 0.55 and 0.8 < caps.max() <= 0.85
    cat = resolve_catalog(load_profile(TYPICAL), None)
    img = cat.df["img_share"].astype(float).to_numpy()
    for c, cap in zip(cards, caps):
        x = program_arrays(cat, c).img_x
        ref = logit(c.interview.img_share_reference.value)
        assert np.allclose(x, logit(np.clip(img, IMG_CLIP[0], cap)) - ref, atol=1e-12)
        above, below = img >= cap, (img > IMG_CLIP[0]) & (img < cap)
        assert above.any() and below.any() and np.ptp(x[above]) == 0 and np.ptp(x[below]) > 0


@pytest.mark.parametrize("cap", [0.05, 0.995, 1.0, 1.2])
def test_a_card_cap_outside_its_bounds_is_refused(tmp_path, cap):
    toml = tmp_path / "default.toml"
    text = (MODELS_DIR / "default.toml").read_text()
    toml.write_text(text.replace("[interview.img_share_cap]\nvalue = 0.85", f"[interview.img_share_cap]\nvalue = {cap}"))
    assert f"value = {cap}" in toml.read_text()
    with pytest.raises(InputError, match="img_share_cap"):
        load_card(toml)


def test_a_range_given_high_to_low_is_refused(tmp_path):
    """A judged parameter's range is [low, high]; given the other way round (which
    models/make_ensemble.py would draw from as an empty span) the card is refused, naming it."""
    toml = tmp_path / "default.toml"
    text = (MODELS_DIR / "default.toml").read_text()
    at = text.index("\n[interview.img_share_cap]\n")  # the table, not a comment naming it
    line = next(x for x in text[at:].splitlines() if x.startswith("range = "))
    toml.write_text(text[:at] + text[at:].replace(line, "range = [0.85, 0.5]", 1))
    with pytest.raises(InputError, match=r"interview.img_share_cap: range \[0.85, 0.5\] must be \[low, high\] with low <= high"):
        load_card(toml)


def test_the_cap_warning_names_the_drawn_range_only_where_there_are_plausible_models():
    """With a range the cap warning says the plausible models stop the effect anywhere from 50% to
    85% IMGs (the card's [interview.img_share_cap] range); with one card (no range) it does not
    name plausible models, and says to plan on at most the check."""
    cc = {"cap": 0.65, "p_match": 0.7622, "p_match_central": 0.8295}
    ranged = composition.cap_tail(cc, True, CARD)
    assert "(the plausible models stop it anywhere from 50% to 85% IMGs)" in ranged
    assert "76.2% instead of 83.0% under the central model, and that figure joins the one to plan on" in ranged
    one = composition.cap_tail(cc, False, CARD)
    assert "plausible models stop it" not in one and "plan on at most that figure" in one
