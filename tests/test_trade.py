"""The safety-first answer as the user sees it (issue 14): JSON keys, the trade in plain
words, counts by tier and the seed guide's ranges; and the defects of item 4 that belong to
it: a fixed geographic preference echoed, an unreachable LA-objective target naming the
binding limit (with the status JSON), ``allocator.solve`` from another directory, and
``res.p_match_la``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import allocator
from allocator.inputs.profile import Applicant, load_profile
from allocator.output.guide import recognize
from allocator.output.trade import trade_sentence

from .helpers import run

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "data" / "profiles"
TINY_PROFILE = str(PROFILES / "tiny_demo.toml")
TINY = str(ROOT / "data" / "catalogs" / "tiny_p_match.csv")


def test_json_carries_the_trade(capsys):
    code, out, err = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--json", "--draws", "0")
    assert code == 0, err
    d = json.loads(out)
    assert d["objective"] == "safety_first" and d["safety_margin"] == 0.01
    assert d["p_match_floor"] == pytest.approx(d["p_match_best"] - 0.01)
    assert d["p_match"] >= d["p_match_floor"] - 1e-9
    assert sum(d["tiers"].values()) == d["n_applications"] and d["tiers"]["la"] == d["n_la"]
    safest, la = d["alternatives"]["safest"], d["alternatives"]["la_leaning"]
    assert safest["p_match"] == pytest.approx(d["p_match_best"], abs=1e-12)
    assert la["p_match"] >= d["p_match_floor"] - 1e-9
    # the chosen list has the best expected utility at the floor; the LA-leaning one the best P(LA)
    assert d["expected_utility"] >= max(safest["expected_utility"], la["expected_utility"]) - 1e-9
    assert la["p_match_la"] >= max(d["p_match_la"], safest["p_match_la"]) - 1e-9
    for alt in (safest, la):
        assert sum(alt["tiers"].values()) == alt["n_applications"] == len(alt["program_ids"])
        assert alt["difference"]["p_match"] == pytest.approx(d["p_match"] - alt["p_match"])
        assert alt["fees"] <= 400
        assert alt["gap"] is None or alt["gap"] >= 0
        assert alt["status"] != "optimal" or alt["gap"] is None or alt["gap"] <= 1e-7


def test_margin_zero_and_other_objectives(capsys):
    code, out, _ = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--json", "--draws", "0",
                       "--safety-margin", "0")
    d = json.loads(out)
    assert code == 0 and d["p_match"] == pytest.approx(d["p_match_best"], abs=1e-12)
    code, out, _ = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--json", "--draws", "0",
                       "--objective", "p_match")
    p = json.loads(out)
    assert code == 0 and p["objective"] == "p_match" and p["alternatives"] is None
    assert p["p_match"] == pytest.approx(d["p_match_best"], abs=1e-12)
    code, _, err = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--safety-margin", "2")
    assert code == 2 and "--safety-margin" in err


def test_report_says_what_the_list_gives_up(capsys):
    code, out, err = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--draws", "0", "--show", "3")
    assert code == 0, err
    text = " ".join(out.split())
    assert "Safety first" in text and "Against the safest list" in text
    assert "Against the LA-most list at the same floor" in text
    assert "by tier LA" in text and "points of P(match" in text


class _M:
    def __init__(self, p, la, west=None):
        self.p_match, self.p_match_la, self.p_match_west = p, la, west


@pytest.mark.parametrize("chosen, alt, words", [
    ((0.925, 0.52), (0.935, 0.05), "gives up 1.0 points of P(match) for +47.0 points of P(match in Greater LA)"),
    ((0.935, 0.05), (0.925, 0.52), "gives up 47.0 points of P(match in Greater LA) for +1.0 points of P(match)"),
    ((0.9, 0.3), (0.9, 0.3), "has the same P(match) and P(match in Greater LA)"),
    ((0.92, 0.30), (0.93, 0.40), "for more of the rest of the West"),
    ((0.841, 0.0), (0.850, 0.0), "gives up 0.9 points of P(match) and keeps P(match in Greater LA), for more of the "
                                 "rest of the West (a higher expected tier utility)"),  # an LA cap of 0: not "+0.0"
    ((0.85016, 0.20), (0.85, 0.208), "keeps P(match) and gives up 0.8 points of P(match in Greater LA) for more of "
                                     "the rest of the West"),  # the reapplicant's answer: not "for +0.0 points"
])
def test_trade_sentence(chosen, alt, words):
    assert words in trade_sentence(_M(*chosen), _M(*alt))


def test_with_no_la_gain_the_trade_counts_the_west_and_one_list_is_named_once(capsys):
    """With an LA cap of 0 the answer gains nothing in LA: the sentence says what it buys (programs in
    the rest of the West), and the safest list, also the LA-most one, is set against once, not twice."""
    me, alt = _M(0.841, 0.0), _M(0.850, 0.0)
    me.n_by_tier, alt.n_by_tier = {"la": 0, "west": 11, "elsewhere": 58}, {"la": 0, "west": 1, "elsewhere": 68}
    assert "for 10 more programs in the rest of the West" in trade_sentence(me, alt)
    code, out, err = run(capsys, "solve", str(PROFILES / "typical_us_img.toml"), "--la-share-max", "0", "--draws", "0",
                         "--show", "1")
    text = " ".join(out.split())
    assert code == 0, err
    assert text.count("Against ") == 1 and "Against the safest list, which is also the LA-most list" in text
    assert "+0.0 points" not in text
    # the lists carry P(match in the West): what the rest of the West buys is said in points of it
    d = json.loads(run(capsys, "solve", str(PROFILES / "typical_us_img.toml"), "--la-share-max", "0", "--draws",
                       "0", "--json")[1])
    gain = 100 * (d["p_match_west"] - d["alternatives"]["safest"]["p_match_west"])
    assert gain >= 0.05 and f"for +{gain:.1f} points of P(match in the West, LA included)" in text


@pytest.mark.parametrize("chosen, alt, words", [
    # the West moves and the sentence is about LA: the West's change is added in points
    ((0.925, 0.52, 0.70), (0.935, 0.05, 0.20), "for +47.0 points of P(match in Greater LA) (P(match in the West, "
                                               "LA included) +50.0 points)"),
    ((0.935, 0.05, 0.20), (0.925, 0.52, 0.70), "for +1.0 points of P(match) (P(match in the West, LA included) "
                                               "-50.0 points)"),
    # nothing gained in LA: the West's gain is what the list buys, said once
    ((0.92, 0.30, 0.60), (0.93, 0.40, 0.55), "of P(match in Greater LA) for +5.0 points of P(match in the West, "
                                             "LA included) (a higher expected tier utility)"),
    # the West unchanged (under 0.05 points): nothing added
    ((0.925, 0.52, 0.6), (0.935, 0.05, 0.6004), "for +47.0 points of P(match in Greater LA)"),
    # the West falls (a catalog's own utilities): the sentence never claims more of the West beside the fall
    ((0.92, 0.30, 0.50), (0.93, 0.40, 0.55), "of P(match in Greater LA) for a higher expected tier utility "
                                             "(P(match in the West, LA included) -5.0 points)"),
])
def test_trade_sentence_gives_the_west_in_points(chosen, alt, words):
    said = trade_sentence(_M(*chosen), _M(*alt))
    assert words in said and said.count("P(match in the West") <= 1 and "more of the rest" not in said
    if chosen[2] == pytest.approx(alt[2], abs=4e-4):
        assert "West)" not in said


def test_alternative_line_gives_the_alternatives_range_when_the_model_has_one():
    from allocator.output.trade import alternative_line

    alt = _M(0.85, 0.0)
    alt.n_by_tier, alt.cost = {"la": 0, "west": 1, "elsewhere": 68}, 1500.0
    plain = alternative_line("the safest list", _M(0.84, 0.05), alt)
    assert "P(match) 85.0%, P(match in Greater LA)" in plain  # a catalog's own p_match: no range
    alt.p_match_interval = (0.771, 0.908)
    assert "P(match) 85.0% (77% to 91% over the plausible models)" in alternative_line("the safest list",
                                                                                       _M(0.84, 0.05), alt)


def test_guide_cases_recognized_from_the_fields_not_the_file():
    keys = {f: (recognize(load_profile(PROFILES / f"{f}.toml").applicant) or type("n", (), {"key": None})).key
            for f in ("strong_la_ties", "moderate_no_ties", "reapplicant_la_only", "typical_us_img")}
    assert keys == {"strong_la_ties": "strong", "moderate_no_ties": "moderate",
                    "reapplicant_la_only": "reapplicant", "typical_us_img": None}
    strong = load_profile(PROFILES / "strong_la_ties.toml").applicant
    assert recognize(strong.model_copy(update={"la_ties": False})) is None or \
        recognize(strong.model_copy(update={"la_ties": False})).key != "strong"
    assert recognize(Applicant(step2_score=250, la_ties=True, usce_months=3, usce_california_months=3)).key == "strong"
    case = recognize(strong)
    assert case.ranges["la"] == (20, 25) and case.ranges["west"] == (20, 30) and "seed guide" in case.to_dict()["source"]


def test_reapplicant_only_when_the_profile_says_so(capsys, tmp_path):
    """LA ties and years since graduation describe many first-time applicants: the guide's
    reapplicant case needs ``reapplicant = true`` (the shipped reapplicant profile sets it)."""
    first = Applicant(step2_score=237, la_ties=True, years_since_graduation=3, usce_months=4)
    assert recognize(first) is None
    case = recognize(first.model_copy(update={"reapplicant": True}))
    assert case.key == "reapplicant" and case.why == "reapplicant = true, LA ties"
    prof = tmp_path / "p.toml"
    prof.write_text((PROFILES / "typical_us_img.toml").read_text().replace("la_ties = false", "la_ties = true")
                    .replace("years_since_graduation = 1 ", "years_since_graduation = 3 "))
    code, out, err = run(capsys, "solve", str(prof), "--catalog", TINY, "--draws", "0", "--json")
    assert code == 0, err
    assert json.loads(out)["guide"] is None
    prof.write_text(prof.read_text().replace("[strategy]", "reapplicant = \"yes\"\n\n[strategy]"))
    code, _, err = run(capsys, "solve", str(prof), "--catalog", TINY, "--draws", "0")
    assert code == 2 and "[applicant] reapplicant = 'yes': write true or false (no quotes)" in err


def test_guide_ranges_next_to_the_counts(capsys, tmp_path):
    """The strong applicant's profile on the tiny catalog (its own p_match): the report and
    the JSON show the guide's ranges for that case."""
    prof = tmp_path / "strong.toml"
    prof.write_text((PROFILES / "strong_la_ties.toml").read_text().replace("budget = 3000", "budget = 400")
                    .replace("max_applications = 100", "max_applications = 30"))
    code, out, err = run(capsys, "solve", str(prof), "--catalog", TINY, "--draws", "0", "--json")
    assert code == 0, err
    g = json.loads(out)["guide"]
    assert g["case"] == "strong" and g["ranges"]["la"] == [20, 25]
    code, out, _ = run(capsys, "solve", str(prof), "--catalog", TINY, "--draws", "0", "--show", "1")
    text = " ".join(out.split())
    assert "guide for a strong applicant with LA ties (70-100 programs): 20-25 LA/SoCal" in text
    assert "(the closest guide case, from: Step 2 CK" in text  # the profile has no such field: say why


