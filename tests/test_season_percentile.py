"""The season's ranges and figure to plan on take a weighted percentile of the plausible models'
values (allocator.season.posterior.weighted_percentile): numpy's own percentile at equal weights,
continuous in the weights and monotone in u; so the figure to plan on no longer steps against
the news when a model's weight crosses 10% (review 22, finding 2)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.season.posterior import weighted_percentile

from .helpers import run

ROOT = Path(__file__).resolve().parent.parent
TYPICAL = ROOT / "data/profiles/typical_us_img.toml"
JAN = ROOT / "tests/data/season_typical_jan.csv"  # 7 interviews, 14 rejections by 10 January, 48 silent


def test_equal_weights_give_numpys_linear_percentile():
    """Random equal weights: exactly np.percentile; weights equal to 1e-9 (the interpolating
    formula itself, not the equal-weight shortcut): np.percentile to 1e-9."""
    rng = np.random.default_rng(22)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        v, w, u = rng.random(n), np.full(n, rng.uniform(0.01, 5.0)), float(rng.random())
        assert weighted_percentile(v, w, u) == np.percentile(v, 100 * u)
        near = w * (1.0 + 1e-9 * rng.random(n))
        for uu in (0.0, 0.1, u, 0.9, 1.0):
            assert weighted_percentile(v, near, uu) == pytest.approx(np.percentile(v, 100 * uu), abs=1e-9)


def test_a_heavy_value_holds_the_middle_percentiles_and_a_light_one_moves_little():
    """A value with 99% of the weight is every percentile from the 2nd to the 98th, wherever it
    sits and however many values there are; a value with 0.1% of the weight moves the 10th
    percentile by at most n * 0.1% of the spread (the step function moved it by the whole gap)."""
    rng = np.random.default_rng(5)
    for n in (2, 3, 7, 30):
        for k in range(n):
            v, w = rng.random(n), np.full(n, 0.01 / max(n - 1, 1))
            w[k] = 0.99
            for u in np.linspace(0.02, 0.98, 49):
                assert weighted_percentile(v, w, u) == pytest.approx(v[k], abs=1e-12)
    # a model crossing 10% of the weight: the old rule jumped from 0.3 to 0.6 between these
    v = [0.3, 0.6, 0.7, 0.8]
    a = weighted_percentile(v, [0.0995, 0.3, 0.3, 0.3005], 0.1)
    b = weighted_percentile(v, [0.1005, 0.3, 0.3, 0.2995], 0.1)
    assert a == pytest.approx(0.5706, abs=1e-12) and b == pytest.approx(0.5694, abs=1e-12)
    assert abs(a - b) <= 4 * 0.002 * 0.5  # n d (max v - min v)


_values = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(v=_values, data=st.data())
def test_continuous_in_the_weights(v, data):
    """Moving a share d of the weight moves every percentile by at most n d (max v - min v)."""
    n = len(v)
    w = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    w2 = w + np.array(data.draw(st.lists(st.floats(-1e-3, 1e-3), min_size=n, max_size=n)))
    w2 = np.clip(w2, 0.0, None)
    if w.sum() <= 1e-6 or w2.sum() <= 1e-6:
        return
    d = np.abs(w / w.sum() - w2 / w2.sum()).sum()
    u = data.draw(st.floats(0.0, 1.0))
    gap = weighted_percentile(v, w, u) - weighted_percentile(v, w2, u)
    assert abs(gap) <= n * d * (max(v) - min(v)) + 1e-9


@settings(max_examples=300, deadline=None, derandomize=True)
@given(v=_values, data=st.data())
def test_monotone_in_u_and_within_the_values(v, data):
    n = len(v)
    w = data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n))
    if sum(w) <= 1e-6:
        return
    us = sorted(data.draw(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6)))
    q = [weighted_percentile(v, w, u) for u in us]
    assert all(a <= b + 1e-12 for a, b in zip(q, q[1:]))
    assert min(v) - 1e-12 <= q[0] and q[-1] <= max(v) + 1e-12


def _plan(capsys, profile, season, today) -> tuple[float, float]:
    code, out, err = run(capsys, "update", str(profile), "--season", str(season), "--today", today, "--json", "--draws", "0")
    assert code == 0, err
    d = json.loads(out)
    return round(100 * d["p_match"], 2), round(100 * d["p_match_plan"]["p_match"], 2)


def _edited(tmp_path, name, **status) -> Path:
    rows = JAN.read_text().splitlines()
    for pid, st_ in status.items():
        rows = [f"{pid},{ln.split(',')[1]},{st_}" if ln.startswith(pid + ",") else ln for ln in rows]
    p = tmp_path / name
    p.write_text("\n".join(rows) + "\n")
    return p


def _profile(tmp_path, key, value) -> Path:
    p = tmp_path / f"{key}_{value}.toml"
    p.write_text(re.sub(rf"(?m)^{key} = \d+", f"{key} = {value}", TYPICAL.read_text()))
    return p


def test_review22_news_moves_the_figure_to_plan_on_its_way(capsys, tmp_path):
    """Review 22's three cases, under card 2026.3's plausible models where they were found (the
    figure to plan on before the fix in brackets): an invitation from IM-0043 on 19 January
    (49.64 -> 48.45), one more day of silence, 17 -> 18 January (45.01 -> 49.83), and Step 2 CK
    237 -> 238 (49.64 -> 45.42).  Now each moves with the average."""
    from tests.helpers import using_cap085_models

    invited = _edited(tmp_path, "inv43.csv", **{"IM-0043": "invited,2027-01-19"})
    with using_cap085_models(tmp_path / "models"):
        base = _plan(capsys, TYPICAL, JAN, "2027-01-19")
        inv = _plan(capsys, TYPICAL, invited, "2027-01-19")
        d17, d18 = (_plan(capsys, TYPICAL, JAN, t) for t in ("2027-01-17", "2027-01-18"))
        s238 = _plan(capsys, _profile(tmp_path, "step2_score", 238), JAN, "2027-01-19")
    assert base == (58.91, 49.25) and inv == (62.88, 54.25)
    assert d17 == (59.22, 49.53) and d18 == (59.07, 49.39)
    assert s238 == (59.25, 49.29)


def test_silence_lowers_the_figure_to_plan_on_under_the_shipped_models(capsys, tmp_path):
    """The shipped card's own case of the step: 2 invitations and 4 rejections by 20 November,
    the rest silent; from 6 to 7 December the figure to plan on rose 25.98 -> 26.57 while the
    average fell.  Now it falls with the average."""
    keep = {"IM-0091": "invited", "IM-0427": "invited", "IM-0542": "rejected", "IM-0228": "rejected",
            "IM-0257": "rejected", "IM-0262": "rejected"}
    ids = [ln.split(",")[0] for ln in JAN.read_text().splitlines()[3:]]
    nov = _edited(tmp_path, "nov.csv", **{p: f"{keep[p]},2026-11-20" if p in keep else "no answer yet," for p in ids})
    (a6, p6), (a7, p7) = (_plan(capsys, TYPICAL, nov, t) for t in ("2026-12-06", "2026-12-07"))
    assert a7 < a6 and p7 < p6
    assert (p6, p7) == pytest.approx((27.1, 26.8), abs=0.05)
