"""P(match in the West) (LA included, the West ranked first): the seed guide's second question
after "match somewhere", as a probability with its range, checked by independent code."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from allocator.api import load
from allocator.optim.evaluate import evaluate, in_west
from allocator.optim.problem import Plan
from allocator.verification.mixture_sim import simulate_mixture

from .helpers import mc_close, run

ROOT = Path(__file__).resolve().parents[1]
TYPICAL = "data/profiles/typical_us_img.toml"


@pytest.fixture(scope="module")
def mixed():
    """The typical profile's problem and a list of 12 West programs (3 in Greater LA, 2 signalled)
    and 25 elsewhere."""
    pr = load(TYPICAL)
    west, la = in_west(pr), pr.la
    la_idx = np.nonzero(la)[0][:3]
    rest = np.nonzero(west & ~la)[0][:9]
    other = np.nonzero(~west)[0][:25]
    assert len(la_idx) == 3 and len(rest) == 9 and len(other) == 25
    return pr, Plan.of([*la_idx, *rest, *other], {int(rest[0]): "gold", int(other[0]): "silver"})


def test_the_west_lies_between_la_and_anywhere(mixed):
    pr, plan = mixed
    m = evaluate(pr, plan)
    assert 0 < m.p_match_la < m.p_match_west < m.p_match < 1
    lo, hi = m.p_match_west_interval
    assert 0 < lo < hi < 1 and m.p_match_la_interval[1] < hi <= m.p_match_interval[1]


def test_the_west_is_the_west_programs_alone(mixed):
    """P(match in the West) of a list is P(match) of its West programs alone (same signals), under
    the objective's mixture and card by card: a figure that took every program, or only the rest of
    the West, fails."""
    pr, plan = mixed
    west = in_west(pr)
    keep = [i for i in plan.idx if west[i]]
    alone = evaluate(pr, Plan.of(keep, {i: k for i, k in plan.signals if west[i]}))
    m = evaluate(pr, plan)
    assert m.p_match_west == pytest.approx(alone.p_match, abs=1e-12)
    assert m.p_match_west_interval == pytest.approx(alone.p_match_interval, abs=1e-12)
    nothing = evaluate(pr, Plan.of([i for i in plan.idx if not west[i]]))
    assert nothing.p_match_west == 0.0 and nothing.p_match > 0.1


def test_monte_carlo_agrees_on_the_west(mixed):
    """The independent simulator, told that the West programs are the flagged ones, counts the
    draws that match in the West: within 4 standard errors of the exact figure."""
    pr, plan = mixed
    idx = np.asarray(plan.idx, dtype=int)
    draws = 200_000
    mc = simulate_mixture(pr.plan_pi(plan), pr.fm.mu(idx), pr.fm.w, la=in_west(pr)[idx], draws=draws, seed=5)
    m = evaluate(pr, plan)
    assert mc_close(mc.p_match_la, m.p_match_west, draws)
    assert mc_close(mc.p_match, m.p_match, draws)


def test_solve_shows_and_writes_the_west(capsys, tmp_path):
    listed = tmp_path / "list.csv"
    code, out, err = run(capsys, "solve", TYPICAL, "--draws", "0", "--json", "--out", str(listed))
    assert code == 0, err
    d = json.loads(out)
    assert d["p_match_la"] < d["p_match_west"] <= d["p_match"]
    lo, hi = d["p_match_west_interval"]
    assert lo <= d["p_match_west"] <= hi
    for alt in d["alternatives"].values():
        assert alt["p_match_la"] <= alt["p_match_west"] <= alt["p_match"]
        assert alt["difference"]["p_match_west"] == pytest.approx(d["p_match_west"] - alt["p_match_west"])
    code, out, err = run(capsys, "solve", TYPICAL, "--draws", "0")
    text = " ".join(out.split())
    assert code == 0, err
    assert f"P(match in the West, LA included; the West ranked first) {100 * d['p_match_west']:.1f}%" in text
    # simulate scores the same list: the same figure and range
    code, out, err = run(capsys, "simulate", TYPICAL, "--list", str(listed), "--draws", "2000", "--json")
    s = json.loads(out)
    assert code == 0, err
    assert s["p_match_west"] == pytest.approx(d["p_match_west"], abs=1e-12)
    assert s["p_match_west_interval"] == pytest.approx(d["p_match_west_interval"], abs=1e-12)


def _season_with_invitations(tmp_path, invited: list[str]):
    """The shipped example season with its invitations moved to ``invited`` (dated 2026-10-20)."""
    lines = (ROOT / "data/seasons/example_80.csv").read_text().splitlines()
    out = []
    for ln in lines:
        cells = ln.split(",")
        if not ln.startswith("#") and len(cells) == 4 and cells[0] != "program_id":
            if cells[2] == "invited":
                cells[2:] = ["no answer yet", ""]
            if cells[0] in invited:
                cells[2:] = ["invited", "2026-10-20"]
        out.append(",".join(cells))
    path = tmp_path / "season.csv"
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.mark.parametrize("invited, all_west", [(["IM-0091", "IM-0456"], True), (["IM-0091", "IM-0575"], False)])
def test_interviews_alone_in_the_west(capsys, tmp_path, invited, all_west):
    """From the interviews held alone: with every invitation in the West, P(match in the West,
    West ranked first) is P(match) itself; with one outside it, it is less (a mask over the wrong
    columns, the list's order instead of the season file's, fails one or the other)."""
    season = _season_with_invitations(tmp_path, invited)
    code, out, err = run(capsys, "update", TYPICAL, "--season", str(season), "--today", "2026-11-04", "--json")
    assert code == 0, err
    a = json.loads(out)["after_interviews"]
    west, anywhere = a["p_match_west_interviews_only"], a["p_match_interviews_only"]
    assert 0 < west <= anywhere
    assert (west == pytest.approx(anywhere, abs=1e-12)) is all_west
