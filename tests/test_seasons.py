"""The published seasons in the ensemble: P(match) in a season like the worst one (2022), on the
command line, in the JSON, on the web page and in `simulate`, checked against the same cards'
mixture computed apart."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from allocator.api import load
from allocator.cli import main
from allocator.optim.evaluate import evaluate
from allocator.optim.problem import Plan
from allocator.paths import DATA_DIR, MODELS_DIR

PROFILE = DATA_DIR / "profiles" / "typical_us_img.toml"


@pytest.fixture(scope="module")
def problem():
    return load(PROFILE)


def _cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([*map(str, args)])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def test_the_worst_season_is_the_mean_of_its_cards_mixture(problem):
    """2022's figure equals P(match) under the mixture of the ensemble's 2022 cards alone (computed
    by FactorModel.only, not per card); it lies inside the cards' values and below the average:
    the season with the lowest published rate lowers a list's chance."""
    plan = Plan.of(list(range(0, 700, 9)))
    m = evaluate(problem, plan)
    w = m.p_match_worst_season
    assert w["season"] == "2022" and w["match_rate"] == 0.614 and w["cards"] == 8
    cards = [j for j, s in enumerate(problem.ensemble_seasons) if s == "2022"]
    fm = problem.fm_ensemble.only(cards)
    A = problem.plan_log_fail(plan, fm)
    assert w["p_match"] == pytest.approx(1.0 - float(fm.w @ np.exp(A.sum(axis=1))), abs=1e-12)
    assert m.p_match_pessimistic <= w["p_match"] < m.p_match


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One `solve` of the typical profile for the tests below: its text report (stdout) and its JSON
    (--out best.json, the same answer), which `simulate --list` also reads."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("solve") / "best.json"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(["solve", str(PROFILE), "--draws", "0", "--out", str(path)])
    assert e.value.code == 0, err.getvalue()
    return out.getvalue(), json.loads(path.read_text()), path


def test_solve_prints_and_returns_the_worst_season(solved):
    out, d, _ = solved
    w = d["p_match_worst_season"]
    assert w["season"] == "2022" and w["p_match"] < d["p_match"]
    text = " ".join(out.split())
    assert f"in a 2022-like season (61.4% matched; 8 models) {100 * w['p_match']:.1f}%" in text


def test_simulate_gives_the_worst_season_too(capsys, solved):
    lst = solved[2]
    code, out, _ = _cli(capsys, "simulate", PROFILE, "--list", lst, "--draws", "2000", "--json")
    d = json.loads(out)
    assert code == 0 and d["p_match_worst_season"]["season"] == "2022"
    code, out, _ = _cli(capsys, "simulate", PROFILE, "--list", lst, "--draws", "2000")
    assert re.search(r"P\(match\) in a season like 2022 \(61\.4% of US IMGs matched; mean of its 8 plausible\s+"
                     r"models\): \d+\.\d%", out)


def test_an_ensemble_without_seasons_gives_no_season_figure(tmp_path):
    """An ensemble file made before seasons (no "season" keys) loads, and no season figure is made up."""
    doc = json.loads((MODELS_DIR / "default_ensemble.json").read_text())
    for s in doc["accepted"]:
        s.pop("season")
    (tmp_path / "e.json").write_text(json.dumps(doc))
    card = tmp_path / "card.toml"
    card.write_text((MODELS_DIR / "default.toml").read_text().replace('ensemble = "default_ensemble.json"',
                                                                     'ensemble = "e.json"'))
    pr = load(PROFILE, card=str(card))
    assert pr.ensemble_seasons == (None,) * 30
    assert evaluate(pr, Plan.of([0, 5, 9])).p_match_worst_season is None


def test_the_page_shows_the_worst_season():
    pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")
    from fastapi.testclient import TestClient

    from allocator.web.app import create_app
    from tests.web_support import fast_form, settings

    with TestClient(create_app(settings())) as c:  # waits 30 s for the answer (the default 2.5 s shows progress)
        r = c.post("/solve", data=fast_form(time_limit=""))  # no clock: the same answer on a loaded machine
    assert r.status_code == 200, r.text[-300:]
    assert ("P(match), two-stage model, in a season like 2022 (61.4% of US IMGs matched; mean of its 8 plausible "
            "models)") in r.text
    assert re.search(r'id="p-match-worst-season">\d+\.\d%<', r.text)


def test_docs_season_md_lists_every_status_spelling_the_loader_accepts():
    """docs/season.md's status row names every spelling allocator/inputs/statuses.py accepts."""
    from pathlib import Path

    from allocator.inputs.statuses import SPELLINGS

    row = next(ln for ln in (Path(__file__).resolve().parents[1] / "docs" / "season.md").read_text().splitlines()
               if ln.startswith("| `status` |"))
    named = set(re.findall(r"`([^`]+)`", row))
    assert {s for s in SPELLINGS if s} <= named and "empty" in row
