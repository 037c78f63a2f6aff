"""Human-readable rendering (rich): tables and summaries.  No computation here beyond
formatting; every number comes from a Result, a Metrics or rows of programs."""
from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from allocator.output.guide import recognize
from allocator.output.result import Result
from allocator.output.trade import alternative_line, guide_text, signal_text, tier_text
from allocator.percent import pct, pct_floored, plan_pct  # noqa: F401  (the report's percentages; imported from here too)

SYNTHETIC_NOTE = "SYNTHETIC demo catalog: invented programs at real places; not real program data."


def span(iv) -> str:
    """"77-91%" for a [10th, 90th] percentile pair (whole percents), "" without one."""
    ok = isinstance(iv, (list, tuple)) and len(iv) == 2 and all(isinstance(x, (int, float)) and x == x for x in iv)
    return f"{pct(iv[0], 0)[:-1]}-{pct(iv[1], 0)}" if ok else ""


def usd(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def model_name(problem) -> str:
    """The model a figure comes from, for titles and labels."""
    return "two-stage model" if problem.fm is not None else f"one-factor copula, correlation {problem.rho:g}"


def interval_line(m, problem=None) -> str:
    """The headline: P(match) as a range over the ensemble of plausible models, then the
    central value and the most pessimistic card.  When a set correlation makes the one-factor
    copula the model (``problem.fm`` None), the calibrated two-stage model's range still leads
    and the copula's P(match) follows, named as such (it is not a value inside that range)."""
    lo, hi = m.p_match_interval
    if problem is not None and problem.fm is None:
        return (f"[bold]P(match): {pct(lo, 0)} to {pct(hi, 0)}[/] over the calibrated two-stage model's plausible "
                f"models (10th-90th percentile; most pessimistic {pct(m.p_match_pessimistic)}); "
                f"{pct(m.p_match)} under the one-factor copula at the correlation you set ({problem.rho:g})")
    what = ("average" if problem is None or problem.card_choice in ("", "ensemble")
            else f"the {problem.card_choice} card alone")
    return (f"[bold]P(match): {pct(lo, 0)} to {pct(hi, 0)}[/] (10th-90th percentile over the plausible models; "
            f"{what} {pct(m.p_match)}, most pessimistic model {pct(m.p_match_pessimistic)})")


def plan_line(plan: dict) -> str:
    """"Plan on 71%: ..." the one figure to plan on and where it comes from."""
    return f"[bold]Plan on {plan_pct(plan['p_match'])}[/] ({plan_source(plan)})"


def plan_source(plan: dict) -> str:
    """Where the figure to plan on comes from, and the rule (the command line and the web page)."""
    return (f"{plan['from']}, {pct_floored(plan['p_match'])} rounded down: the lowest of the 10th percentile, the worst "
            "season, a published-curve check below "
            "the range, for a Step 2 CK below the calibration cohort's mean the score check, and for a list beyond the "
            "calibration cohort's share of programs at the IMG-share cap the IMG-share cap check; lower still if a "
            "warning below says so")


def plan_cell(x) -> str:
    """A table's "plan on" cell: :func:`plan_pct`, "" for a row without the figure (no range, no list)."""
    return "" if x is None or x != x else plan_pct(x)


def plan_column_note(sources, card) -> str:
    """The footnote under a sweep or frontier table's "plan on" column: the rule of
    :func:`allocator.verification.planfigure.plan_figure` in plain words, and where the rows' figures
    come from (``sources``: their ``p_match_plan_from``)."""
    from collections import Counter

    from allocator.verification.published_curve import curve_points, describe

    curve = f", {describe(card)}" if card is not None and curve_points(card) is not None else ""
    found = Counter(s for s in sources if s)
    here = ", ".join(f"{k} on {n} row{'s' if n > 1 else ''}" for k, n in found.items())
    return (f"plan on: the one figure to plan on for each list, in whole percents rounded down: the lowest of its 10th "
            "percentile over the plausible models, its P(match) in a season like the worst published one, and, when "
            "it lies below that percentile, the upper end of the published-curve check (what the list's interviews "
            f"would give if P(match | interviews) followed the published curve{curve}), and, for a Step 2 CK below "
            "the calibration cohort's mean, its P(match) under the Step 2 CK score check (a model whose score effect "
            "is within the published gap's tolerance), and, for a list holding more programs at the IMG-share cap "
            "than the calibration cohort's lists, its P(match) under the IMG-share cap check (a model whose IMG-share "
            f"effect stops at 65% IMGs, its intercepts re-fitted); lower still if a warning below says so. Here: {here} "
            "(columns p_match_plan, p_match_plan_from and p_match_published_curve in the CSV and JSON)")


def point_line(m) -> str:
    """The headline of a P(match) without a range over plausible models (one card, or the
    catalog's own p_match): the figure, and that a warning says why there is no range."""
    return f"[bold]P(match): {pct(m.p_match)}[/] (no range over plausible models: the warning below says why)"


def season_label(w: dict, short: bool = False) -> str:
    """What the worst-season figure (JSON ``p_match_worst_season``) is, wherever it is shown:
    "in a season like 2022 (61.4% of US IMGs matched; mean of its 8 plausible models)", or
    ``short`` for a table row, "in a 2022-like season (61.4% matched; 8 models)"."""
    above = w.get("above_average")
    if short:
        return (f"in a {w['season']}-like season ({pct(w['match_rate'])} matched; {w['cards']} models"
                f"{'; above the average here' if above else ''})")
    why = ("; for this list they give more than the average of all the plausible models, since they differ from "
           "the rest in more than the season: here it is not the low figure") if above else ""
    return (f"in a season like {w['season']} ({pct(w['match_rate'])} of US IMGs matched; mean of its "
            f"{w['cards']} plausible models{why})")


def whole_range(iv) -> str:
    """"71% to 81%" in whole percents, or "71%" when both ends round alike (the published-curve
    check, wherever it is printed)."""
    lo, hi = pct(iv[0], 0), pct(iv[1], 0)
    return lo if lo == hi else f"{lo} to {hi}"


def published_curve_line(pc: tuple[float, float], card, specialties=("Internal Medicine",), interval=None) -> str:
    """The cross-check against the published conversion curve, in one sentence (the curve is
    Internal Medicine's: a list in other specialties is told so); with the list's range
    (``interval``) the words say where the check lies against it, as the web page does."""
    from allocator.verification.published_curve import describe, relation

    other = [s for s in specialties if s != "Internal Medicine"]
    note = (f"; no curve is published for {', '.join(other)}, so this one stands in for "
            f"{'it' if len(other) == 1 else 'them'}") if other else ""
    value = whole_range(pc)
    where = relation(pc, interval)
    return (f"Published-curve check: if P(match | interviews) followed the published Internal Medicine IMG curve "
            f"({describe(card)}; 2009 data; over the calibration cohort every plausible model converts more{note}), "
            f"this list's interviews would give {value}{', ' + where if where else ''}.")


def robustness_line(r: dict) -> str:
    cost, gain = r["cost_in_central_p"], r["gain_at_p10"]
    return (f"Against the list best for the central model alone ({r['central_list']['n_applications']} programs), "
            f"this list costs {100 * cost:.1f} points of central P(match) "
            f"({pct(r['robust_list']['p_match_central'])} vs {pct(r['central_list']['p_match_central'])}) and gains "
            f"{100 * gain:.1f} points at the 10th percentile ({pct(r['robust_list']['p_match_p10'])} vs "
            f"{pct(r['central_list']['p_match_p10'])}).")


def unproven_text(gap: float | None) -> str:
    """Plain words for a safety-first list that was not proven best (the relaxation's bound
    left a gap, or the time limit ran out), without a closing full stop: the command line
    adds its advice, the web page and batch's reports a full stop."""
    bound = "" if gap is None or gap != gap else (f": no list at the floor has an expected tier utility more "
                                                  f"than {gap:.4f} above this one")
    return f"Best list found, not proven the best{bound}. It meets the P(match) floor"


def unproven_line(o) -> str:
    """:func:`unproven_text` of the outcome, with how to search longer."""
    return f"{unproven_text(o.gap)}; pass --time-limit SECONDS to let the solver search and prove longer."


# the answer a budget curve's points are not, by the answer's objective (what a reader may take them for)
ANSWER_OBJECTIVE = {"safety_first": "the safety-first answer above (which may give up P(match), within its "
                                    "safety margin, for LA and West programs)", "utility": "the answer above",
                    "p_match_la": "the answer above", "min_cost": "the cheapest list above"}


def curve_caveat(curve_mode: str, answer_objective: str | None) -> str:
    """", not the safety-first answer above (...): at your budget its P(match) need not be the
    answer's" after what a budget curve shows, when its points maximize another objective
    (``curve_mode``, the sweep's) than the answer's; "" when they are the answer's."""
    if answer_objective not in ("safety_first", "min_cost") and (answer_objective or curve_mode) == curve_mode:
        return ""
    answer = ANSWER_OBJECTIVE.get(answer_objective or "", "the answer above")
    return f", not {answer}: at your budget its P(match) need not be the answer's"


def render_solve(res: Result, console: Console, *, limit: int | None = None) -> None:
    pr, m, o = res.problem, res.metrics, res.outcome
    if pr.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
    head = headline(res)
    console.print(interval_line(m, pr) if m.p_match_interval is not None else point_line(m))
    if res.published_curve is not None:
        console.print(published_curve_line(res.published_curve, pr.card, pr.specialties, m.p_match_interval))
    plan = res.plan_figure()
    if plan is not None:
        console.print(plan_line(plan))
    for w in res.warnings:
        console.print(f"[bold yellow]warning: {escape(w)}[/]")  # "[strategy]" is text, not markup
    console.print(f"[bold]{head}[/]  status: [bold]{res.status.value}[/]"
                  + ((f"  gap ${o.gap:,.0f}: every list under ${o.bound:,.0f} falls short" if res.mode == "min_cost"
                      else f"  gap {o.gap:.1e}") if o.gap else ""))
    if res.mode == "safety_first" and res.status.value == "feasible":
        console.print(unproven_line(o))
    if res.mode == "min_cost" and res.target_on == "p10":
        console.print(f"Found by a rule, not proven the cheapest: the cheapest budget whose best list (on average) "
                      f"reaches {pct(res.target, 0)} at the 10th percentile of the plausible models"
                      + ("; the time limit stopped the search, so a cheaper budget may reach it too"
                         if "time limit" in (o.message or "") else "") + ".")
    t = Table(box=box.SIMPLE, show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    if pr.fm is not None:
        what = "ensemble average" if pr.card_choice == "ensemble" else f"card {pr.card_choice}"
        t.add_row(f"P(match), two-stage model ({what})", f"[bold]{pct(m.p_match)}[/]")
        if m.p_match_central is not None and pr.card_choice == "ensemble":
            t.add_row("  under the central card", pct(m.p_match_central))
    else:
        t.add_row(f"P(match), correlation {pr.rho:g}", f"[bold]{pct(m.p_match)}[/]")
        if m.p_match_interval is not None:
            t.add_row("  two-stage ensemble, 10th-90th percentile",
                      f"{pct(m.p_match_interval[0])} to {pct(m.p_match_interval[1])}")
    if m.p_match_worst_season:
        w = m.p_match_worst_season
        t.add_row(f"  {season_label(w, short=True)}" if pr.fm is not None
                  else f"  two-stage ensemble, a {w['season']}-like season", pct(w["p_match"]))
    t.add_row("  if outcomes were independent", pct(m.p_match_independent))
    # a set correlation: the figure is the copula's, the range the two-stage model's (named so)
    rng = "  10th-90th percentile" if pr.fm is not None else "  two-stage ensemble, 10th-90th percentile"
    t.add_row("P(match in Greater LA, LA ranked first)", pct(m.p_match_la))
    if m.p_match_la_interval is not None:
        t.add_row(rng, f"{pct(m.p_match_la_interval[0])} to {pct(m.p_match_la_interval[1])}")
    t.add_row("P(match in the West, LA included; the West ranked first)", pct(m.p_match_west))
    if m.p_match_west_interval is not None:
        t.add_row(rng, f"{pct(m.p_match_west_interval[0])} to {pct(m.p_match_west_interval[1])}")
    if m.expected_interviews is not None:
        iv = m.expected_interviews_interval
        t.add_row("expected interviews (model)" + ("; 10th-90th percentile" if iv else ""),
                  f"{m.expected_interviews:.1f}" + (f" ({iv[0]:.1f} to {iv[1]:.1f})" if iv else ""))
    if pr.objective in ("utility", "safety_first"):
        t.add_row("expected utility", f"{m.expected_utility:.4f}")
    _mc_rows(t, res)
    t.add_row("applications (LA)", f"{m.n_applications} ({m.n_la}, {pct(m.la_share, 0)})")
    _tier_rows(t, res)
    _cost_rows(t, res)
    if res.signal_gain is not None:
        t.add_row("P(match) gained by the signals", f"{100 * res.signal_gain:+.2f} points")
    if res.plan and res.plan.divisions:
        t.add_row("geographic preference", ", ".join(res.plan.divisions))
    elif pr.fixed_divisions:
        t.add_row("geographic preference (fixed in the profile)", ", ".join(pr.fixed_divisions))
    byc = " · ".join(f"{k:g}: {pct(v)}" for k, v in m.by_correlation.items())
    t.add_row("P(match) under the simpler one-factor copula, by correlation" if pr.fm is not None
              else "this list at correlation", byc)
    engine = {"cbc": "CBC", "highs": "HiGHS"}.get(o.engine, "dynamic program" if o.path == "dp" else "count scan")
    t.add_row("solver", f"{engine} {o.wall:.2f}s, {o.n_candidates} candidate{'s' if o.n_candidates != 1 else ''}")
    console.print(t)
    if res.robustness is not None:
        console.print(robustness_line(res.robustness))
    _trade_lines(res, console)
    render_programs(res.selected_rows(), console, limit=limit, columns=res.selected_columns)
    for note in pr.notes:
        console.print(f"note: {note}", markup=False)
    if pr.excluded_rows:
        console.print(f"{len(pr.excluded_rows)} program(s) excluded (ineligible or never_apply); "
                      "`allocator estimate` lists them with reasons.")


def _mc_rows(t: Table, res: Result) -> None:
    """The Monte Carlo check's rows (or that it was skipped)."""
    if res.mc is None:  # --draws 0: say so, rather than drop the line
        t.add_row("Monte Carlo check skipped (--draws 0)", "")
        return
    lo, hi = res.mc.ci95
    t.add_row(f"Monte Carlo check ({res.mc.draws:,} draws), with its 95% simulation error",
              f"{pct(res.mc.p_match, 2)} [{pct(lo, 2)}, {pct(hi, 2)}]")
    if not res.problem.interviews_modelled:  # the catalog's own p_match: what the simulator counts are successes
        t.add_row("  programs that would match (simulated mean; no interview stage)", f"{res.mc.mean_successes:.1f}")
    elif getattr(res.mc, "mean_interviews", None) is not None:
        t.add_row("  interviews per simulated season (mean)", f"{res.mc.mean_interviews:.1f}")


def _cost_rows(t: Table, res: Result) -> None:
    """The fees and the limits the list was chosen under."""
    pr, m = res.problem, res.metrics
    fees = "fees (no ERAS fees: your own costs)" if pr.schedule.season == "none" else \
        f"ERAS fees {pr.schedule.season} + extras"
    t.add_row(fees, usd(m.cost))
    for name, v in pr.schedule.fixed:  # paid whatever the list: not counted against the budget
        t.add_row(f"  + {name} (outside the budget)", usd(v))
    budget = ("budget: none (--min-cost finds the fees; the budget of "
              f"{usd(pr.budget)} is not applied)" if res.mode == "min_cost" else f"budget {usd(pr.budget)}")
    t.add_row("limits", f"{budget}, max {pr.max_apps_given} apps, LA <= {pct(pr.la_share_max, 0)}")
    bind = res.limits_binding()
    if bind is not None:
        t.add_row("what stops the list growing", _binding_words(res, bind))


def _binding_words(res: Result, bind: list[str]) -> str:
    """The limits one more program would break, and the budget left when the budget is not one."""
    from allocator.optim.explain import limit_words

    pr, m = res.problem, res.metrics
    if not bind:
        return "nothing: every eligible program is on it"
    words = " and ".join(limit_words(pr, bind))
    left = pr.budget - m.cost
    if "budget" not in bind and left > 0.5 and left == left and left != float("inf"):
        words += f" ({usd(left)} of the budget unused)"
    return words


def headline(res: Result) -> str:
    """What the list is the best of (the objective in words)."""
    avg = " on average over the plausible models" if res.problem.fm is not None and res.problem.card_choice in (
        "", "ensemble") else ""
    if res.mode == "min_cost" and res.target_on == "p10":
        return (f"Cheapest budget whose best list reaches P(match) >= {res.target:g} at the 10th percentile of "
                "the plausible models")
    if res.mode == "min_cost":
        return f"Cheapest list reaching P(match) >= {res.target:g}{avg}"
    if res.mode == "la_given_target":
        return f"Best list for P(match in Greater LA), keeping P(match) >= {res.target:g}{avg}"
    if res.mode == "safety_first":
        return (f"Safety first: the best expected tier utility (LA > rest of West > elsewhere) among the lists "
                f"within {100 * res.safety_margin:.1f} points of {_best_p_match(res)}")
    return "Best list (expected utility)" if res.problem.objective == "utility" else "Best list (P of at least one match)"


def _best_p_match(res: Result) -> str:
    """"the best P(match) (92.2%)", or, when step 1 stopped before proving it (a time limit),
    "the best P(match) found (89.1%; not proven the best, ...)" with its proven bound if any."""
    safest = (res.alternatives or {}).get("safest")
    if safest is None or safest[2].value == "optimal":
        return f"the best P(match) ({pct(res.p_match_best)})"
    gap = safest[3]
    bound = ("no bound was proven" if gap is None or gap != gap
             else f"the best possible is at most {pct(min(1.0, res.p_match_best + gap))}")
    return f"the best P(match) found ({pct(res.p_match_best)}; not proven the best: {bound})"


def _trade_lines(res: Result, console: Console) -> None:
    """Safety first: what the list gives up and gains against the safest and the LA-most list."""
    alts = res.alternatives or {}
    mine = [name for name in ("safest", "la_leaning") if name in alts and res.plan is not None
            and _same_list(alts[name][0], res.plan)]
    if mine:  # a list is not set against itself (a time limit can leave all three the same)
        names = {"safest": "the safest list", "la_leaning": "the LA-most list at the same floor"}
        found = "" if all(alts[n][2].value == "optimal" for n in mine) else " (the best found, not proven best)"
        console.print(f"This list is also {' and '.join(names[n] for n in mine)}{found}.")
    same = "safest" in alts and "la_leaning" in alts and _same_list(alts["safest"][0], alts["la_leaning"][0])
    for name, label in (("safest", "the safest list"), ("la_leaning", "the LA-most list at the same floor")):
        if name in alts and name not in mine and not (same and name == "la_leaning"):
            _, alt, status, _ = alts[name]
            proven = "" if status.value == "optimal" else " (the best found, not proven best)"
            also = ", which is also the LA-most list at the same floor" if same else ""
            console.print(alternative_line(label + proven + also, res.metrics, alt))


def _same_list(a, b) -> bool:
    from allocator.optim.problem import Plan

    return Plan.of(a.idx, a.signals, a.divisions) == Plan.of(b.idx, b.signals, b.divisions)


def _tier_rows(t: Table, res: Result) -> None:
    """Counts by tier, the seed guide's ranges when the applicant is one of its cases, and
    where the signals went."""
    m = res.metrics
    t.add_row("by tier", tier_text(m.n_by_tier))
    case = recognize(res.problem.applicant)
    if case is not None:
        t.add_row("", guide_text(case))
    if any(m.signals_by_tier.get(k) for k in m.signals_by_tier):
        t.add_row("signals by tier", signal_text(m.signals_by_tier))


def _cell(r: dict, c: str) -> str:
    if c == "p_match":
        return pct(r[c], 2)
    if c == "p_match_p10":  # the ensemble's range of the program's P(success)
        return f"{pct(r[c], 1)[:-1]}-{pct(r['p_match_p90'], 1)}"
    return "" if _missing(r[c]) else str(r[c])


def render_programs(rows: list[dict], console: Console, *, limit: int | None = None,
                    title: str | None = None, columns=()) -> None:
    """A table of programs, one dict per row (program_id, name, city, state, tier, p_match,
    signal: the keys present are shown, or ``columns`` when there is no row; signal only
    when some row has one)."""
    tab = Table(box=box.SIMPLE_HEAD, title=title)
    cols = [("program_id", "id"), ("name", "program"), ("city", "city"), ("state", "st"), ("tier", "tier"),
            ("p_match", "P(success)"), ("p_match_p10", "10th-90th pct"), ("signal", "signal")]
    keys = rows[0].keys() if rows else columns
    cols = [(c, h) for c, h in cols if c in keys and not (c == "signal" and all(_missing(r[c]) for r in rows))]
    for c, h in cols:  # long names are cut (city and state have their own columns): one line per program
        tab.add_column(h, justify="right" if c.startswith("p_match") else "left",
                       **({"no_wrap": True, "overflow": "ellipsis", "max_width": 30 if c == "name" else 14}
                          if c in ("name", "city") else {}))
    for r in rows if limit is None else rows[:limit]:
        tab.add_row(*[_cell(r, c) for c, _ in cols])
    console.print(tab)
    if limit is not None and len(rows) > limit:
        console.print(f"... and {len(rows) - limit} more (use --json or --out for the full list)")


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)
