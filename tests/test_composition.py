"""A list's composition against the calibration cohort's: the share of programs at the
IMG-share cap, the share in Greater LA, interviews per application (verification/composition)."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from allocator.model.probability import IMG_CLIP, load_card
from allocator.paths import DATA_DIR
from allocator.verification import composition
from allocator.verification.composition import Mix
from tests.helpers import run

CARD = load_card("default")
DOM = CARD.calibration.domain
TYPICAL = str(DATA_DIR / "profiles" / "typical_us_img.toml")
IM = DATA_DIR / "catalogs" / "demo_internal_medicine.csv"


def _cap_warning(ws: list[str]) -> list[str]:
    return [w for w in ws if "85% IMGs or more" in w]


def _la_warning(ws: list[str]) -> list[str]:
    return [w for w in ws if "are in Greater LA" in w]


def test_the_bounds_are_the_cohorts_upper_ends_and_only_beyond_them_is_warned():
    cap_hi, la_hi = DOM["share_at_img_cap"][1], DOM["la_share"][1]
    n = 100
    at = Mix(n, int(cap_hi * n), int(la_hi * n), 0.10 * n)  # exactly at both ends: inside
    assert composition.warnings(CARD, at) == [] and composition.cell(CARD, at) == ""
    over = Mix(n, int(cap_hi * n) + 1, int(la_hi * n) + 1, 0.10 * n)
    ws = composition.warnings(CARD, over)
    assert len(_cap_warning(ws)) == 1 and len(_la_warning(ws)) == 1
    assert f"{int(cap_hi * n) + 1} of this list's 100 programs ({int(cap_hi * n) + 1}%)" in ws[0]
    assert "in Greater LA" in composition.cell(CARD, over) and "IMG-share cap" in composition.cell(CARD, over)
    # interviews per application alone, beyond the cohort's 95th percentile
    y_hi = DOM["interviews_per_application"][1]
    ws = composition.warnings(CARD, Mix(n, 0, 0, (y_hi + 0.01) * n))
    assert len(ws) == 1 and f"expects {y_hi + 0.01:.2f} interviews per application" in ws[0]
    assert composition.warnings(CARD, Mix(n, 0, 0, (y_hi - 0.01) * n)) == []
    assert composition.warnings(CARD, Mix(0, 0, 0, None)) == []  # no list, no finding
    assert composition.warnings(None, over) == []  # a catalog's own p_match: no card, no cohort


def test_an_optimized_list_at_the_cap_is_warned_with_counts_recounted_from_the_catalog(capsys, tmp_path):
    """The reviewer's case: the typical applicant at $900 was told to plan on 72% with no warning
    while 43 of 49 programs sat at the IMG-share cap (the cohort's lists: at most 28%)."""
    out = tmp_path / "list.json"
    code, _, err = run(capsys, "solve", TYPICAL, "--budget", "900", "--draws", "0", "--out", str(out))
    assert code == 0, err
    d = json.loads(out.read_text())
    cat = pd.read_csv(IM, comment="#").set_index("program_id")
    ids = [r["program_id"] for r in d["selected"]]
    n_cap = int((cat.loc[ids, "img_share"] >= IMG_CLIP[1]).sum())
    assert n_cap / len(ids) > DOM["share_at_img_cap"][1]  # the finding holds on an independent count
    (w,) = _cap_warning(d["warnings"])
    assert f"{n_cap} of this list's {len(ids)} programs ({100 * n_cap / len(ids):.0f}%)" in w
    ypa = d["expected_interviews"] / len(ids)
    assert f"it expects {ypa:.2f} interviews per application" in w and "upper estimate" in w


def test_a_list_led_by_the_la_objective_is_warned_that_nothing_checks_la(capsys, tmp_path):
    prof = tmp_path / "la.toml"
    prof.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text().replace(
        "la_share_max = 0.25", "la_share_max = 1.0"))
    assert "la_share_max = 1.0" in prof.read_text()
    out = tmp_path / "la.json"
    code, _, err = run(capsys, "solve", str(prof), "--objective", "p_match_la", "--target", "0.5",
                       "--draws", "0", "--out", str(out))
    assert code == 0, err
    d = json.loads(out.read_text())
    n, n_la = d["n_applications"], d["n_la"]
    assert n_la / n > DOM["la_share"][1]
    (w,) = _la_warning(d["warnings"])
    assert f"{n_la} of this list's {n} programs" in w and "no published figure checks P(match in Greater LA)" in w


def test_the_frontier_rows_mark_their_la_share(capsys, tmp_path):
    prof = tmp_path / "la.toml"
    prof.write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text().replace(
        "la_share_max = 0.25", "la_share_max = 1.0"))
    csv = tmp_path / "f.csv"
    code, _, err = run(capsys, "sweep", str(prof), "--frontier", "0.5:0.7:0.2", "--csv", str(csv))
    assert code == 0, err
    rows = pd.read_csv(csv, keep_default_na=False)
    for r in rows.itertuples():
        heavy = r.n_la / r.n_applications > DOM["la_share"][1]
        assert ("in Greater LA (calibrated up to 25%)" in r.outside_domain) == heavy
    assert rows["outside_domain"].str.contains("IMG-share cap").any()


def test_a_catalogs_own_p_match_says_the_applicant_section_is_not_used(capsys, tmp_path):
    """Two applicants far apart (Step 2 CK 205, 4 attempts, 20 years against 265, none, 0) get the
    same list and P(match) from a catalog's p_match column: the warning says why."""
    out = []
    for s2, att, yrs in ((205, 4, 20), (265, 0, 0)):
        prof = tmp_path / f"p{s2}.toml"
        prof.write_text(f"[applicant]\nstep2_score = {s2}\nexam_attempts = {att}\nyears_since_graduation = {yrs}\n"
                        "[strategy]\nbudget = 600\n")
        code, _, err = run(capsys, "solve", str(prof), "--catalog", str(DATA_DIR / "catalogs" / "tiny_p_match.csv"),
                           "--draws", "0", "--out", str(tmp_path / f"{s2}.json"))
        assert code == 0, err
        out.append(json.loads((tmp_path / f"{s2}.json").read_text()))
    assert out[0]["p_match"] == out[1]["p_match"]
    for d in out:
        (w,) = [w for w in d["warnings"] if "catalog's own p_match column" in w]
        assert "[applicant] section in the profile" in w and "is not used" in w


def test_a_figure_to_plan_on_below_one_percent_is_not_zero():
    from allocator.percent import plan_pct

    assert plan_pct(0.007) == "less than 1%" and plan_pct(0.0) == "0%" and plan_pct(0.257) == "25%"


def test_more_applications_than_the_cohort_sent_cite_the_published_no_link_finding():
    from allocator.verification import domain

    hi = DOM["applications"][1]
    (w,) = domain.warnings(CARD, int(hi) + 50, None, 0.9, None)
    assert f"{int(hi) + 50} applications" in w and "no link between how many applications" in w
    (w,) = domain.warnings(CARD, int(DOM["applications"][0]) - 10, None, 0.5, None)
    assert "no link" not in w  # fewer than the cohort: the extrapolation alone
