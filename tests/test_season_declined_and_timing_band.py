"""Two answers about the season's evidence (review 20, findings 5 and 6):

- ``declined`` (invited, then the interview declined or cancelled) counts as an invitation in
  the likelihood, with no chance of a match there: brute force over the mixture, the
  simulator, and the reviewer's season (IM-0091 interviewed / declined / withdrawn);
- P(match) now at the corners of both timing curves' judged ranges (invitations fast and few
  rejections, invitations slow and many rejections): brute force at each corner, brackets the
  central figure and every corner, moves the right way in each share, collapses when no silence
  is weighed, and the figure to plan on takes the pessimistic corner when it is the lowest."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import itertools

import numpy as np
import pytest

from allocator.api import load
from allocator.cli import main
from allocator.model.card import load_card
from allocator.season import posterior as post
from allocator.season import timingband, update
from allocator.season.seasonfile import load_season, season_from_text
from allocator.verification.planfigure import TIMING_FAST
from allocator.verification.season_mc import simulate_season_mixture

from .test_season_twostage import ROOT, _brute, _ctx, _stage, matches_brute_force
from .test_twostage import factor_problem

PROFILE = ROOT / "data/profiles/typical_us_img.toml"
DEC1 = "2026-12-01"
# the reviewer's 15 answers by 1 December (review 20, finding 5); IM-0091 is set apart
ANSWERS = {"IM-0732": "rejected", "IM-0542": "interviewed", "IM-0257": "rejected", "IM-0262": "rejected",
           "IM-0228": "invited", "IM-0427": "invited", "IM-0475": "rejected", "IM-0553": "rejected",
           "IM-0561": "rejected", "IM-0568": "rejected", "IM-0617": "rejected", "IM-0608": "rejected",
           "IM-0620": "invited", "IM-0347": "interviewed", "IM-0029": "rejected"}


@pytest.mark.parametrize("seed", range(4))
def test_a_declined_invitation_equals_brute_force_over_the_mixture(seed):
    """Every (stage outcome, answer sent) at every node enumerated: a declined row is an
    invitation received and no match there; P(match), in LA, in the West, further invitations."""
    rng = np.random.default_rng(900 + seed)
    pr = factor_problem(rng, n=6, cards=2, gold=1, silver=1, divisions=2)
    ids = [pr.ids[i] for i in rng.permutation(6)[:4]]
    statuses = ["declined"] + list(rng.choice(["applied", "invited", "rejected", "withdrawn", "declined"], 3))
    F, R = rng.uniform(0.1, 0.9), rng.uniform(0.0, 0.5)
    ctx = _ctx(pr, statuses, F, R, ids=ids, signals={ids[1]: "gold"})
    fig = matches_brute_force(pr, ctx, ids, statuses, F, R)
    assert fig["interviews_so_far"] == sum(s in ("invited", "interviewed") for s in statuses)


@pytest.mark.parametrize("seed", range(2))
def test_the_simulator_checks_a_declined_invitation(seed):
    rng = np.random.default_rng(950 + seed)
    pr = factor_problem(rng, n=12, cards=3, gold=1, silver=1, divisions=1)
    statuses = ["declined", "declined"] + list(rng.choice(["applied", "applied", "invited", "rejected"], 7))
    ctx = _ctx(pr, statuses, 0.6, 0.2, ids=pr.ids[:9])
    fig = update.figures(ctx)
    mc = simulate_season_mixture(ctx.nm.w, ctx.nm.q, ctx.nm.m, statuses, 0.6, 0.2, pr.la[ctx.idx], draws=60_000,
                                 seed=seed)
    assert abs(mc.p_match - fig["p_match"]) <= 4 * mc.p_match_se
    assert abs(mc.further - fig["expected_further_invitations"]) <= 4 * mc.further_se


@pytest.fixture(scope="module")
def typ_list(tmp_path_factory):
    """The season file `solve --out` writes for the typical profile (every row applied)."""
    path = tmp_path_factory.mktemp("typ") / "typ.csv"
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as e:
        main(["solve", str(PROFILE), "--draws", "0", "--out", str(path)])
    assert e.value.code == 0, err.getvalue()
    return path.read_text()


def _with(text: str, answers: dict, date: str | None = None) -> str:
    """The list with some rows' status (and date) replaced, as the reviewer's mk.py writes it."""
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("program_id,"))
    cols = lines[head].split(",")
    st, dc = cols.index("status"), cols.index("date")
    out = lines[:head + 1]
    for ln in lines[head + 1:]:
        f = ln.split(",")
        if f[0] in answers:
            f[st], f[dc] = answers[f[0]], date or ""
        out.append(",".join(f))
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def problem():
    return load(PROFILE)


def _prepare(problem, text: str, today: str):
    d = dt.date.fromisoformat(today)
    return update.prepare(problem, season_from_text(text, today=d), d, load_card().timing)


def test_the_reviewers_declined_interview_keeps_the_invitation_as_evidence(typ_list, problem):
    """IM-0091 interviewed, declined or withdrawn, the other 15 answers identical: declined
    weighs the nodes exactly as the interview does (the standing and the further invitations of an
    invitation), while P(match) counts no match at IM-0091; withdrawn (no evidence) is lower."""
    ctx, fig = {}, {}
    for st in ("interviewed", "declined", "withdrawn"):
        ctx[st] = _prepare(problem, _with(typ_list, ANSWERS | {"IM-0091": st}, DEC1), DEC1)
        fig[st] = update.figures(ctx[st])
    i, d, w = fig["interviewed"], fig["declined"], fig["withdrawn"]
    assert np.allclose(ctx["declined"].pi, ctx["interviewed"].pi, atol=1e-14, rtol=0)
    assert d["standing"]["top_share"] == pytest.approx(i["standing"]["top_share"], abs=1e-12)
    assert d["expected_further_invitations"] == pytest.approx(i["expected_further_invitations"], abs=1e-12)
    col = [problem.ids[k] for k in ctx["interviewed"].idx].index("IM-0091")
    others = [j for j in range(len(ctx["interviewed"].idx)) if j != col]
    want = post.p_match(ctx["interviewed"].pi, ctx["interviewed"].c, others)  # the invitation's posterior, no match there
    assert d["p_match"] == pytest.approx(want, abs=1e-12)
    assert w["p_match"] < d["p_match"] < i["p_match"]
    assert w["expected_further_invitations"] < d["expected_further_invitations"]
    assert d["interviews_so_far"] == i["interviews_so_far"] - 1 and d["counts"]["declined"] == 1
    assert all(r["program_id"] != "IM-0091" for r in d["after_interviews"]["programs"])


def test_a_declined_season_passes_the_update_s_own_simulation_and_says_so(typ_list, tmp_path, capsys):
    path = tmp_path / "dec.csv"
    path.write_text(_with(typ_list, ANSWERS | {"IM-0091": "Declined interview"}, DEC1))
    with pytest.raises(SystemExit) as e:
        main(["update", str(PROFILE), "--season", str(path), "--today", DEC1, "--draws", "20000"])
    out = " ".join(capsys.readouterr().out.split())
    assert e.value.code == 0
    assert "0 withdrawn, 1 declined after an invitation (each counts as an invitation, with no match there)" in out
    assert "Checked by simulation: P(match) now" in out


def test_a_rank_on_a_declined_program_is_refused(tmp_path):
    from allocator.errors import InputError

    p = tmp_path / "s.csv"
    p.write_text("program_id,status,rank\nIM-0091,declined,1\n")
    with pytest.raises(InputError, match="line 2, field rank: a rank is for invited or interviewed programs"):
        load_season(p)


# --- the timing curves' judged ranges -------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_the_band_ends_equal_brute_force_at_those_shares(seed):
    """The band's ends are the brute-force posterior at (F fast, R low) and (F slow, R high)."""
    rng = np.random.default_rng(960 + seed)
    pr = factor_problem(rng, n=6, cards=2, gold=0, silver=0, divisions=1)
    statuses = ["applied", "invited", "rejected", "applied", "declined"]
    slow, fast, r_low, r_high = 0.2, 0.55, 0.05, 0.3
    ctx = dataclasses.replace(_ctx(pr, statuses, 0.35, 0.15), F_band=(slow, fast), R_band=(r_low, r_high))
    fig = update.figures(ctx)
    q, m = _stage(pr, ctx.plan)
    order = [ctx.plan.idx.index(i) for i in ctx.idx]
    brute = {(F, R): _brute(pr.fm.w, q[:, order], m[:, order], statuses, F, R, pr.la[ctx.idx])[0]
             for F in (slow, fast) for R in (r_low, r_high)}
    lo, hi = fig["p_match_timing_band"]
    assert [lo, hi] == pytest.approx([brute[fast, r_low], brute[slow, r_high]], abs=1e-10)
    assert fig["invitations_sent_share_band"] == [slow, fast] and fig["rejections_sent_share_band"] == [r_low, r_high]
    assert lo < fig["p_match"] < hi and all(lo - 1e-12 <= v <= hi + 1e-12 for v in brute.values())


