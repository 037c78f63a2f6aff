"""`allocator simulate`: score any list with the evaluator and the independent Monte Carlo."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from allocator.errors import InputError
from allocator.cli.common import (CardOpt, CatalogOpt, JsonOpt, OutTextOpt, ProfileArg, _emit, app, check_draws_seed, check_outputs,
                                  text_or_json)


@app.command()
def simulate(
    profile: Path = ProfileArg,
    list_file: Path = typer.Option(..., "--list", help="one program_id per line, a CSV whose header starts with program_id (optional signal, status, date columns; others ignored: the file solve --out X.csv writes), or the JSON of solve --json"),
    catalog: Optional[Path] = CatalogOpt,
    draws: int = typer.Option(200_000, "--draws", help="Monte Carlo draws"),
    seed: int = typer.Option(0, "--seed", help="Monte Carlo seed (same seed, same draws)"),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="latent-factor correlation rho (0-0.99): score the list under the one-factor copula at rho instead of the two-stage model; default: the profile's \\[strategy] correlation when set, else the two-stage model (for a catalog's own p_match: the model card's correlation)"),
    card: Optional[str] = CardOpt,
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutTextOpt,
) -> int:
    """Simulate any list (yours, an adviser's, or solve's) and score it with the evaluator."""
    from allocator.inputs.listfile import load_list  # imported here: `allocator --help` needs no pydantic

    check_draws_seed(draws, seed, least=1)
    check_outputs((out, "--out"), inputs={"the profile": profile, "--catalog": catalog, "--list": list_file})
    text_or_json(out, "simulate")
    lf = load_list(list_file)  # the file alone first: a bad list fails before the model runs
    ids, sig = [r.program_id for r in lf.rows], {r.program_id: r.signal for r in lf.rows if r.signal}
    from allocator.api import load, score, verify, with_screened
    from allocator.optim.evaluate import evaluate
    from allocator.output.report import (SYNTHETIC_NOTE, interval_line, model_name, pct, plan_line, point_line,
                                         published_curve_line, season_label, usd)

    problem = load(profile, catalog, card=card, correlation=correlation)
    try:
        plan, bad, screened = score(problem, ids, signals=sig, divisions=lf.divisions, where=lf.where)
    except InputError as e:
        raise InputError(f"{list_file}: {e}") from None
    m = with_screened(problem, plan, evaluate(problem, plan), screened)  # screened programs: no chance, but fees
    mc = verify(problem, plan, draws=draws, seed=seed)
    payload, pc, figure = _payload(problem, plan, m, mc, bad, sig, lf.divisions)
    _add_screened(payload, screened)

    def render(c):
        from rich.markup import escape

        if problem.synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        lo, hi = mc.ci95
        none = (f"; {len(screened)} of them excluded for this profile, with no chance of a match (warning below)"
                if screened else "")
        c.print(f"{m.n_applications} programs ({m.n_la} in LA), fees {usd(m.cost)}{none}")
        c.print(_scored_line(payload), markup=False)
        c.print(interval_line(m, problem) if m.p_match_interval is not None else point_line(m))
        if m.p_match_worst_season:
            c.print(f"P(match) {season_label(m.p_match_worst_season)}: {pct(m.p_match_worst_season['p_match'])}")
        if pc is not None:
            c.print(published_curve_line(pc, problem.card, problem.specialties, m.p_match_interval))
        if figure is not None:
            c.print(plan_line(figure))
        model = model_name(problem)
        c.print(f"P(match) simulated {pct(mc.p_match, 2)} [{pct(lo, 2)}, {pct(hi, 2)}] over {mc.draws:,} draws; "
                f"exact {pct(m.p_match, 2)} ({model}); if independent {pct(m.p_match_independent)}")
        la_range = _range(m.p_match_la_interval, problem)
        counted = (f"expected interviews {mc.mean_interviews:.1f}" if problem.interviews_modelled else
                   f"expected programs that would match {mc.mean_successes:.1f} (no interview stage: the catalog "
                   "gives p_match only)")
        c.print(f"P(match in LA) {pct(m.p_match_la, 2)}{la_range}; {counted}")
        c.print(f"P(match in the West, LA included) {pct(m.p_match_west, 2)}{_range(m.p_match_west_interval, problem)}")
        for w in payload["warnings"]:
            c.print(f"[bold yellow]warning: {escape(w)}[/]")  # "[strategy]" is text, not markup
        for g, d in bad:
            c.print(f"[yellow]breaks {g}: {d}[/]")
        for note in payload["notes"]:  # the catalog's and the model's, as solve prints them
            c.print(f"note: {note}", markup=False)

    _emit(payload, as_json, out, render)
    return 0


def _add_screened(payload: dict, screened: list[dict]) -> None:
    """The list's programs that a catalog screen excludes for this profile (api.score): their one
    warning first, and ``excluded_programs`` ({"program_id", "reason"} each, in list order)."""
    from allocator.api import screened_warning

    payload["warnings"][:0] = screened_warning(screened)
    payload["excluded_programs"] = [{"program_id": r["program_id"], "reason": r["reason"]} for r in screened]


def _scored_line(payload: dict) -> str:
    """"Scored with 3 gold and 12 silver signals (+2.70 points of P(match)); geographic preference
    Pacific, Mountain (from the list)": what the file was read as."""
    sig = payload.get("signals") or {}
    said = ("Scored with " + " and ".join(f"{n} {k}" for k, n in sig.items() if n) + " signals"
            + (f" ({100 * payload['signal_gain']:+.2f} points of P(match))" if "signal_gain" in payload else "")
            if any(sig.values()) else "Scored without signals")
    geo = payload.get("geographic_preference")
    where = {"list": "from the list", "profile": "from the profile"}.get(payload.get("geographic_preference_source"), "")
    return said + (f"; geographic preference {', '.join(geo)} ({where})" if geo else "; no geographic preference")


