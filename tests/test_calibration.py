"""The default model card meets its calibration targets (allocator.model.calibration), the
exact cohort evaluation agrees with a direct simulation, and the shipped ensemble is what
its script accepts."""
from __future__ import annotations

import itertools
import json
import pathlib

import numpy as np
import pytest

from allocator.errors import InputError
from allocator.model import calibration as cal
from allocator.model import ensemble as ens
from allocator.model.factors import card_nodes
from allocator.model.probability import eligibility, load_card, program_arrays

CARD = load_card()
PUBLISHED = {"conversion_1": 0.25, "conversion_3": 0.35, "conversion_5": 0.50, "conversion_10": 0.75,
             "interviews_matched_q1": 3, "interviews_matched_median": 5, "interviews_matched_q3": 8,
             "interviews_unmatched_q1": 1, "interviews_unmatched_median": 2, "interviews_unmatched_q3": 3,
             "match_rate": 0.678, "interview_yield": 0.10}


@pytest.fixture(scope="module")
def catalog():
    return cal.cohort_catalog(CARD)


@pytest.fixture(scope="module")
def cohort(catalog):
    return cal.make_cohort(CARD, catalog)


@pytest.fixture(scope="module")
def result(catalog, cohort):
    return cal.evaluate(CARD, catalog, cohort)


def test_every_published_figure_is_a_target():
    assert set(PUBLISHED) <= set(CARD.calibration.targets)
    for name, v in PUBLISHED.items():
        assert CARD.calibration.targets[name].target == pytest.approx(v)


@pytest.mark.parametrize("name", sorted(CARD.calibration.targets))
def test_target_within_the_cards_tolerance(name, result):
    t = CARD.calibration.targets[name]
    value = result.value(name)
    assert abs(value - t.target) <= t.tolerance, f"{name}: model {value:.4f}, target {t.target} ± {t.tolerance}"


@pytest.mark.parametrize("name", sorted(CARD.calibration.targets))
def test_card_records_what_the_script_reproduces(name, result):
    """`achieved` in the card is what `allocator calibrate` prints for this card."""
    t = CARD.calibration.targets[name]
    assert t.achieved is not None
    assert result.value(name) == pytest.approx(t.achieved, abs=5e-4)


MISSED = {"conversion_1", "conversion_3", "conversion_5", "conversion_10", "interviews_matched_q3",
          "interviews_unmatched_q3"}


def test_missed_targets_are_marked_and_documented(result):
    """Targets that pass only a tolerance wider than the intended one are exactly those whose
    text says MISSED, and models/README.md quotes the card's value of each."""
    table = cal.check(CARD, result)
    missed = set(table.loc[~table["passed_intended"], "target_name"])
    marked = {n for n, t in CARD.calibration.targets.items() if "MISSED" in (t.reasoning or "")}
    assert missed == marked == MISSED
    assert set(table.loc[table["intended_tolerance"] < table["tolerance"], "target_name"]) == MISSED
    readme = (ens.ensemble_path(CARD).parent / "README.md").read_text()
    for name in MISSED:
        v = result.value(name)
        group = "unmatched" if "unmatched" in name else "matched"
        quoted = f"{100 * v:.1f}%" if name.startswith("conversion") else f"{v:g} for {group}"
        assert quoted in readme, f"models/README.md does not quote {name} = {quoted}"


def test_conversion_rises_and_stays_well_below_certainty(result):
    conv = [result.conversion[n] for n in range(1, 21)]
    assert all(b > a for a, b in zip(conv, conv[1:]))
    assert result.conversion[10] < 0.9  # the one-factor model gave 97%
    assert result.interviews_matched[1] >= result.interviews_unmatched[1] + 2


def test_domain_recorded_in_the_card(result, catalog, cohort):
    dom = CARD.calibration.domain
    assert dom["applications"] == list(result.applications_range)
    assert dom["expected_interviews"] == pytest.approx([round(x, 1) for x in result.interviews_range], abs=1e-9)
    assert dom["interviews_per_application"] == pytest.approx([round(x, 3) for x in result.yield_range], abs=1e-9)
    mix = cal.composition(catalog, cohort)
    for key in ("share_at_img_cap", "la_share"):
        assert dom[key] == pytest.approx([round(x, 2) for x in mix[key]], abs=1e-9), key
    # the cohort's interviews per application bracket its pooled yield, the calibrated 0.081
    assert dom["interviews_per_application"][0] < result.interview_yield < dom["interviews_per_application"][1]