def _p_at(ctx, F, R) -> float:
    c = timingband.at_share(ctx, F, R)
    return post.p_match(c.pi, c.c)


@pytest.mark.parametrize("today", ["2026-09-26", "2026-10-01", "2026-10-12", "2026-11-10", "2026-12-01",
                                   "2027-01-10", "2027-01-25"])
@pytest.mark.parametrize("which", ["silent", "declined"])
def test_the_band_brackets_the_figure_and_every_corner(typ_list, problem, today, which):
    """The typical list all silent, and with the reviewer's answers (dated by ``today``): P(match)
    falls as F runs from the slow end to the fast at either end of R, and rises as R runs from its
    low end to its high at either end of F (silence is stronger evidence when invitations come
    faster and fewer rejections are sent); so the band's ends are the pessimistic and optimistic
    corners, bracket P(match) now and the two mixed corners; the figure to plan on is at most the
    pessimistic corner's."""
    ans = {} if which == "silent" else ANSWERS | {"IM-0091": "declined"}
    ctx = _prepare(problem, _with(typ_list, ans, today), today)
    fig = update.figures(ctx)
    lo, hi = fig["p_match_timing_band"]
    slow, fast = fig["invitations_sent_share_band"]
    r_low, r_high = fig["rejections_sent_share_band"]
    assert slow < ctx.F < fast and r_low < ctx.R < r_high and lo <= fig["p_match"] <= hi and lo < hi
    for R in (r_low, ctx.R, r_high):  # F's direction, at every R
        grid = [_p_at(ctx, F, R) for F in np.linspace(slow, fast, 7)]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(grid))
    for F in (slow, ctx.F, fast):  # R's direction, at every F
        grid = [_p_at(ctx, F, R) for R in np.linspace(r_low, r_high, 7)]
        assert all(b >= a - 1e-12 for a, b in itertools.pairwise(grid))
    assert lo == pytest.approx(_p_at(ctx, fast, r_low), abs=1e-12) and hi == pytest.approx(_p_at(ctx, slow, r_high), abs=1e-12)
    for F, R in itertools.product((slow, ctx.F, fast), (r_low, ctx.R, r_high)):  # corners, edges, centre
        assert lo - 1e-12 <= _p_at(ctx, F, R) <= hi + 1e-12
    assert fig["p_match_plan"]["p_match"] <= lo + 1e-12


