"""ERAS fee schedules: the AAMC's own worked examples, tiers restarting per specialty."""
import json
import re

import pytest

from allocator.errors import InputError
from allocator.inputs.fees import load_schedule
from allocator.paths import DATA_DIR


def test_2026_aamc_examples():
    s = load_schedule("2026")
    assert s.fee(43) + s.fee(7) == 797  # 43 IM + 7 DR
    assert s.fee(32) + s.fee(32) == 780  # 32 IM + 32 EM
    assert s.fee(0) == 0 and s.fee(1) == 11 and s.fee(30) == 330 and s.fee(31) == 360


def test_2024_flat_first_block():
    s = load_schedule("2024")
    assert [s.fee(k) for k in (0, 1, 10, 11, 20, 21, 30, 31)] == [0, 99, 99, 118, 289, 312, 519, 546]


def test_max_count_and_fixed():
    s = load_schedule("2026")
    assert s.max_count(2500) == 102 and s.fee(102) <= 2500 < s.fee(103)
    assert s.fixed_total == 80


def test_unknown_season():
    with pytest.raises(InputError, match="season '1999' has no fee schedule; use one of 2024, 2025, 2026"):
        load_schedule("1999")


@pytest.mark.parametrize("season", ["2024", "2025", "2026"])
def test_max_count_matches_counting_up(season):
    """max_count walks the tiers; it equals counting n up until fee(n + 1) exceeds the budget."""
    import math

    s = load_schedule(season)
    for b in [-5, 0, 1, 10.999, 11, 98.99, 99, 100, 117.5, 118, 330, 359.99, 360, 720, 721, 2500, 1e4, 123456.78]:
        n = 0
        while s.fee(n + 1) <= b + 1e-9:
            n += 1
        assert s.max_count(b) == n, b
    assert s.max_count(math.inf) == 100_000  # any number of programs: capped, answered at once


@pytest.mark.parametrize("seed", range(6))
def test_season_none_costs_are_fee_extra_only(seed):
    """season = "none": no ERAS fees, so a list costs its fee_extra alone and the optimum is
    the best list within the budget on those costs (brute force as the oracle)."""
    import numpy as np

    from allocator import optimize
    from allocator.inputs.fees import load_schedule

    from .helpers import brute_force, random_problem

    rng = np.random.default_rng(900 + seed)
    pr = random_problem(rng, 9, rho=[0.0, 0.35][seed % 2], extras=True, season="none")
    assert pr.schedule == load_schedule("none") and pr.schedule.fee(50) == 0
    cost, _ = pr.list_cost(range(pr.n))
    assert cost == pytest.approx(float(pr.extra.sum()))
    out = optimize(pr, method="milp")
    best, _ = brute_force(pr)
    assert out.status.has_list and best is not None
    assert out.objective == pytest.approx(best, abs=1e-9)


def _tiers(*tiers) -> dict:
    return {"season": "test", "tiers": [dict(t) for t in tiers]}


@pytest.mark.parametrize("doc, needle", [
    (_tiers({"upto": 10, "per_program": 10}, {"upto": 10, "per_program": 20}), "must exceed"),  # hi == lo
    (_tiers({"upto": 10, "per_program": 10}, {"upto": 9, "per_program": 20}), "must exceed"),
    (_tiers({"upto": 10, "per_program": 10}, {"upto": 20, "flat": 50}), "only the first tier may be flat"),
    (_tiers({"upto": 10, "per_program": 20}, {"per_program": 19}), "rates fall"),
    (_tiers({"per_program": 10}, {"per_program": 20}), "not the last tier"),
    ({"season": "test", "tiers": []}, "no [[tiers]]"),
])
def test_a_fee_schedule_the_optimizer_cannot_use_is_refused(doc, needle):
    from allocator.inputs.fees import _parse

    with pytest.raises(InputError, match=re.escape(needle)):
        _parse(doc, "eras_test.toml")


def test_the_tier_bounds_it_accepts():
    from allocator.inputs.fees import _parse

    s = _parse(_tiers({"upto": 10, "flat": 99}, {"upto": 11, "per_program": 19}, {"per_program": 19}), "ok.toml")
    assert [s.fee(k) for k in (0, 1, 10, 11, 12)] == [0, 99, 99, 118, 137]


def test_season_none_without_costs_says_the_budget_limits_nothing(tmp_path):
    """The demo catalogs carry no fee_extra: under season "none" every list costs $0, and the
    answer says so instead of showing a budget that never binds.  A cost in the catalog, or
    an ERAS season, brings no such warning."""
    from allocator.optim.assemble import load_problem

    words = "the budget limits nothing"
    free = load_problem("data/profiles/typical_us_img.toml", season="none")
    assert any(words in w for w in free.input_warnings)
    assert not any(words in w for w in load_problem("data/profiles/typical_us_img.toml").input_warnings)
    csv = tmp_path / "own.csv"
    csv.write_text("program_id,name,specialty,city,state,p_match,fee_extra\n"
                   "A,A,Internal Medicine,Columbus,OH,0.2,30\nB,B,Internal Medicine,Dayton,OH,0.1,\n")
    priced = load_problem("data/profiles/typical_us_img.toml", csv, season="none")
    assert not any(words in w for w in priced.input_warnings)


def test_the_report_names_the_fixed_fee_and_says_it_is_outside_the_budget():
    """"(+$80 fixed)" said neither what the $80 is nor that the budget leaves it out."""
    import subprocess
    import sys
    from pathlib import Path

    assert load_schedule("2026").fixed == (("USMLE transcript", 80.0),)
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "allocator", "solve", "data/profiles/typical_us_img.toml",
                          "--objective", "p_match", "--draws", "0"], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0 and "+ USMLE transcript (outside the budget) $80" in " ".join(
        out.stdout.split())