def _range(iv, problem) -> str:
    """" (41% to 57%)": a range over the plausible models, where the two-stage model answers."""
    from allocator.output.trade import bracket

    return bracket(iv) if problem.fm is not None else ""


def _payload(problem, plan, m, mc, bad, sig: dict, divisions):
    """The JSON of simulate (the text report prints the same figures), its published-curve
    check and its figure to plan on."""
    from allocator.api import list_warnings
    from allocator.optim.evaluate import uncertainty, west_row
    from allocator.output.result import mc_json
    from allocator.verification import published_curve
    from allocator.verification.planfigure import list_checks, plan_figure
    from allocator.verification.warnorder import unsafe_first

    pc, sc, cc = list_checks(problem, plan, m)  # as solve and the sweep rows take them
    payload = {"p_match": m.p_match, "p_match_independent": m.p_match_independent, "p_match_la": m.p_match_la,
               **uncertainty(m), **west_row(m), "p_match_central": m.p_match_central,
               "p_match_worst_season": m.p_match_worst_season,
               "expected_interviews": m.expected_interviews,
               "expected_interviews_interval": (None if m.expected_interviews_interval is None
                                                else list(m.expected_interviews_interval)),
               "correlation": problem.rho if problem.fm is None else None, "mc": mc_json(mc, problem), "n_applications": m.n_applications, "n_la": m.n_la,
               "la_share": m.la_share, "cost": {"total": m.cost, "by_specialty": m.cost_by_specialty,
                                                "fixed": problem.schedule.fixed_total, "season": problem.schedule.season},
               "violations": [{"group": g, "detail": d} for g, d in bad],
               "p_match_by_correlation": {f"{k:g}": v for k, v in m.by_correlation.items()},
               "warnings": _unstated(problem, sig, divisions) + list_warnings(problem, plan, m, score_check=sc, cap_check=cc),
               "data": {"synthetic": problem.synthetic}, "notes": list(problem.notes)}
    if pc is not None:
        payload["p_match_published_curve"] = list(pc)
        payload["warnings"] += published_curve.below_range_warning(pc, m.p_match_interval)
    payload["warnings"] = unsafe_first(payload["warnings"])  # solve's order: those pointing the unsafe way first
    payload["p_match_score_check"] = sc
    payload["p_match_cap_check"] = cc
    payload["p_match_plan"] = figure = plan_figure(m.p_match_interval, m.p_match_worst_season, pc, sc, cap_check=cc)
    payload |= _as_scored(problem, plan, m)
    return payload, pc, figure


def _as_scored(problem, plan, m) -> dict:
    """What the list was scored with, as solve reports it: its signals by kind, the P(match) they
    add (the same list without them), and the geographic preference read from the file."""
    from allocator.optim.evaluate import evaluate
    from allocator.optim.problem import Plan

    out = {"signals": {k: sum(1 for v in dict(plan.signals).values() if v == k) for k in ("gold", "silver")}
           if plan.signals else {}}
    if plan.signals:
        out["signal_gain"] = m.p_match - evaluate(problem, Plan(plan.idx, (), plan.divisions), correlations=()).p_match
    divisions = list(plan.divisions or problem.fixed_divisions)
    if divisions:
        out["geographic_preference"] = divisions
        out["geographic_preference_source"] = "list" if plan.divisions else "profile"
    return out



def _unstated(problem, signals: dict, divisions) -> list[str]:
    """A list file that names no signals or no geographic preference, where the model has them:
    it is scored as sent without, which may understate it (say so, as update does)."""
    out = []
    if problem.has_signals and not signals:
        out.append("the list gives no signals, so it is scored as sent without any; if you signal programs, add a "
                   "signal column (gold or silver per program), as the CSV that `allocator solve --out` writes has")
    if problem.has_geo and not divisions:
        from allocator.inputs.listfile import no_divisions_warning

        out.append(no_divisions_warning("the list", "name"))
    return out