def test_cohort_is_seeded_and_sends_its_signals(catalog, cohort):
    again = cal.make_cohort(CARD, catalog)
    assert np.array_equal(again.lists, cohort.lists) and np.array_equal(again.gold, cohort.gold)
    spec = CARD.calibration.cohort
    assert (cohort.gold.sum(axis=1) == spec.signals_gold).all()
    assert (cohort.silver.sum(axis=1) == spec.signals_silver).all()
    assert not (cohort.gold & cohort.silver).any()
    assert not ((cohort.gold | cohort.silver | cohort.geo) & ~cohort.lists).any()
    prog = program_arrays(catalog, CARD)
    assert not (cohort.gold & ~prog.gold_ok[None, :]).any()
    low, att, yrs = eligibility(prog, cohort.applicants)
    assert not (cohort.lists & (low | att | yrs)).any()
    assert abs(cohort.lists.sum(axis=1).mean() - spec.applications_mean) < 2
    assert 0.3 < cohort.geo.any(axis=1).mean() < 0.95


def test_poisson_binomial_against_enumeration():
    rng = np.random.default_rng(3)
    p = rng.random((7, 4))
    for n_max in (2, 4, 7):
        f = cal._pb(p, n_max)
        for m in range(4):
            exact = np.zeros(8)
            for bits in itertools.product((0, 1), repeat=7):
                b = np.array(bits)
                exact[b.sum()] += np.prod(np.where(b, p[:, m], 1 - p[:, m]))
            want = np.append(exact[:n_max], exact[n_max:].sum())
            assert np.allclose(f[:, m], want, atol=1e-14)


def test_exact_cohort_figures_against_monte_carlo(catalog):
    """Draw the node, then interviews and matches, for a small cohort: the exact match rate,
    conversion and quartiles agree within the simulation's error."""
    small = cal.make_cohort(CARD, catalog, size=60, seed=11)
    res = cal.evaluate(CARD, catalog, small)
    prep = cal.prepare(CARD, catalog, small)
    nd = card_nodes(CARD.factors)
    rng = np.random.default_rng(5)
    D = 3000
    n_all, matched = [], []
    for a in range(len(small)):
        on = prep.on[a]
        k = rng.choice(len(nd.w), size=D, p=nd.w)
        pi = 1 / (1 + np.exp(-(prep.eta[a, on][None, :] + nd.S[k, None])))
        mu = 1 / (1 + np.exp(-(prep.zeta[a, on][None, :] + nd.T[k, None])))
        inter = rng.random(pi.shape) < pi
        succ = inter & (rng.random(pi.shape) < mu)
        n_all.append(inter.sum(axis=1))
        matched.append(succ.any(axis=1))
    n_all, matched = np.concatenate(n_all), np.concatenate(matched)
    ranked = n_all > 0
    mr = matched[ranked].mean()
    assert abs(mr - res.match_rate) < 4 * np.sqrt(mr * (1 - mr) / ranked.sum())
    for n in (1, 3, 5):
        sel = n_all == n
        est = matched[sel].mean()
        assert abs(est - res.conversion[n]) < 4 * np.sqrt(est * (1 - est) / sel.sum())
    for got, q in zip(res.interviews_matched, (25, 50, 75)):
        assert abs(np.percentile(n_all[matched], q, method="inverted_cdf") - got) <= 1


def test_calibrate_command_json_keys(result):
    from allocator.cli.calibrate import payload

    d = payload("default")
    assert [x["interviews"] for x in d["conversion"]] == list(range(1, 21))
    assert d["conversion"][9]["p_match"] == pytest.approx(result.conversion[10])
    assert set(d["step2_median"]) == {"matched", "unmatched"}
    assert d["interviews_quartiles"]["matched"] == list(result.interviews_matched)
    assert {r["name"] for r in d["targets"]} == set(CARD.calibration.targets)
    assert d["passed"] is True
    assert set(d["missed_intended"]) == MISSED
    assert all(r["passed_intended"] == (r["name"] not in MISSED) for r in d["targets"])


# ---------------------------------------------------------------- the ensemble
ENSEMBLE = json.loads(ens.ensemble_path(CARD).read_text())


def test_ensemble_ships_enough_cards_with_its_acceptance_rate():
    assert ENSEMBLE["shipped"] == len(ENSEMBLE["accepted"]) >= 30
    assert ENSEMBLE["accepted_count"] >= len(ENSEMBLE["accepted"])
    assert ENSEMBLE["acceptance_rate"] == pytest.approx(ENSEMBLE["accepted_count"] / ENSEMBLE["draws"])
    assert sorted(s["draw"] for s in ENSEMBLE["accepted"]) == [s["draw"] for s in ENSEMBLE["accepted"]]
    assert len(ens.load_ensemble(CARD)) == len(ENSEMBLE["accepted"])