def test_the_rejection_band_widens_the_invitation_band_on_1_december(typ_list, problem):
    """The reviewer's case: the typical list all silent on 1 December.  P(match) now 16.6%; the
    invitation band alone gives 8.2% to 25.4%, half and 1.5 times the rejection share 14.0% and
    20.4%; both bands together 7.1% to 30.8% (card 2026.4's plausible models)."""
    ctx = _prepare(problem, typ_list, DEC1)
    fig = update.figures(ctx)
    slow, fast = ctx.F_band
    assert fig["p_match"] == pytest.approx(0.1657, abs=5e-4)
    assert [_p_at(ctx, fast, ctx.R), _p_at(ctx, slow, ctx.R)] == pytest.approx([0.082, 0.2544], abs=5e-4)
    assert [_p_at(ctx, ctx.F, ctx.R / 2), _p_at(ctx, ctx.F, 1.5 * ctx.R)] == pytest.approx([0.1398, 0.2036], abs=5e-4)
    assert fig["rejections_sent_share_band"] == pytest.approx([0.10 + 0.10 * 16 / 30, 0.30 + 0.15 * 16 / 30])
    assert fig["p_match_timing_band"] == pytest.approx([0.0713, 0.3077], abs=5e-4)


@pytest.mark.parametrize("today,answers", [
    ("2026-09-20", {}),  # before ERAS releases applications: silence is no evidence at either end
    ("2027-02-05", {}),  # the curve at its end: every end has sent everything
    ("2026-10-20", "every"),  # every program has answered: no silence to weigh
])
def test_the_band_collapses_when_no_silence_is_weighed(typ_list, problem, today, answers):
    text = _with(typ_list, {}, None)
    if answers == "every":
        ids = [ln.split(",")[0] for ln in text.splitlines() if ln.startswith("IM-")]
        answers = {pid: ("invited" if k % 4 == 0 else "rejected") for k, pid in enumerate(ids)}
    ctx = _prepare(problem, _with(typ_list, answers, None), today)
    fig = update.figures(ctx)
    assert fig["p_match_timing_band"] == [fig["p_match"], fig["p_match"]]
    assert fig["p_match_plan"]["from"] != TIMING_FAST
    (fp, rp), (fo, ro) = timingband.ends(ctx)  # and every corner gives the same figure
    assert all(_p_at(ctx, F, R) == pytest.approx(fig["p_match"], abs=1e-12) for F in (fp, fo) for R in (rp, ro))


