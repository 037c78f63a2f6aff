"""US clinical experience in the answer (review 22, finding 4): with none, solve says how the model
reads it (the card's [interview.usce_none]) and what one month would give the same list (an exact
re-evaluation); beyond the card's usce_month_cap a note says more months change nothing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from allocator.api import load
from allocator.optim.evaluate import evaluate
from allocator.optim.problem import Plan
from allocator.percent import pct

from .helpers import run

ROOT = Path(__file__).resolve().parent.parent
TYPICAL = ROOT / "data/profiles/typical_us_img.toml"
NONE = "no US clinical experience (usce_months = 0): the model lowers every program's interview odds for it"


def _profile(tmp_path, months) -> Path:
    p = tmp_path / f"usce{months}.toml"
    p.write_text(re.sub(r"(?m)^usce_months = \d+", f"usce_months = {months}", TYPICAL.read_text()))
    return p


def _solve(capsys, profile, *more) -> tuple[int, dict | str]:
    code, out, err = run(capsys, "solve", str(profile), "--draws", "0", *more)
    assert code == 0, err
    return code, json.loads(out) if "--json" in more else out


def test_no_us_clinical_experience_is_named_with_what_one_month_gives(capsys, tmp_path):
    """usce_months = 0 on the typical profile: one warning with the card's odds ratio and its judged
    range, the list's P(match) and the same list's at one month, that figure being the list
    evaluated under a problem built with usce_months = 1 (mapped by program id)."""
    prof = _profile(tmp_path, 0)
    _, d = _solve(capsys, prof, "--json")
    w = [x for x in d["warnings"] if "US clinical experience" in x]
    assert len(w) == 1 and w[0].startswith(NONE)
    assert "(odds x0.37 on the default card, judged x0.14 to x0.74)" in w[0]
    pr1 = load(_profile(tmp_path, 1))
    pos = {pid: i for i, pid in enumerate(pr1.ids)}
    ids = [r["program_id"] for r in d["selected"]]
    sig = {pos[r["program_id"]]: r["signal"] for r in d["selected"] if r.get("signal")}
    one = evaluate(pr1, Plan.of([pos[x] for x in ids], sig, d["geographic_preference"] or ()), correlations=()).p_match
    assert f"so this list's P(match) is {pct(d['p_match'])} on average; with one month of US clinical experience " \
           f"(usce_months = 1) the same list would give {pct(one)}" in w[0]
    assert (round(100 * d["p_match"], 1), round(100 * one, 1)) == (59.0, 76.3)
    _, text = _solve(capsys, prof)
    flat = " ".join(text.split())
    assert flat.count("warning: no US clinical experience") == 1 and f"would give {pct(one)}" in flat


def test_a_profile_without_usce_months_says_zero_is_the_default(capsys, tmp_path):
    prof = tmp_path / "nousce.toml"
    prof.write_text("\n".join(ln for ln in TYPICAL.read_text().splitlines() if not ln.startswith("usce_")) + "\n")
    _, d = _solve(capsys, prof, "--json")
    w = [x for x in d["warnings"] if "US clinical experience" in x]
    assert len(w) == 1 and w[0].startswith("no US clinical experience (usce_months = 0, the default when not given)")


def test_months_beyond_the_cap_are_noted_and_change_nothing(capsys, tmp_path):
    """24 months: a note says they count as 12 (the card's usce_month_cap), and the figures are 12
    months' to the last digit; at 4 or 12 months neither the note nor the warning."""
    _, d24 = _solve(capsys, _profile(tmp_path, 24), "--json")
    _, d12 = _solve(capsys, _profile(tmp_path, 12), "--json")
    assert d24["data"]["notes"] == ["usce_months = 24: US clinical experience beyond 12 months adds nothing in the "
                                    "model (usce_month_cap on the default card), so your 24 months count as 12 and "
                                    "more months would not change the figures"]
    assert d12["data"]["notes"] == []
    assert d24["p_match"] == d12["p_match"] and d24["p_match_interval"] == d12["p_match_interval"]
    assert not any("US clinical experience" in x for x in d12["warnings"] + d24["warnings"])


def test_the_web_answer_carries_the_warning(capsys):
    """POST /api/solve (the web page's answer, the same JSON as solve --json) with no US clinical
    experience gives the same warning."""
    pytest.importorskip("fastapi", reason="the web extra is not installed")
    from fastapi.testclient import TestClient

    from allocator.web.app import create_app
    from tests.web_support import FAST_PROFILE, settings

    body = FAST_PROFILE.replace("usce_months = 6", "usce_months = 0").replace("usce_california_months = 4",
                                                                              "usce_california_months = 0")
    with TestClient(create_app(settings())) as client:
        r = client.post("/api/solve", content=body.encode())
    assert r.status_code == 200, r.text[-300:]
    w = [x for x in r.json()["warnings"] if "US clinical experience" in x]
    assert len(w) == 1 and w[0].startswith(NONE) and "with one month of US clinical experience" in w[0]
