"""Two answers about the season's evidence (review 20, findings 5 and 6):

- ``declined`` (invited, then the interview declined or cancelled) counts as an invitation in
  the likelihood, with no chance of a match there: brute force over the mixture, the
  simulator, and the reviewer's season (IM-0091 interviewed / declined / withdrawn);
- P(match) now at the ends of the invitation-timing curve's judged range: brute force at each
  end, brackets the central figure, moves the right way, collapses when no silence is weighed,
  and the figure to plan on takes the faster end when it is the lowest."""
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

from .test_season_twostage import ROOT, _brute, _ctx, _stage
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
    from allocator.optim.evaluate import in_west

    rng = np.random.default_rng(900 + seed)
    pr = factor_problem(rng, n=6, cards=2, gold=1, silver=1, divisions=2)
    ids = [pr.ids[i] for i in rng.permutation(6)[:4]]
    statuses = ["declined"] + list(rng.choice(["applied", "invited", "rejected", "withdrawn", "declined"], 3))
    F, R = rng.uniform(0.1, 0.9), rng.uniform(0.0, 0.5)
    ctx = _ctx(pr, statuses, F, R, ids=ids, signals={ids[1]: "gold"})
    fig = update.figures(ctx)
    q, m = _stage(pr, ctx.plan)
    order = [ctx.plan.idx.index(pr.ids.index(x)) for x in ids]
    bm, bla, bfur = _brute(pr.fm.w, q[:, order], m[:, order], statuses, F, R, pr.la[ctx.idx])
    assert fig["p_match"] == pytest.approx(bm, abs=1e-10)
    assert fig["p_match_la"] == pytest.approx(bla, abs=1e-10)
    assert fig["expected_further_invitations"] == pytest.approx(bfur, abs=1e-10)
    _, bwest, _ = _brute(pr.fm.w, q[:, order], m[:, order], statuses, F, R, in_west(pr)[ctx.idx])
    assert fig["p_match_west"] == pytest.approx(bwest, abs=1e-10)
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


# --- the invitation-timing curve's judged range -------------------------------------------------

def test_the_band_ends_equal_brute_force_at_those_shares():
    rng = np.random.default_rng(960)
    pr = factor_problem(rng, n=6, cards=2, gold=0, silver=0, divisions=1)
    statuses = ["applied", "invited", "rejected", "applied", "declined"]
    slow, fast, R = 0.2, 0.55, 0.15
    ctx = dataclasses.replace(_ctx(pr, statuses, 0.35, R), F_band=(slow, fast))
    fig = update.figures(ctx)
    q, m = _stage(pr, ctx.plan)
    order = [ctx.plan.idx.index(i) for i in ctx.idx]
    ends = [_brute(pr.fm.w, q[:, order], m[:, order], statuses, F, R, pr.la[ctx.idx])[0] for F in (fast, slow)]
    assert fig["p_match_timing_band"] == pytest.approx(ends, abs=1e-10)
    assert fig["invitations_sent_share_band"] == [slow, fast]
    assert fig["p_match_timing_band"][0] < fig["p_match"] < fig["p_match_timing_band"][1]


@pytest.mark.parametrize("today", ["2026-09-26", "2026-10-01", "2026-10-12", "2026-11-10", "2026-12-01",
                                   "2027-01-10", "2027-01-25"])
@pytest.mark.parametrize("which", ["silent", "declined"])
def test_the_band_brackets_the_figure_and_a_slower_curve_gives_more(typ_list, problem, today, which):
    """The typical list all silent, and with the reviewer's answers (dated by ``today``): the
    band's ends bracket P(match) now, and P(match) falls as F runs from the slow end to the fast
    (a slower season makes silence weaker evidence); the figure to plan on is at most the
    faster end's figure."""
    ans = {} if which == "silent" else ANSWERS | {"IM-0091": "declined"}
    ctx = _prepare(problem, _with(typ_list, ans, today), today)
    fig = update.figures(ctx)
    lo, hi = fig["p_match_timing_band"]
    slow, fast = fig["invitations_sent_share_band"]
    assert slow < ctx.F < fast and lo <= fig["p_match"] <= hi and lo < hi
    grid = [post.p_match(c.pi, c.c) for c in (timingband.at_share(ctx, F) for F in np.linspace(slow, fast, 7))]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(grid))
    assert grid[0] == pytest.approx(hi, abs=1e-12) and grid[-1] == pytest.approx(lo, abs=1e-12)
    assert fig["p_match_plan"]["p_match"] <= lo + 1e-12


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


def test_on_1_october_the_figure_to_plan_on_is_the_faster_end_and_the_line_says_why(typ_list, tmp_path, capsys):
    """The reviewer's all-silent list on 1 October: 70.0% on the curve, judged 5-30% of invitations
    sent; the faster end's P(match) lies below the range's 10th percentile, so the plan takes it."""
    path = tmp_path / "s.csv"
    path.write_text(typ_list)
    with pytest.raises(SystemExit) as e:
        main(["update", str(PROFILE), "--season", str(path), "--today", "2026-10-01", "--draws", "0", "--json"])
    import json

    d = json.loads(capsys.readouterr().out)
    lo, hi = d["p_match_timing_band"]
    assert e.value.code == 0 and d["invitations_sent_share_band"] == pytest.approx([0.05, 0.30])
    assert lo < d["p_match_interval"][0] and d["p_match_plan"] == {"p_match": lo, "from": TIMING_FAST}
    with pytest.raises(SystemExit):
        main(["update", str(PROFILE), "--season", str(path), "--today", "2026-10-01", "--draws", "0"])
    out = " ".join(capsys.readouterr().out.split())
    assert ("silence so far is weighed by a judged invitation-timing curve (about 15.0% of invitations sent by "
            f"2026-10-01, judged 5.0% to 30.0%): with the range's ends P(match) now would be {100 * lo:.1f}% (faster) "
            f"to {100 * hi:.1f}% (slower)") in out
    assert f"Plan on {int(100 * lo)}% now ({TIMING_FAST} given your answers" in out


def test_the_plan_with_additions_takes_the_faster_end_too_and_never_falls(typ_list, problem):
    from allocator.season.run import run

    path_text = _with(typ_list, {"IM-0091": "invited", "IM-0732": "rejected"}, "2026-10-10")
    d = run(PROFILE, season_from_text(path_text, today=dt.date(2026, 10, 15)), today=dt.date(2026, 10, 15),
            add_budget=300.0, max_add=10, draws=0)
    a = d["add"]
    assert a["n_added"] >= 1 and a["p_match_after_plan"]["p_match"] >= d["p_match_plan"]["p_match"] - 1e-12
    assert d["p_match_plan"]["from"] == TIMING_FAST  # in mid-October the faster end is the lowest figure


def test_a_timing_point_s_range_must_hold_its_share():
    from pydantic import ValidationError

    from allocator.model.timing import TimingPoint

    with pytest.raises(ValidationError, match="low 0.2 <= share 0.15 <= high 0.3 must hold"):
        TimingPoint(date="10-01", share=0.15, low=0.2, high=0.3, reasoning="x")
    with pytest.raises(ValidationError, match="give both low and high"):
        TimingPoint(date="10-01", share=0.15, low=0.05, reasoning="x")
    curve = load_card().timing.invitations
    assert curve.has_band and all(p.low is not None for p in curve.points)