def test_signal_ranges_reach_well_below_us_graduate_figures():
    r = ens.judged(ens.card_doc(CARD))
    assert r["signals.gold_odds_ratio"][0] <= 2.71 / 2 and r["signals.silver_odds_ratio"][0] <= 1.1
    assert r["signals.geographic_preference_odds_ratio"][0] <= 1.1
    vals = np.array([s["params"]["signals.gold_odds_ratio"] for s in ENSEMBLE["accepted"]])
    assert vals.min() < 2.0  # accepted cards include signals far weaker than on US graduates
    doc = ens.card_doc(CARD)
    for key in r:
        if key.startswith(ens.COHORT):  # a number of the synthetic cohort: its reasoning beside it
            assert doc["calibration"]["cohort"].get(f"{key.removeprefix(ens.COHORT)}_range_reasoning"), key
            continue
        sec, name = key.split(".")
        assert doc[sec][name].get("range_reasoning"), f"{key}: a range needs its reasoning"


def test_the_ensemble_draws_the_cohorts_img_friendliness(catalog, cohort):
    """img_friendliness (how strongly the synthetic applicants favour IMG-friendly programs) is
    judged 1-2.5: the ensemble draws it, each accepted set records it, each loaded card's cohort
    is built with it, and a card is not evaluated on another value's cohort."""
    key = "calibration.cohort.img_friendliness"
    assert ens.judged(ens.card_doc(CARD))[key] == (1.0, 2.5) == tuple(ENSEMBLE["ranges"][key])
    assert CARD.calibration.cohort.img_friendliness == 1.5
    vals = [s["params"][key] for s in ENSEMBLE["accepted"]]
    assert all(1.0 <= v <= 2.5 for v in vals) and max(vals) - min(vals) > 0.75
    cards = ens.load_ensemble(CARD)
    assert [c.calibration.cohort.img_friendliness for c in cards] == vals
    own = cal.cohort_of(cards[0], catalog)
    assert not np.array_equal(own.lists, cohort.lists)
    with pytest.raises(ValueError, match="evaluate a card on its own cohort"):
        cal.prepare(cards[0], catalog, cohort)
    cache: dict = {}
    assert cal.cohort_of(CARD, catalog, cache) is cal.cohort_of(CARD, catalog, cache)


def test_an_undrawn_cohort_number_in_an_ensemble_file_is_refused(tmp_path):
    doc = ens.card_doc(CARD)
    s = {"params": {"calibration.cohort.step2_mean": 240.0}}
    with pytest.raises(InputError, match="is not a number of the card's cohort with a range"):
        ens._params(tmp_path / "e.json", 0, s, doc)


@pytest.mark.parametrize("j", [0, 1])
def test_accepted_cards_pass_every_target(j, catalog):
    card = ens.load_ensemble(CARD)[j]
    res = cal.evaluate(card, catalog, cal.cohort_of(card, catalog))  # the card's own cohort
    table = cal.check(card, res)
    assert table["passed"].all(), table[~table["passed"]]
    for name, v in ENSEMBLE["accepted"][j]["targets"].items():
        assert res.value(name) == pytest.approx(v, abs=5e-4)


def test_the_ensemble_takes_every_published_season_in_turn(catalog, cohort):
    """Each shipped card names a season of [calibration.seasons]; they come in turn (equal shares,
    so a season like 2022, 6 points below 2025, is a quarter of the range); each card's match rate
    is its season's, within the target's tolerance, and the central card stays on 2025's."""
    rates = CARD.calibration.seasons.match_rate
    assert rates == {"2022": 0.614, "2023": 0.676, "2024": 0.670, "2025": 0.678}
    assert ENSEMBLE["seasons"] == rates
    names = list(rates)
    got = [s["season"] for s in ENSEMBLE["accepted"]]
    assert got == [names[j % len(names)] for j in range(len(got))]
    tol = CARD.calibration.targets["match_rate"].tolerance
    for s in ENSEMBLE["accepted"]:
        assert abs(s["targets"]["match_rate"] - rates[s["season"]]) <= tol
    cards = ens.load_ensemble(CARD)
    assert [c.calibration.targets["match_rate"].target for c in cards] == [rates[s] for s in got]
    assert CARD.calibration.targets["match_rate"].target == rates["2025"]
    low = [s["targets"]["match_rate"] for s in ENSEMBLE["accepted"] if s["season"] == "2022"]
    assert max(low) < min(s["targets"]["match_rate"] for s in ENSEMBLE["accepted"] if s["season"] != "2022")


