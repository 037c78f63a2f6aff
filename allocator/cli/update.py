"""`allocator update`: the chances now, given the interview season's answers so far, and the
best additional applications under them (--add-budget / --max-add)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer

from allocator.errors import InputError
from allocator.cli.common import (MAX_SEASON_DRAWS, CatalogOpt, JsonOpt, OutTextOpt, ProfileArg, _emit, app,
                                  check_draws_seed, check_outputs, text_or_json)


def _today(v: Optional[str]) -> dt.date:
    if v is None:
        return dt.date.today()
    from allocator.season.seasonfile import iso_date  # as the web form reads its date

    try:
        return iso_date(v)
    except ValueError as e:
        raise InputError(f"--today {v!r}: {e}") from None


def _pct(x: float) -> str:
    from allocator.output.report import pct  # never "100.0%" below 1, as every other report

    return pct(x)


def _range(iv) -> str:
    """" (48% to 69%)": a range over the plausible models, none when it is empty or one value."""
    from allocator.output.report import pct

    if not iv or iv[1] < 0.005 or pct(iv[0], 0) == pct(iv[1], 0):
        return ""
    return f" ({pct(iv[0], 0)} to {pct(iv[1], 0)})"


def _range_first(value: float, iv) -> str:
    """"41% to 67%, average 55.2%": the range leads, as in solve's headline; the value alone
    when there is no range."""
    shown = _range(iv)
    return f"{shown[2:-1]}, average {_pct(value)}" if shown else _pct(value)


def _before_lines(d: dict, c) -> None:
    """solve's checks of the list as sent, before any answer: a worst-season figure and the
    published-curve check (absent under the one-factor copula)."""
    from allocator.output.report import season_label, whole_range

    w = d.get("p_match_before_worst_season")
    if w:
        c.print(f"  before any answer, {season_label(w)}: {_pct(w['p_match'])}")
    pc = d.get("p_match_before_published_curve")
    if pc:  # whole percents, as solve prints the check
        value = whole_range(pc)
        c.print(f"  before any answer, published-curve check: {value} (if P(match | interviews) followed the "
                f"published Internal Medicine IMG curve, 2009 data{_rel(pc, d.get('p_match_before_interval'))})")
    sc = d.get("p_match_score_check")
    if sc:
        c.print(f"  before any answer, Step 2 CK score check: {_pct(sc['p_match_before'])} (central model "
                f"{_pct(sc['p_match_before_central'])})")
    cc = d.get("p_match_before_cap_check")
    if cc:
        c.print(f"  before any answer, IMG-share cap check: {_pct(cc['p_match'])} (central model "
                f"{_pct(cc['p_match_central'])}; the IMG-share effect stopping at {100 * cc['cap']:.0f}% IMGs)")


def _add_lines(d: dict, c) -> None:
    """The applications to add now, their cost and P(match) after, the figure to plan on with them
    and the verdict."""
    a = d["add"]
    c.print()
    if not a["n_added"]:  # nothing to list, price or plan: the advice says why
        c.print(f"Additional applications within ${a['add_budget']:,.0f}: none. {a['advice']}", markup=False)
        return
    c.print(f"Best {a['n_added']} additional applications within ${a['add_budget']:,.0f} "
            f"(late applications count at {_pct(a['late_factor'])} of their usual interview chance; "
            "--add-budget and --max-add bound them, the profile's budget and max_applications were for the "
            "list already sent, its LA cap applies to the whole list):")
    for r in a["selected"]:
        c.print(f"  {r['program_id']:<9} {r['name'][:52]:<52} {'LA ' if r['la_area'] else '   '}"
                f"P {_pct(r['p_match'])}{'  ' + r['signal'] if r['signal'] else ''}")
    c.print(f"Cost ${a['cost']:,.0f}; P(match) {_pct(d['p_match'])} -> {_pct(a['p_match_after'])}"
            f"{_range(a.get('p_match_after_interval'))} (averages over the plausible models); "
            f"{a['gain_per_100'] * 100:.2f} points per extra $100")
    _after_plan_line(a, c)
    c.print(a["advice"])


def _after_plan_line(a: dict, c) -> None:
    """"Plan on 47% with them (...)": the figure to plan on with the applications added now."""
    from allocator.output.report import pct_floored, plan_pct

    plan = a.get("p_match_after_plan")
    if plan is None or not a.get("n_added"):
        return
    sc, cc = a.get("p_match_after_score_check"), a.get("p_match_after_cap_check")
    note = "" if not sc or sc["direction"] != "below" else \
        f"; Step 2 CK score check with them: {_pct(sc['p_match'])}, central model {_pct(sc['p_match_central'])}"
    note += "" if not cc else f"; IMG-share cap check with them: {_pct(cc['p_match'])}"
    c.print(f"[bold]Plan on {plan_pct(plan['p_match'])} with them[/] ({plan['from']} given your answers, "
            f"{pct_floored(plan['p_match'])} rounded down{note})")


def _plan_line(d: dict, c) -> None:
    """"Plan on 46% now (...); before any answer, plan on 72% (...)": the figure to plan on, as
    solve prints it, for the answers so far and for the list as sent (none without a range)."""
    from allocator.output.report import pct_floored, plan_pct

    now, before = d.get("p_match_plan"), d.get("p_match_before_plan")
    if now is None:
        return
    tail = "" if before is None else (f"; before any answer: plan on {plan_pct(before['p_match'])} "
                                      f"({before['from']}, {pct_floored(before['p_match'])} rounded down)")
    c.print(f"[bold]Plan on {plan_pct(now['p_match'])} now[/] ({now['from']} given your answers, "
            f"{pct_floored(now['p_match'])} rounded down){tail}")


def _declined(k: dict) -> str:
    """", 1 declined after an invitation" (counted as an invitation, no match there); none when none."""
    n = k.get("declined", 0)
    return f", {n} declined after an invitation (each counts as an invitation, with no match there)" if n else ""


def render(d: dict, c) -> None:
    if d.get("synthetic"):
        from allocator.output.report import SYNTHETIC_NOTE

        c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        c.print()
    k = d["counts"]
    total = sum(k.values())
    left = "" if total == d["n_applications"] else \
        f" ({total - d['n_applications']} of them carry no weight: the model excludes them, see the warnings)"
    held = f" ({k['interviewed']} interviewed)" if k["interviewed"] else ""
    apps = f"{total} application{'s' if total != 1 else ''}"
    c.print(f"Season on {d['today']}: {apps}; {k['invited'] + k['interviewed']} invited{held}, "
            f"{k['rejected']} rejected, {k['applied']} no answer yet, {k['withdrawn']} withdrawn"
            f"{_declined(k)}{left}")
    c.print(f"  (by now programs have sent about {_pct(d['invitations_sent_share'])} of their invitations, "
            "from the model card's timing curve)")
    c.print(f"P(match) now:            {_range_first(d['p_match'], d.get('p_match_interval'))}   "
            f"(before any answer: {_range_first(d['p_match_before'], d.get('p_match_before_interval'))})")
    _plan_line(d, c)
    tb = timing_band_line(d)
    if tb:
        c.print(tb)
    _now_lines(d, c)
    _before_lines(d, c)
    c.print(f"P(match in LA):          {_pct(d['p_match_la'])}{_range(d.get('p_match_la_interval'))}   "
            f"(before: {_pct(d['p_match_la_before'])}{_range(d.get('p_match_la_before_interval'))})")
    if d.get("p_match_west") is not None:
        c.print(f"P(match in the West):    {_pct(d['p_match_west'])}{_range(d.get('p_match_west_interval'))}   "
                f"(before: {_pct(d['p_match_west_before'])}{_range(d.get('p_match_west_before_interval'))}; "
                "LA included, the West ranked first)")
    if d.get("p_match_interval"):
        c.print(f"  ranges: 10th-90th percentile over the plausible models, each conditioned on your answers and "
                f"weighted by how likely it makes them, as in the average; the most pessimistic gives "
                f"{_pct(d['p_match_pessimistic'])} now")
    c.print(f"Further invitations:     {d['expected_further_invitations']:.1f} expected "
            f"(before any answer: {d['expected_invitations_before']:.1f} in all)")
    ivs = d.get("p_interviews_at_least_interval") or {}
    c.print("Interviews in all:       " + ", ".join(f"P(>= {t}) {_pct(v)}{_range(ivs.get(t))}"
                                                   for t, v in d["p_interviews_at_least"].items()))
    st = d["standing"]
    iv = st.get("top_share_interval")
    rng = f" (10th-90th percentile: {_pct(iv[0])} to {_pct(iv[1])} are stronger)" if iv else ""
    c.print(f"Standing:                {st['sentence']}{rng}")
    if "after_interviews" in d:
        a = d["after_interviews"]
        c.print()
        c.print(f"From the interviews you hold alone: P(match) {_pct(a['p_match_interviews_only'])}"
                f"{_range(a.get('p_match_interviews_only_interval'))}, "
                f"P(match in LA, LA ranked first) {_pct(a['p_match_la_interviews_only'])}, "
                f"P(match in the West, West ranked first) {_pct(a['p_match_west_interviews_only'])}")
        check = interviews_only_check(a)
        if check:
            c.print(check)
        c.print(f"Rank order: {a['rank_order']}")
        for j, r in enumerate(a["programs"], 1):
            c.print(f"  {j}. {r['program_id']} {'(LA) ' if r['la_area'] else ''}P(match here) {_pct(r['p_match_here'])}")
        c.print(a["note"])
    if "add" in d:
        _add_lines(d, c)
    if "mc" in d:
        m = d["mc"]
        what = " with the additions" if d.get("add", {}).get("n_added") else " now"
        c.print(f"Checked by simulation: P(match){what} {_pct(m['p_match'])} +- {_pct(1.96 * m['p_match_se'])} "
                f"(95%; {m['draws']:,} weighted seasons, seed {m['seed']})")
    for w in d.get("warnings", []):
        c.print(f"warning: {w}", markup=False)
    for note in d.get("notes", []):
        c.print(f"note: {note}", markup=False)


def _now_lines(d: dict, c) -> None:
    """The checks of P(match) now: the published curve, the Step 2 CK score check and the
    IMG-share cap check, each conditioned on the answers (absent where the list has none)."""
    now = d.get("p_match_published_curve")
    if now:  # whole percents, as solve prints the check
        from allocator.output.report import whole_range

        value = whole_range(now)
        c.print(f"  now, published-curve check: {value} (your interviews so far and those still expected, if "
                f"P(match | interviews) followed the published curve{_rel(now, d.get('p_match_interval'))})")
    sc = d.get("p_match_score_check")
    if sc:
        c.print(f"  now, Step 2 CK score check: {_pct(sc['p_match'])} (central model {_pct(sc['p_match_central'])}; "
                "the warning below says what it is)")
    cc = d.get("p_match_cap_check")
    if cc:
        c.print(f"  now, IMG-share cap check: {_pct(cc['p_match'])} (central model {_pct(cc['p_match_central'])}; the "
                f"IMG-share effect stopping at {100 * cc['cap']:.0f}% IMGs, conditioned on your answers)")


def _rel(check, interval) -> str:
    """", which every plausible model exceeds" (or where else the check lies against the range)."""
    from allocator.verification.published_curve import relation

    words = relation(check, interval)
    return f", {words}" if words else ""


def timing_band_line(d: dict) -> str:
    """"  silence so far is weighed by judged timing curves (about X% of invitations sent by DATE,
    judged A to B; rejections C, judged D to E): with the ranges' ends P(match) now would be Y
    (...) to Z (...)"; "" when no silence is weighed or the card gives no range."""
    tb, sh, rs = d.get("p_match_timing_band"), d.get("invitations_sent_share_band"), d.get("rejections_sent_share_band")
    if not tb or tb[0] == tb[1]:
        return ""
    inv = f"about {_pct(d['invitations_sent_share'])} of invitations sent by {d['today']}"
    if sh:
        inv += f", judged {_pct(sh[0])} to {_pct(sh[1])}"
    rej = f"rejections {_pct(d['rejections_sent_share'])}" + (f", judged {_pct(rs[0])} to {_pct(rs[1])}" if rs else "")
    return (f"  silence so far is weighed by judged timing curves ({inv}; {rej}): with the ranges' ends P(match) "
            f"now would be {_pct(tb[0])} (invitations faster, fewer rejections) to {_pct(tb[1])} (slower, more)")