def test_update_warns_when_the_date_is_in_a_newer_eras_season_than_the_fees():
    """ERAS season N (the AAMC's name, by its Match year) takes applications from September N-1:
    on 2026-11-04 the cycle is ERAS 2027, newer than the fee season 2026.  Written against the
    newest fee file, so adding next season's file keeps it true."""
    import datetime as dt

    from allocator.inputs.fees import available_seasons
    from allocator.season.run import fee_season_warning

    n = max(int(s) for s in available_seasons() if s.isdigit())
    assert n >= 2026
    (w,) = fee_season_warning(str(n), dt.date(n, 11, 4))
    assert w == (f"{n}-11-04 is in the ERAS {n + 1} season (Match in March {n + 1}), but the fees and signal "
                 f"counts used are ERAS {n}'s, the newest allocator has: this cycle's may differ; check the AAMC's "
                 "ERAS fee and program-signaling pages")
    (w,) = fee_season_warning("2024", dt.date(n, 11, 4))
    assert f"are ERAS 2024's, allocator has ERAS {n}'s too (season = \"{n}\" in the profile's [strategy])" in w
    assert fee_season_warning(str(n), dt.date(n, 6, 30)) == []  # still ERAS n (Match in March n)
    assert fee_season_warning(str(n), dt.date(n - 1, 10, 1)) == []
    assert len(fee_season_warning(str(n), dt.date(n, 7, 1))) == 1
    assert fee_season_warning("none", dt.date(2030, 1, 1)) == []


def test_a_fee_file_of_your_own_is_a_season(capsys, tmp_path):
    """A new cycle's fees on an installed allocator: the season given as a fee file's path is read
    (its own `season` names the season, in the JSON and in the signal-count lookup), a missing one
    is refused in one line, and the web page refuses any path (it reads no file of the server's)."""
    import json

    from fastapi.testclient import TestClient

    from allocator.web.app import create_app
    from tests.helpers import run
    from tests.web_support import fast_form

    own = tmp_path / "eras_2027.toml"
    own.write_text((DATA_DIR / "fees" / "eras_2026.toml").read_text().replace('season = "2026"', 'season = "2027"'))
    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    code, out, err = run(capsys, "solve", prof, "--season", str(own), "--draws", "0", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["cost"]["season"] == "2027" and d["cost"]["total"] <= 1500
    assert any(w.startswith("no ERAS signal counts for season 2027 and Internal Medicine") for w in d["warnings"])
    code, _, err = run(capsys, "solve", prof, "--season", str(tmp_path / "nope.toml"), "--draws", "0")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope.toml: no such fee schedule file" in err
    client = TestClient(create_app())
    r = client.post("/solve", data=fast_form(season=str(own)))
    assert r.status_code == 422 and 'id="error-season">' in r.text and "not a fee file&#39;s path" in r.text
    toml = (DATA_DIR / "profiles" / "typical_us_img.toml").read_text().replace('season = "2026"', f'season = "{own}"')
    r = client.post("/api/solve", files={"profile": ("p.toml", toml.encode())})
    assert r.status_code == 422 and "the web page takes a season name, not a fee file's path" in r.json()["error"]


def test_a_fee_file_of_your_own_names_its_season_and_sits_beside_its_profile(capsys, tmp_path, monkeypatch):
    """A fee file without a season key is refused (its season would print blank); a path that
    does not end in .toml is told so; a relative path in a profile is read beside the profile, not
    from the folder allocator runs in; the batch re-solves an applicant whose fee file changed."""
    from allocator.batch.run import _own_fees
    from tests.helpers import run

    prof = str(DATA_DIR / "profiles" / "typical_us_img.toml")
    (tmp_path / "min.toml").write_text("[[tiers]]\nper_program = 20\n")
    code, _, err = run(capsys, "solve", prof, "--season", str(tmp_path / "min.toml"), "--draws", "0")
    assert code == 2 and 'min.toml: no season key; add season = "2027"' in err and len(err.strip().splitlines()) == 1
    (tmp_path / "eras_x").write_text("x\n")
    code, _, err = run(capsys, "solve", prof, "--season", str(tmp_path / "eras_x"), "--draws", "0")
    assert code == 2 and "a fee file of your own must be named ending in .toml" in err
    side = tmp_path / "side"
    side.mkdir()
    fees = (DATA_DIR / "fees" / "eras_2026.toml").read_text().replace('season = "2026"', 'season = "2027"')
    (side / "eras_2027.toml").write_text(fees)
    (side / "p.toml").write_text((DATA_DIR / "profiles" / "typical_us_img.toml").read_text()
                                 .replace('season = "2026"', 'season = "eras_2027.toml"'))
    monkeypatch.chdir(tmp_path)  # no eras_2027.toml here: the profile's folder is where it is read
    code, out, err = run(capsys, "solve", str(side / "p.toml"), "--draws", "0", "--json")
    assert code == 0 and json.loads(out)["cost"]["season"] == "2027", err
    doc = {"strategy": {"season": str(side / "eras_2027.toml")}}
    before = _own_fees(doc)
    (side / "eras_2027.toml").write_text(fees.replace("per_program = 11", "per_program = 25"))
    assert before and _own_fees(doc) != before and _own_fees({"strategy": {"season": "2026"}}) == ""