def test_seasons_without_a_match_rate_target_are_refused():
    doc = ens.card_doc(CARD)
    del doc["calibration"]["targets"]["match_rate"]
    with pytest.raises(InputError, match=r"\[calibration.seasons\] gives match rates by season: it needs the target"):
        ens.apply(doc, {}, "card.toml")


def test_a_season_rate_outside_0_1_is_refused():
    doc = ens.card_doc(CARD)
    doc["calibration"]["seasons"]["match_rate"]["2022"] = 61.4  # a percentage where a share belongs
    with pytest.raises(InputError, match="calibration.seasons: match_rate.2022 = 61.4 must lie strictly between 0 and 1"):
        ens.apply(doc, {}, "card.toml")


# ---------------------------------------------------------------- held out
def test_held_out_figures_are_not_targets_and_the_card_records_its_miss(result):
    """[calibration.holdout] is a published figure no card was fitted to or selected by (retune and
    make_ensemble read [calibration.targets] only): the Step 2 CK gap between matched and unmatched
    applicants, 6 points published, 3 under the card (a miss the card records and calibrate prints)."""
    hold = CARD.calibration.holdout
    assert set(hold) == {"step2_median_gap"} and not set(hold) & set(CARD.calibration.targets)
    gap = result.value("step2_median_gap")
    assert gap == result.step2_median["matched"] - result.step2_median["unmatched"]
    assert gap == pytest.approx(hold["step2_median_gap"].achieved, abs=5e-4)
    assert not hold["step2_median_gap"].passes(gap) and "MISSED" in hold["step2_median_gap"].reasoning
    t = cal.check(CARD, result, held_out=True)
    assert list(t["target_name"]) == ["step2_median_gap"] and not t["passed"].any()
    for name in ENSEMBLE["accepted"][0]["targets"]:  # what the ensemble's cards were selected by
        assert name in CARD.calibration.targets


def test_calibrate_prints_the_held_out_figure_apart(capsys):
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(["calibrate"])
    out = " ".join(capsys.readouterr().out.split())
    assert e.value.code == 0 and "held out: published figures no model was fitted to or selected by" in out
    assert "step2_median_gap 6 2 3.000 MISSED" in out and "no independent test" in out
    assert "this card's match rate is 67.8%; the plausible models take the published seasons in turn (2022 61.4%," in out


def test_calibrate_leads_a_widened_pass_with_the_miss(capsys):
    """A target the card misses at the tolerance it was set with (conversion_3: 0.527 against
    0.35 +- 0.1) read "PASS, misses ±0.1": now each such row says MISS first and the widened
    tolerance it falls within; the exit status still counts it as passed."""
    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(["calibrate"])
    lines = capsys.readouterr().out.splitlines()
    assert e.value.code == 0
    rows = {ln.split()[0]: ln for ln in lines if ln.strip() and ln.split()[0] in CARD.calibration.targets}
    assert set(rows) == set(CARD.calibration.targets)
    for name, row in rows.items():
        if name in MISSED:
            t = CARD.calibration.targets[name]
            assert f"MISS ±{t.intended_tolerance:g} (within widened ±{t.tolerance:g})" in row and "PASS" not in row
        else:
            assert row.rstrip().endswith("PASS")
    assert any(ln.startswith(f"{len(MISSED)} targets MISS the tolerance they were set with") for ln in lines)


def test_calibrate_exits_2_naming_the_card_and_target_on_a_fail(capsys, tmp_path):
    """A FAIL gates: the table is printed, then one line on stderr naming the card file and the
    failing target, exit 2; the shipped card (MISSes within the widened tolerance) exits 0."""
    from allocator.cli import main

    text = pathlib.Path(CARD.path).read_text()
    old = "[calibration.targets.match_rate]\ntarget = 0.678"
    assert old in text
    card = tmp_path / "moved.toml"
    card.write_text(text.replace(old, "[calibration.targets.match_rate]\ntarget = 0.700", 1))
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--card", str(card)])
    out, err = capsys.readouterr()
    assert e.value.code == 2 and "Traceback" not in err
    assert any(ln.split()[:2] == ["match_rate", "0.7"] and ln.rstrip().endswith("FAIL") for ln in out.splitlines())
    assert err.strip().splitlines() == [
        f"allocator: error: {card}: [calibration.targets.match_rate]: the model gives 0.678 against 0.7 ± 0.015; "
        "re-fit the card or fix the target"]
    with pytest.raises(SystemExit) as e:
        main(["calibrate", "--json"])
    assert e.value.code == 0 and json.loads(capsys.readouterr().out)["passed"] is True