def interviews_only_check(a: dict) -> str:
    """"The published curve gives 35% at 3 interviews; plan on 26% from these interviews (..., 26.4%
    rounded down)"."""
    from allocator.output.report import pct_floored, plan_pct

    curve = a.get("p_match_interviews_only_published_curve")
    if not curve:
        return ""
    n = len(a["programs"])
    at = _pct(curve[0]) if abs(curve[1] - curve[0]) < 5e-4 else f"{_pct(curve[0])} to {_pct(curve[1])}"
    how = a.get("p_match_interviews_only_published_curve_reading", "")
    how = "" if how in ("", "published") else f", {how}"
    line = (f"  The published Internal Medicine IMG curve gives {at} at {n} interview{'s' if n != 1 else ''} "
            f"(2009 data{how}{_rel(curve, a.get('p_match_interviews_only_interval'))})")
    plan = a.get("p_match_interviews_only_plan")
    if plan is None:
        return line
    return line + (f"; plan on {plan_pct(plan)} from these interviews ({a['p_match_interviews_only_plan_from']}, "
                   f"{pct_floored(plan)} rounded down)")


@app.command()
def update(
    profile: Path = ProfileArg,
    season: Path = typer.Option(..., "--season", help="season CSV: program_id, status[, signal, date, rank]"),
    today: Optional[str] = typer.Option(None, "--today", help="date of the update, YYYY-MM-DD (default: today)"),
    catalog: Optional[Path] = CatalogOpt,
    add_budget: Optional[float] = typer.Option(None, "--add-budget", help="USD for additional applications now"),
    max_add: Optional[int] = typer.Option(None, "--max-add", help="most additional applications"),
    draws: int = typer.Option(20_000, "--draws", help="simulated seasons for the check (0 to skip)"),
    seed: int = typer.Option(0, "--seed", help="Monte Carlo seed"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutTextOpt,
) -> int:
    """The chances now, given the invitations and rejections so far (and what to add)."""
    from allocator.season.run import run

    check_draws_seed(draws, seed, most=MAX_SEASON_DRAWS)
    check_outputs((out, "--out"), inputs={"the profile": profile, "--catalog": catalog, "--season": season})
    text_or_json(out, "update")
    d = run(profile, season, today=_today(today), catalog=catalog, add_budget=add_budget, max_add=max_add,
            draws=draws, seed=seed)
    _emit(d, as_json, out, lambda c: render(d, c))
    return 0
