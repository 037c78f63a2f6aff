"""`allocator simulate` scores a list that names programs a catalog screen excludes for this
profile (review 22, finding 3: "same list, weaker profile" stopped at the first one, and took 32
removals): they count as applications with no chance of a match, in one warning and the JSON's
``excluded_programs``; ids outside the catalog and never_apply programs are still refused."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from allocator.api import load

from .helpers import run

ROOT = Path(__file__).resolve().parent.parent
TYPICAL = ROOT / "data/profiles/typical_us_img.toml"
LIST = ROOT / "tests/data/season_typical_jan.csv"  # the typical profile's list (69 programs), a valid list file


def _profile(tmp_path, name: str, **edits) -> Path:
    text = TYPICAL.read_text()
    for key, value in edits.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    p = tmp_path / f"{name}.toml"
    p.write_text(text)
    return p


def _list_ids() -> list[str]:
    return [ln.split(",")[0] for ln in LIST.read_text().splitlines()[3:]]


def _simulate(capsys, profile, lst, *more):
    code, out, err = run(capsys, "simulate", str(profile), "--list", str(lst), "--draws", "2000", *more)
    return code, out, err


def test_a_weaker_profile_scores_the_same_list_in_one_run(capsys, tmp_path):
    """Eight years since graduation: 32 of the list's 69 programs accept at most 3 to 7.  The list
    scores: its P(match) and figure to plan on are those of the 37 others alone (a program with no
    chance changes no probability), its fees and count those of all 69."""
    yog8 = _profile(tmp_path, "yog8", years_since_graduation=8)
    screened = {r["program_id"]: r["reason"] for r in load(yog8).excluded_rows}
    ids = _list_ids()
    out_ids = [x for x in ids if x in screened]
    assert len(ids) == 69 and len(out_ids) == 32
    code, out, err = _simulate(capsys, yog8, LIST, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert [r["program_id"] for r in d["excluded_programs"]] == out_ids
    assert all(r["reason"] == screened[r["program_id"]] for r in d["excluded_programs"])
    assert d["n_applications"] == 69 and d["cost"]["total"] == 1500.0 and d["violations"] == []
    assert d["p_match"] == pytest.approx(0.5160, abs=5e-4)
    w = d["warnings"][0]
    assert w.startswith("32 programs on the list are excluded for this profile by the catalog's screens and scored "
                        "with no chance of a match")
    assert f"{out_ids[0]} ({screened[out_ids[0]]})" in w and "and 29 more" in w
    assert sum("excluded for this profile" in x for x in d["warnings"]) == 1
    # the same list without them: every probability the same, fees and count of 37
    rest = tmp_path / "rest.csv"
    keep = [ln for ln in LIST.read_text().splitlines() if ln.split(",")[0] not in screened]
    rest.write_text("\n".join(keep) + "\n")
    code, out, _ = _simulate(capsys, yog8, rest, "--json")
    r = json.loads(out)
    assert code == 0 and r["n_applications"] == 37 and r["excluded_programs"] == [] and r["cost"]["total"] < 1500.0
    for key in ("p_match", "p_match_la", "p_match_west", "p_match_central", "expected_interviews"):
        assert d[key] == pytest.approx(r[key], abs=1e-12), key
    assert d["p_match_interval"] == pytest.approx(r["p_match_interval"], abs=1e-12)
    assert d["p_match_plan"]["p_match"] == pytest.approx(r["p_match_plan"]["p_match"], abs=1e-12)
    code, out, _ = _simulate(capsys, yog8, LIST)
    flat = " ".join(out.split())
    assert code == 0 and "69 programs (1 in LA), fees $1,500; 32 of them excluded for this profile" in flat
    assert flat.count("excluded for this profile by the catalog's screens") == 1


def test_screened_programs_count_in_the_limits(capsys, tmp_path):
    """max_applications 40: the 37 programs scored fit, the 69 applications do not; a list of
    screened programs only scores 0 with every application counted."""
    yog8 = _profile(tmp_path, "yog8_40", years_since_graduation=8, max_applications=40)
    code, out, err = _simulate(capsys, yog8, LIST, "--json")
    d = json.loads(out)
    assert code == 0, err
    assert d["violations"] == [{"group": "max_applications", "detail": "69 applications > max 40"}]
    screened = {r["program_id"] for r in load(yog8).excluded_rows}
    only = tmp_path / "only.txt"
    only.write_text("\n".join(x for x in _list_ids() if x in screened) + "\n")
    code, out, err = _simulate(capsys, yog8, only, "--json")
    d = json.loads(out)
    assert code == 0, err
    assert d["p_match"] == 0.0 and d["n_applications"] == 32 and len(d["excluded_programs"]) == 32


def test_never_apply_and_unknown_ids_are_still_refused(capsys, tmp_path):
    """A program the profile's never_apply lists is no screen: the list contradicts the profile, so
    it is refused, naming every such program at once; an id outside the catalog is refused too."""
    ids = _list_ids()
    never = _profile(tmp_path, "never", never_apply=f'["{ids[5]}", "{ids[9]}"]')
    code, _, err = _simulate(capsys, never, LIST)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"list names '{ids[5]}' (and 1 more: {ids[9]}), which is excluded for this profile (never_apply)" in err
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{ids[0]}\nIM-9999\n")
    code, _, err = _simulate(capsys, TYPICAL, bad)
    assert code == 2 and "line 2: list names 'IM-9999', which is not a candidate" in err