def test_on_1_october_the_figure_to_plan_on_is_the_pessimistic_corner_and_the_line_says_why(typ_list, tmp_path,
                                                                                             capsys):
    """The reviewer's all-silent list on 1 October: 15% of invitations sent on the curve, judged
    5-30%, rejections 2.7%, judged 0.7-5.0%; the pessimistic corner's P(match) lies below the
    range's 10th percentile, so the plan takes it."""
    path = tmp_path / "s.csv"
    path.write_text(typ_list)
    with pytest.raises(SystemExit) as e:
        main(["update", str(PROFILE), "--season", str(path), "--today", "2026-10-01", "--draws", "0", "--json"])
    import json

    d = json.loads(capsys.readouterr().out)
    lo, hi = d["p_match_timing_band"]
    assert e.value.code == 0 and d["invitations_sent_share_band"] == pytest.approx([0.05, 0.30])
    assert d["rejections_sent_share_band"] == pytest.approx([0.02 * 7 / 21, 0.15 * 7 / 21])  # 24 Sept-15 Oct
    assert lo < d["p_match_interval"][0] and d["p_match_plan"] == {"p_match": lo, "from": TIMING_FAST}
    with pytest.raises(SystemExit):
        main(["update", str(PROFILE), "--season", str(path), "--today", "2026-10-01", "--draws", "0"])
    out = " ".join(capsys.readouterr().out.split())
    assert ("silence so far is weighed by judged timing curves (about 15.0% of invitations sent by 2026-10-01, "
            "judged 5.0% to 30.0%; rejections 2.7%, judged 0.7% to 5.0%): with the ranges' ends P(match) now would be "
            f"{100 * lo:.1f}% (invitations faster, fewer rejections) to {100 * hi:.1f}% (slower, more)") in out
    assert f"Plan on {int(100 * lo)}% now ({TIMING_FAST} given your answers" in out


def test_the_plan_with_additions_takes_the_faster_end_too_and_never_falls(typ_list, problem):
    from allocator.season.run import run

    path_text = _with(typ_list, {"IM-0091": "invited", "IM-0732": "rejected"}, "2026-10-10")
    d = run(PROFILE, season_from_text(path_text, today=dt.date(2026, 10, 15)), today=dt.date(2026, 10, 15),
            add_budget=300.0, max_add=10, draws=0)
    a = d["add"]
    assert a["n_added"] >= 1 and a["p_match_after_plan"]["p_match"] >= d["p_match_plan"]["p_match"] - 1e-12
    assert d["p_match_plan"]["from"] == TIMING_FAST  # in mid-October the pessimistic corner is the lowest figure


def test_a_timing_point_s_range_must_hold_its_share():
    from pydantic import ValidationError

    from allocator.model.timing import TimingPoint

    with pytest.raises(ValidationError, match="low 0.2 <= share 0.15 <= high 0.3 must hold"):
        TimingPoint(date="10-01", share=0.15, low=0.2, high=0.3, reasoning="x")
    with pytest.raises(ValidationError, match="give both low and high"):
        TimingPoint(date="10-01", share=0.15, low=0.05, reasoning="x")
    for curve in (load_card().timing.invitations, load_card().timing.rejections):
        assert curve.has_band and all(p.low is not None and p.low <= p.share <= p.high for p in curve.points)
        for end in ("low", "share", "high"):
            sh = [getattr(p, end) for p in curve.points]
            assert all(b >= a for a, b in itertools.pairwise(sh))
        assert curve.points[0].low == curve.points[0].high == 0.0  # nothing before release, by definition


def test_the_rejection_curve_s_ranges_are_validated_as_the_invitation_curve_s():
    """The card's rejection points with a broken range: a share outside it, one end only, an end
    that falls along the season, an end outside [0, 1] are each refused."""
    import tomllib

    from pydantic import ValidationError

    from allocator.model.timing import TimingCurve

    raw = tomllib.loads((ROOT / "models/default.toml").read_text())["timing"]["rejections"]
    assert all("Band" in p["reasoning"] or "definition" in p["reasoning"] for p in raw["points"])
    for p in raw["points"]:  # each point's low/high are the band its reasoning states
        if "Band" in p["reasoning"]:
            assert f"Band {p['low']:.2f}-{p['high']:.2f}." in p["reasoning"]

    def broken(k: int, **change) -> dict:
        pts = [dict(p) for p in raw["points"]]
        pts[k].update(change)
        pts[k] = {key: v for key, v in pts[k].items() if v is not None}
        return raw | {"points": pts}

    TimingCurve(**raw)
    for k, change, msg in [(1, {"low": 0.10}, "low 0.1 <= share 0.08 <= high 0.15 must hold"),
                           (2, {"high": None}, "give both low and high"),
                           (3, {"low": 0.05}, "low ends must not decrease along the season"),
                           (4, {"high": 0.40, "share": 0.35}, "high ends must not decrease along the season"),
                           (4, {"high": 1.2}, "share, low and high must be between 0 and 1")]:
        with pytest.raises(ValidationError, match=msg):
            TimingCurve(**broken(k, **change))
