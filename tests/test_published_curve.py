"""The published-curve cross-check: hand-computed values, and its place in solve and simulate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from allocator.cli import main
from allocator.model.card import load_card
from allocator.verification.published_curve import check, curve_points, describe

ROOT = Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "data" / "profiles" / "typical_us_img.toml")


@pytest.fixture(scope="module")
def card():
    return load_card()


def _at(n: int, mass: float = 1.0, extra: dict | None = None) -> list[float]:
    hist = [0.0] * 41
    hist[n] = mass
    for k, v in (extra or {}).items():
        hist[k] = v
    return hist


def test_curve_is_the_cards_published_targets(card):
    xs, ys = curve_points(card)
    assert list(xs) == [0, 1, 3, 5, 10] and list(ys) == pytest.approx([0, 0.25, 0.35, 0.50, 0.75])
    assert describe(card) == "25/35/50/75% at 1/3/5/10 interviews"


@pytest.mark.parametrize("n, lo, hi", [(0, 0.0, 0.0), (1, 0.25, 0.25), (2, 0.30, 0.30), (4, 0.425, 0.425),
                                       (10, 0.75, 0.75), (12, 0.75, 0.79), (30, 0.75, 0.95)])
def test_point_masses_by_hand(card, n, lo, hi):
    assert check(card, _at(n)) == pytest.approx((lo, hi))


def test_mixture_is_the_weighted_average_and_counts_need_not_be_normalised(card):
    got = check(card, _at(3, 300, {12: 100}))  # 3/4 at 3 interviews, 1/4 at 12
    assert got == pytest.approx((0.75 * 0.35 + 0.25 * 0.75, 0.75 * 0.35 + 0.25 * 0.79))
    assert check(card, [0] * 5) is None and check(card, None) is None


def test_solve_and_simulate_report_it_exactly_and_the_draws_agree(capsys, tmp_path):
    """solve and simulate give the check from the exact distribution of the list's interview
    count (as the sweep rows do, so one list never gets two figures to plan on), with or without
    draws; the Monte Carlo's own interview counts give the same check within their noise."""
    out = tmp_path / "l.json"
    with pytest.raises(SystemExit) as e:
        main(["solve", PROFILE, "--objective", "p_match", "--draws", "20000", "--json", "--out", str(out)])
    assert e.value.code == 0
    d = json.loads(out.read_text())
    lo, hi = d["p_match_published_curve"]
    assert 0 < lo <= hi < d["p_match"]  # the published curve converts fewer interviews than the model
    assert (lo, hi) == pytest.approx(check(load_card(), d["mc"]["interviews_distribution"]), abs=0.01)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["simulate", PROFILE, "--list", str(out), "--draws", "20000", "--json"])
    s = json.loads(capsys.readouterr().out)
    assert e.value.code == 0 and s["p_match_published_curve"] == pytest.approx([lo, hi], abs=1e-12)
    with pytest.raises(SystemExit) as e:
        main(["simulate", PROFILE, "--list", str(out), "--draws", "20000"])
    text = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert e.value.code == 0 and "Published-curve check:" in text and "25/35/50/75% at 1/3/5/10 interviews" in text
    from allocator.verification.published_curve import relation  # the words follow the numbers, as on the page

    assert relation((lo, hi), s["p_match_interval"]) in text
    with pytest.raises(SystemExit) as e:
        main(["solve", PROFILE, "--objective", "p_match", "--draws", "0", "--json"])
    assert json.loads(capsys.readouterr().out)["p_match_published_curve"] == pytest.approx([lo, hi], abs=1e-12)


def test_a_check_below_the_whole_range_warns(capsys, tmp_path):
    from allocator.verification.published_curve import below_range_warning

    assert below_range_warning((0.30, 0.34), (0.41, 0.65))[0].startswith(
        "the published-curve check gives this list at most 34.0%, below the plausible models' 41.0% to 65.0%")
    # a top that rounds to 100 reads as the report prints it, never as a certainty
    assert "below the plausible models' 92.8% to >99.9%:" in below_range_warning((0.5, 0.6), (0.928, 0.99971))[0]
    assert below_range_warning((0.71, 0.80), (0.77, 0.90)) == [] and below_range_warning(None, (0.4, 0.6)) == []
    prof = tmp_path / "psy.toml"
    prof.write_text('[applicant]\nspecialties = ["Psychiatry"]\nstep2_score = 237\n[strategy]\nbudget = 900\n'
                    'objective = "p_match"\n')
    with pytest.raises(SystemExit) as e:
        main(["solve", str(prof), "--draws", "20000", "--json"])
    d = json.loads(capsys.readouterr().out)
    lo, hi = d["p_match_published_curve"]
    assert e.value.code == 0 and hi < d["p_match_interval"][0]
    assert any(w.startswith("the published-curve check gives this list at most") for w in d["warnings"])