# ---------------------------------------------------------------------- item 4 defects
def _model_catalog(path: Path) -> str:
    """Eight programs without p_match (the model gives them), two in the Pacific division."""
    rows = [("P0", "Los Angeles", "CA"), ("P1", "Fresno", "CA"), ("P2", "Columbus", "OH"), ("P3", "Detroit", "MI"),
            ("P4", "Chicago", "IL"), ("P5", "Atlanta", "GA"), ("P6", "Newark", "NJ"), ("P7", "Omaha", "NE")]
    pd.DataFrame([{"program_id": i, "name": f"Program {i}", "specialty": "Internal Medicine", "city": c,
                   "state": s} for i, c, s in rows]).to_csv(path, index=False)
    return str(path)


def test_fixed_geographic_preference_is_echoed(capsys, tmp_path):
    cat = _model_catalog(tmp_path / "cat.csv")
    prof = tmp_path / "p.toml"
    prof.write_text('[applicant]\nstep2_score = 240\n\n[strategy]\nbudget = 100\nmax_applications = 4\n'
                    'signals = "none"\ngeographic_preference = ["Pacific"]\nobjective = "p_match"\n')
    code, out, err = run(capsys, "solve", str(prof), "--catalog", cat, "--draws", "0", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["geographic_preference"] == ["Pacific"] and d["geographic_preference_source"] == "profile"
    code, out, _ = run(capsys, "solve", str(prof), "--catalog", cat, "--draws", "0")
    assert "geographic preference (fixed in the profile)" in out and "Pacific" in out


def test_unreachable_la_target_names_the_limit_and_prints_the_status(capsys):
    code, out, err = run(capsys, "solve", TINY_PROFILE, "--catalog", TINY, "--objective", "p_match_la",
                         "--target", "0.9", "--json", "--draws", "0")
    assert code == 3 and "max_applications=30" in err and "the catalog" not in err
    d = json.loads(out)
    assert d["status"] == "infeasible" and d["objective"] == "p_match_la" and d["target_p_match"] == 0.9
    assert 0.5 < d["p_match_best"] < 0.9 and "target" in d["conflicting"]


def test_solve_from_another_directory_and_p_match_la(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = allocator.solve("data/profiles/tiny_demo.toml", "data/catalogs/tiny_p_match.csv", draws=0)
    assert res.status.value == "optimal"
    assert res.p_match_la == res.metrics.p_match_la and 0 <= res.p_match_la <= res.p_match
    with pytest.raises(allocator.InputError, match="no such profile"):
        allocator.solve("data/profiles/no_such_profile.toml")


def test_the_p_match_given_up_carries_its_range_under_single_models():
    """"Gives up 1.0 points of P(match)" is an average over the plausible models: the sentence
    gives the 10th-90th percentile of the difference model by model (both lists under the same
    model), and the web's copy read back from the JSON's difference says the same."""
    from types import SimpleNamespace

    import numpy as np

    me, alt = _M(0.925, 0.52), _M(0.935, 0.05)
    me.p_match_by_card = tuple(0.925 + np.linspace(-0.02, 0.02, 30))
    alt.p_match_by_card = tuple(0.935 + np.linspace(-0.01, 0.01, 30))
    d = np.array(me.p_match_by_card) - np.array(alt.p_match_by_card)
    lo, hi = -100 * np.percentile(d, 90), -100 * np.percentile(d, 10)
    words = f"gives up 1.0 points of P(match) (on average; {lo:.1f} to {hi:.1f} under single plausible models) for +47.0"
    assert words in trade_sentence(me, alt)
    read_back = SimpleNamespace(p_match=0.935, p_match_la=0.05, p_match_west=None,
                                by_model=[float(np.percentile(d, 10)), float(np.percentile(d, 90))])
    assert trade_sentence(_M(0.925, 0.52), read_back) == trade_sentence(me, alt)


def test_solve_json_gives_the_difference_model_by_model(capsys):
    """The JSON's alternatives carry difference.p_match_by_model, the figures the sentence gives."""
    code, out, err = run(capsys, "solve", str(PROFILES / "strong_la_ties.toml"), "--draws", "0", "--json")
    assert code == 0, err
    d = json.loads(out)
    diff = d["alternatives"]["safest"]["difference"]
    lo, hi = diff["p_match_by_model"]
    assert lo <= diff["p_match"] <= hi and lo < 0  # the average given up lies in its per-model range here
    code, out, err = run(capsys, "solve", str(PROFILES / "strong_la_ties.toml"), "--draws", "0", "--show", "0")
    text = " ".join(out.split())
    least, most = -100 * hi, -100 * lo  # points given up
    words = (f"(on average; from {-least:.1f} gained to {most:.1f} given up under single plausible models)"
             if least <= -0.05 else f"(on average; {max(least, 0.0):.1f} to {most:.1f} under single plausible models)")
    assert words in text


def test_no_per_model_range_where_p_match_is_no_average_and_a_gain_is_called_one(capsys):
    """Under --correlation (the copula's figure) there is no "on average" range; where the
    per-model differences cross zero the sentence says which way."""
    import numpy as np

    code, out, err = run(capsys, "solve", str(PROFILES / "strong_la_ties.toml"), "--draws", "0", "--json",
                         "--correlation", "0.3")
    assert code == 0, err
    d = json.loads(out)
    assert d["alternatives"]["safest"]["difference"]["p_match_by_model"] is None
    me, alt = _M(0.925, 0.52), _M(0.935, 0.05)
    me.p_match_by_card = tuple(0.925 + np.linspace(-0.03, 0.03, 30))
    alt.p_match_by_card = tuple(0.935 + np.zeros(30))
    assert "(on average; from " in trade_sentence(me, alt) and " gained to " in trade_sentence(me, alt)


def test_a_gain_that_rounds_to_nothing_is_not_called_one():
    """A per-model range whose smallest figure given up is a gain under 0.05 points reads "0.0 to
    ...", not "from 0.0 gained to ..." nor "-0.0 to ..."; from 0.05 points it is a gain."""
    import numpy as np

    me, alt = _M(0.925, 0.52), _M(0.935, 0.05)
    alt.p_match_by_card = tuple(0.935 + np.zeros(30))
    for top, words in ((0.0002, "(on average; 0.0 to "), (0.0008, "(on average; from 0.1 gained to ")):
        me.p_match_by_card = tuple(0.935 + np.linspace(-0.03, -0.03 + (top + 0.03) / 0.9, 30))
        d = np.array(me.p_match_by_card) - np.array(alt.p_match_by_card)
        assert (np.percentile(d, 90) > 0) and words in trade_sentence(me, alt), (np.percentile(d, 90), trade_sentence(me, alt))