def test_no_check_for_a_catalog_with_its_own_p_match(capsys):
    """The copula model (a catalog's own P(match)) has no interview stage: no interview counts to re-score."""
    from allocator.paths import DATA_DIR

    with pytest.raises(SystemExit) as e:
        main(["solve", PROFILE, "--catalog", str(DATA_DIR / "catalogs" / "tiny_p_match.csv"), "--objective",
              "p_match", "--draws", "20000", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert e.value.code == 0 and d["mc"] and "p_match_published_curve" not in d


def test_the_check_says_the_curve_stands_in_for_other_specialties():
    """The curve is Internal Medicine's; a list in other specialties is told so in a sentence that
    reads (it was "the only curve published, your list is in Psychiatry")."""
    from allocator.model.probability import load_card
    from allocator.output.report import published_curve_line

    line = published_curve_line((0.30, 0.34), load_card(), ("Internal Medicine", "Psychiatry"))
    assert "no curve is published for Psychiatry, so this one stands in for it" in line
    assert "stands in" not in published_curve_line((0.30, 0.34), load_card(), ("Internal Medicine",))


def test_the_exact_check_is_the_monte_carlo_one_without_its_sampling_error():
    """The sweep and frontier rows have no draws: their check takes the exact distribution of the
    list's interview count under the same mixture (pooled where the curve is flat, which changes
    nothing), and agrees with solve's Monte Carlo check within its sampling error; none under the
    copula or with a catalog's own p_match, as solve has none there."""
    import numpy as np

    from allocator.api import load, optimize, verify
    from allocator.model.counts import poisson_binomial
    from allocator.verification.published_curve import assess, conversion, exact, flat_from

    pr = load(PROFILE, budget=900.0, objective="p_match")
    plan = optimize(pr, "p_match").plan
    got = exact(pr, plan)
    xs, ys = curve_points(pr.card)
    top = flat_from(xs, ys)
    tail = np.arange(top, top + 30, dtype=float)
    for upper in (False, True):  # both ends are constant from the pooled count on
        assert np.ptp(conversion(tail, xs, ys, upper)) == 0
    n = len(plan.idx)
    full = poisson_binomial(pr.plan_pi(plan).T, n) @ pr.fm.w  # every count apart (nothing pooled)
    assert full.sum() == pytest.approx(1.0) and check(pr.card, full) == pytest.approx(got, abs=1e-12)
    mc = assess(pr, verify(pr, plan, draws=200_000, seed=3))
    assert got[0] < got[1] and mc == pytest.approx(got, abs=0.004)  # 200,000 draws: se < 0.001
    assert exact(load(PROFILE, budget=900.0, correlation=0.3), plan) is None
    tiny = load(ROOT / "data" / "profiles" / "tiny_demo.toml", ROOT / "data" / "catalogs" / "tiny_p_match.csv")
    assert exact(tiny, optimize(tiny, "p_match").plan) is None


@pytest.mark.parametrize("check, interval, words", [
    ((0.40, 0.45), (0.50, 0.70), "which every plausible model exceeds"),
    ((0.26, 0.26), (0.10, 0.17), "above every plausible model's figure for you"),
    ((0.60, 0.60), (0.46, 0.73), "within the plausible models' range"),
    ((0.40, 0.55), (0.50, 0.70), "within the plausible models' range"),
    ((0.40, 0.45), None, ""),
])
def test_the_words_beside_a_check_follow_the_numbers(check, interval, words):
    """The season page said "which every plausible model exceeds" beside a check of 26% and a
    range of 10-17% (an applicant's rejections put their figures below the curve); the words
    now follow the numbers."""
    from allocator.verification.published_curve import relation

    assert relation(check, interval).startswith(words) and bool(relation(check, interval)) == bool(words)


@pytest.mark.parametrize("n, words", [
    (3, "published"), (5, "published"),
    (8, "interpolated between the published 50% at 5 and 75% at 10"),
    (2, "interpolated between the published 25% at 1 and 35% at 3"),
    (12, "not published above 10 interviews: from 75% held flat to 2 points more per interview, the tool's guess"),
])
def test_the_curve_at_n_interviews_says_whether_it_is_published(card, n, words):
    from allocator.verification.published_curve import reading_at

    assert reading_at(card, n) == words
