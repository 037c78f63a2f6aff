"""`allocator sweep`: budget and parameter sweeps, and the P(match) frontier."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from allocator.inputs.feefiles import season_help
from allocator.errors import InputError
from allocator.cli.common import (CardOpt, CatalogOpt, JsonOpt, ProfileArg, _emit, _positive_time,
                                  app, check_outputs)
from allocator.output.frontier_table import has_ranges, render_frontier


@app.command()
def sweep(
    profile: Path = ProfileArg,
    budgets: Optional[str] = typer.Option(None, "--budgets", help="budgets LO:HI:STEP in USD, inclusive "
                                          "(one number: the fixed budget of a --param sweep)"),
    param: Optional[str] = typer.Option(None, "--param", help="sweep another setting instead: NAME=LO:HI:STEP, "
                                        "NAME one of la_share_max, correlation, max_applications"),
    catalog: Optional[Path] = CatalogOpt,
    max_apps: Optional[int] = typer.Option(None, "--max-apps", help="most applications (fixed)"),
    la_share_max: Optional[float] = typer.Option(None, "--la-share-max", help="largest LA share (fixed)"),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="correlation rho (fixed)"),
    season: Optional[str] = typer.Option(None, "--season", help=season_help()),
    method: str = typer.Option("auto", "--method", help="auto, fast (count scan) or milp (integer program; engine HiGHS)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds per point (MILP path)"),
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the rows to FILE (CSV, atomically)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw FILE.png (P(match) with its range, the "
                                    "figure to plan on, independence, LA, knees; with "
                                    "--frontier: the frontier, the safest and the chosen list)"),
    frontier: Optional[str] = typer.Option(None, "--frontier", metavar="auto|LO:HI:STEP",
                                           help="trace P(match in LA) against P(any match). Bare --frontier (or "
                                           "--frontier auto): over the safety margin, from the safest list down "
                                           "to 15 points below it (see --margins), with the safest and the chosen "
                                           "list marked. --frontier LO:HI:STEP: P(any match) targets instead, "
                                           "e.g. 0.5:0.95:0.05"),
    margins: Optional[str] = typer.Option(None, "--margins", help="safety margins of --frontier auto, LO:HI:STEP "
                                          "(probability: 0:0.1:0.01 = 0 to 10 points below the best P(match))"),
    objective: Optional[str] = typer.Option(None, "--objective", help="what each point maximizes (default: the "
                                            "profile's; a safety_first profile's sweep traces its first step, the "
                                            "best P(match)): p_match, utility, p_match_la (with --target), or any "
                                            "objective `allocator solve` knows (safety_first given here or with "
                                            "--safety-margin: the whole safety-first answer at each point, one full "
                                            "solve each); for --frontier, the chosen list"),
    target: Optional[float] = typer.Option(None, "--target", help="P(match) floor of --objective p_match_la"),
    safety_margin: Optional[float] = typer.Option(None, "--safety-margin",
                                                  help="the profile's safety_margin; each point is then the whole "
                                                       "safety-first answer (objective safety_first)"),
    card: Optional[str] = CardOpt,
    as_json: bool = JsonOpt,
) -> int:
    """The optimal list at each budget (or other setting): what each extra $100 buys; or, with \
--frontier, what each point of P(any match) given up buys in P(match in Greater LA)."""
    from allocator.api import load
    from allocator.studies.sweep import check_values, sweep as run_sweep

    check_outputs((csv, "--csv"), (plot, "--plot"), inputs={"the profile": profile, "--catalog": catalog})
    if plot is not None:
        _check_plot(plot)  # before any solve: a missing matplotlib must not cost the whole sweep
    if method not in ("auto", "fast", "milp"):
        raise InputError(f"--method {method!r}: use auto, fast or milp")
    strategy, target = _strategy(profile, objective, target, safety_margin)
    limits = dict(max_applications=max_apps, la_share_max=la_share_max, correlation=correlation, season=season)
    tl = _positive_time(time_limit)
    if frontier is not None:
        return _frontier(profile, frontier, margins, catalog, card, budgets, param, limits, strategy, target,
                         method, tl, csv, plot, as_json)
    if margins is not None:
        raise InputError("--margins sets the points of --frontier auto; add --frontier or drop --margins")
    name, values, fixed_budget = _swept(budgets, param)
    check_values(name, values, "--budgets" if name == "budget" else f"--param {name}")
    problem = load(profile, catalog, card=card, budget=fixed_budget, **limits, **strategy)
    if name != "la_share_max":  # no program left, or all in LA under a fixed cap: refused as solve refuses them
        from allocator.api import admits_a_program

        admits_a_program(problem, budget_applies=False)
    # an explicit --objective safety_first or --safety-margin: the whole safety-first answer at each
    # point (one full solve each); otherwise a safety-first profile's sweep traces its first step
    mode = "safety_first" if objective == "safety_first" or safety_margin is not None else None
    kw = dict(method=method, time_limit=tl, target=target, mode=mode, solve=_api_solver(target, method, tl))
    if not as_json and len(values) > 10:
        with _progress_bar(name, len(values)) as progress:
            df = run_sweep(problem, name, values, progress=progress, **kw)
    else:
        df = run_sweep(problem, name, values, **kw)
    from allocator.output.plot import plot_sweep

    if df["p_match"].notna().any():  # a failed sweep (exit 3 or 4) leaves the --csv/--plot files as they were
        _write_outputs(df, csv, plot, lambda: plot_sweep(df, synthetic=problem.synthetic, copula=problem.fm is None))
    return _report_sweep(df, name, problem, target, as_json, mode)


def _conflict_at_top(df, name: str, problem, target: Optional[float], mode: Optional[str] = None):
    """Every point infeasible: the conflicting limits at the sweep's most generous point (the
    largest value, or the smallest for a correlation), named as `allocator solve` names them."""
    from allocator.api import MODES, _infeasible
    from allocator.errors import InfeasibleError
    from allocator.studies.sweep import at, sweep_mode

    from allocator.api import admits_a_program, synthetic_suffix
    from allocator.errors import InputError

    top = df[name].min() if name == "correlation" else df[name].max()
    mode = mode or sweep_mode(problem.objective)
    shown = f"${top:,.0f}" if name == "budget" else f"{top:g}"
    try:  # only the empty list fits (nothing affordable, nothing left): say why, as solve does
        admits_a_program(at(problem, name, top), advice="raise --budgets")
    except InputError as e:
        return InfeasibleError(f"no {name} in the sweep admits a list (every point infeasible); at {name} {shown}: "
                               f"{e}{synthetic_suffix(problem)}", (), synthetic=bool(problem.synthetic))
    err = _infeasible(at(problem, name, top), MODES.get(mode, mode), target)
    why = str(err).removeprefix("infeasible: ")
    return InfeasibleError(f"no {name} in the sweep admits a list (every point infeasible); at {name} {shown}: {why}",
                           err.groups, synthetic=err.synthetic)


COPULA_NOTE = ("the one-factor copula's P(match) at that correlation lies outside the range the calibrated "
               "two-stage model gives the same list; the published figures do not support that correlation: "
               "plan on the range")


LA_CAP_NOTE = ("each point is the best P(match) list, which takes LA programs only where they raise P(match), so "
               "the LA cap seldom changes it; to see LA change with la_share_max, add --objective p_match_la "
               "--target P (the best P(match in LA) with P(match) >= P) or --safety-margin M (the whole "
               "safety-first answer at each point)")


def _la_cap_blind(name: str, objective: str) -> bool:
    """A la_share_max sweep whose rows maximize P(match) alone: nothing in them prefers LA."""
    return name == "la_share_max" and objective == "p_match"


def _off_range(df, name: str = "correlation") -> list[float]:
    """The values of ``name`` (correlations, or budgets at a set correlation) whose copula
    P(match) falls outside the two-stage range of the same list."""
    if "p_match_interval" not in df:
        return []
    return [float(getattr(r, name)) for r in df.itertuples(index=False) if r.p_match == r.p_match
            and isinstance(r.p_match_interval, (list, tuple))  # None, or NaN in a column with no range at all
            and not r.p_match_interval[0] <= r.p_match <= r.p_match_interval[1]]


def _value(name: str, v: float) -> str:
    """A swept value as the table shows it: "$1,000" for a budget, else "0.35"."""
    from allocator.output.report import usd

    return usd(v) if name == "budget" else f"{v:g}"


def _below_target(df, label, target_of) -> list[str]:
    """Rows whose list reaches its target (``target_of(row)``) on the figure the optimizer kept
    but whose 10th percentile or figure to plan on lies below it (`allocator solve`'s
    domain.target_warning and domain.plan_target_warning), each as "label (plan on 71%)"."""
    from allocator.output.report import pct, plan_pct
    from allocator.verification import domain

    hit = []
    for r in df.itertuples(index=False):
        target = target_of(r)
        if target is None or target != target or r.p_match != r.p_match \
                or not isinstance(r.p_match_interval, (list, tuple)):
            continue
        plan = None if r.p_match_plan != r.p_match_plan else {"p_match": r.p_match_plan, "from": r.p_match_plan_from}
        if (domain.target_warning(r.p_match, r.p_match_interval, r.p_match_pessimistic, target)
                or domain.plan_target_warning(plan, r.p_match_interval, target)):
            shown = f"plan on {plan_pct(plan['p_match'])}" if plan else f"10th percentile {pct(r.p_match_interval[0])}"
            hit.append(f"{label(r)} ({shown})")
    return hit


def _target_rows_warning(df, name: str, problem, target: Optional[float], objective: str) -> list[str]:
    """Objective p_match_la: each row keeps P(match) >= target on the average (or the copula's
    figure), as `allocator solve` does; where a row's figure to plan on lies below the target,
    solve's warnings would speak for that list.  One warning for the sweep, naming those rows
    with their figure to plan on."""
    from allocator.verification import domain

    if target is None or objective not in ("p_match_la", "la_given_target"):
        return []
    hit = _below_target(df, lambda r: _value(name, getattr(r, name)), lambda r: target)
    if not hit:
        return []
    what = ("the one-factor copula at each correlation" if name == "correlation"
            else domain.figure_source(problem))
    at = f"at {name} " if name != "budget" else "at "
    return [f"the {100 * target:g}% target is reached under {what}, but the figure to plan on is below it "
            f"{at}{', '.join(hit)}: plan on those figures, and raise --target if you need {100 * target:g}% "
            "on them"]


def _frontier_target_warning(df, problem) -> list[str]:
    """`sweep --frontier LO:HI:STEP`: each point keeps P(match) >= its target on the average (or
    the copula's figure); the points whose figure to plan on lies below their target, named."""
    from allocator.verification import domain

    if "target" not in df:
        return []
    hit = _below_target(df, lambda r: f"{100 * r.target:g}%", lambda r: r.target)
    if not hit:
        return []
    return [f"each point reaches its P(match) target under {domain.figure_source(problem)}, but the figure to plan on "
            f"is below the target at {', '.join(hit)}: plan on those figures, and read a point's target as met "
            "only where its figure to plan on reaches it"]


def _report_sweep(df, name: str, problem, target: Optional[float], as_json: bool, mode: Optional[str] = None) -> int:
    """Print the table or the JSON; the exit code (3 when every point is infeasible)."""
    from allocator.studies.sweep import sweep_mode

    payload = {"param": name, "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "objective": mode or sweep_mode(problem.objective),
               "correlation": problem.rho if problem.fm is None else None, "target": target,
               "safety_margin": getattr(problem, "safety_margin", None) if mode == "safety_first" else None,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps_given,
                               "la_share_max": problem.la_share_max} | {name: None}}
    from allocator.api import problem_warnings

    off = _off_range(df, name) if name == "correlation" or problem.fm is None else []
    inputs = problem_warnings(problem, budget_applies=name != "budget") + _no_range(df, problem)
    inputs += _target_rows_warning(df, name, problem, target, payload["objective"])
    payload["warnings"] = inputs + ([f"{name} {', '.join(_value(name, c) for c in off)}: {COPULA_NOTE}"] if off else [])
    payload["notes"] = (list(problem.notes) + ([LA_CAP_NOTE] if _la_cap_blind(name, payload["objective"]) else [])
                        + _count_cap_note(df, name, problem))  # the catalog's notes first, as solve prints them

    def render(c):
        _render_sweep(df, name, problem, c, target, mode)
        for w in inputs:  # the copula's warning is the table's dagger note
            c.print(f"warning: {w}", markup=False)
        for note in payload["notes"]:
            c.print(f"note: {note}", markup=False)

    _emit(payload, as_json, None, render)
    if df["p_match"].notna().any():
        return 0
    from allocator.errors import InfeasibleError, SolverError

    if (df["status"] == "infeasible").all():
        raise _conflict_at_top(df, name, problem, target, mode)
    raise SolverError(f"no point of the sweep returned a list ({', '.join(sorted(set(df['status'])))}); "
                      "raise --time-limit")


def _swept(budgets: Optional[str], param: Optional[str]):
    """(name, values, the fixed budget of a --param sweep or None) from --budgets / --param."""
    from allocator.inputs.ranges import parse_range
    from allocator.studies.sweep import parse_param

    if param is not None:
        name, values = parse_param(param)
        if name == "budget":
            if budgets is not None:
                raise InputError("--param budget=... and --budgets both give budgets; keep one")
            return name, values, None
        if budgets is None:
            return name, values, None
        b = parse_range(budgets, name="--budgets", lo_min=0)
        if len(b) != 1:
            raise InputError(f"--budgets {budgets!r} with --param {name}: a sweep varies one setting; "
                             "give --budgets one number (the fixed budget) or drop --param")
        return name, values, float(b[0])
    if budgets is not None:
        return "budget", parse_range(budgets, name="--budgets", lo_min=0), None
    raise InputError("sweep needs --budgets LO:HI:STEP (e.g. --budgets 500:3000:100), --param NAME=LO:HI:STEP "
                     "or --frontier")


def _strategy(profile: Path, objective: Optional[str], target: Optional[float], safety_margin: Optional[float]):
    """The [strategy] overrides of --objective, --target, --safety-margin (checked by the
    profile's own rules, so every objective the solver knows is accepted) and the P(match)
    floor of objective p_match_la (--target, else the profile's target_p_match)."""
    from allocator.inputs.profile import load_profile

    if target is not None and not 0 < target < 1:
        raise InputError(f"--target {target:g}: must be strictly between 0 and 1")
    over = {k: v for k, v in (("objective", objective), ("target_p_match", target),
                              ("safety_margin", safety_margin)) if v is not None}
    strat = load_profile(profile).with_overrides(**over).strategy
    if target is not None and strat.objective != "p_match_la":
        raise InputError(f"--target {target:g} is the floor of objective p_match_la; add --objective p_match_la "
                         "or drop --target")
    if safety_margin is not None and strat.objective != "safety_first":
        raise InputError(f"--safety-margin {safety_margin:g} goes with objective safety_first; add "
                         "--objective safety_first or drop --safety-margin")
    floor = strat.target_p_match if strat.objective == "p_match_la" else None
    if strat.objective == "p_match_la" and floor is None:
        raise InputError("objective p_match_la needs a target: pass --target P (0 < P < 1) or set [strategy] "
                         "target_p_match")
    return over, floor


def _api_solver(target: Optional[float], method: str, time_limit: Optional[float]):
    """One point of an objective the sweep has no path of its own for: the public API's
    answer for the point's problem (its objective, e.g. p_match_la or safety_first)."""
    from allocator.api import optimize
    from allocator.optim.safety import la_leaning_at

    def solve(pr):
        if pr.objective == "p_match_la" and target is not None:  # each point bounded, as the frontier's are
            return la_leaning_at(pr, target, time_limit=time_limit, method=method, proof_seconds=3.0)
        return optimize(pr, target=target, method=method, time_limit=time_limit)

    return solve


@contextmanager
def _progress_bar(name: str, total: int, enabled: bool = True):
    """A transient rich progress bar on stderr; yields the sweep's ``progress(done, total)``."""
    err = Console(stderr=True)
    if not enabled or not err.is_terminal:  # not a terminal (a log, a pipe): no bar, not even its newline
        yield lambda done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"sweeping {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True)
    task = bar.add_task("sweep", total=total)
    with bar:
        yield lambda done, _total: bar.update(task, completed=done)


FRONTIER_WORDS = ("auto", "margin")  # --frontier VALUE: the safety-margin frontier


def bare_frontier(argv: list[str]) -> list[str]:
    """``sweep ... --frontier`` with no value means ``--frontier auto``: typer has no
    optional-value options, so a ``--frontier`` that is last, or followed by an option or by
    anything that is not a value (a range, a number or a word of :data:`FRONTIER_WORDS`;
    e.g. the profile path) gets ``auto`` inserted.  Only the sweep command is touched."""
    argv = list(argv)
    if "sweep" not in argv or "--frontier" not in argv:
        return argv
    out = []
    for k, tok in enumerate(argv):
        out.append(tok)
        if tok == "--frontier" and (k + 1 == len(argv) or not _frontier_value(argv[k + 1])):
            out.append("auto")
    return out


def _frontier_value(tok: str) -> bool:
    t = tok.strip().lower()
    if t in FRONTIER_WORDS or (":" in t and not t.startswith("-")) or (":" in t and t[1:2] in tuple("0123456789.")):
        return True
    try:
        float(t)
        return True
    except ValueError:
        return False


def _frontier(profile, spec, margins, catalog, card, budgets, param, limits, strategy, target, method, tl,
              csv, plot, as_json) -> int:
    """`sweep --frontier`: max P(match in LA) subject to P(any match) >= each floor."""
    from allocator.api import load
    from allocator.inputs.ranges import parse_range
    from allocator.studies import frontier as fr

    if param is not None:
        raise InputError("--frontier and --param both choose what to sweep; keep one")
    budget = None
    if budgets is not None:
        b = parse_range(budgets, name="--budgets", lo_min=0)
        if len(b) != 1:
            raise InputError(f"--budgets {budgets!r} with --frontier: give one number (the fixed budget)")
        budget = float(b[0])
    auto = spec.strip().lower() in FRONTIER_WORDS
    if auto:
        ms = fr.MARGINS if margins is None else parse_range(margins, name="--margins")
        if any(not 0 <= m < 1 for m in ms):
            raise InputError(f"--margins {margins!r}: margins are probabilities from 0 up to (not including) 1")
    else:
        if margins is not None:
            raise InputError("--margins sets the points of --frontier auto, not of --frontier LO:HI:STEP; keep one")
        targets = parse_range(spec, name="--frontier")
        if any(not 0 < t < 1 for t in targets):
            raise InputError(f"--frontier {spec!r}: targets are probabilities strictly between 0 and 1 "
                             "(or write --frontier auto)")
    problem = load(profile, catalog, card=card, budget=budget, **limits, **strategy)
    from allocator.api import admits_a_program

    admits_a_program(problem, advice="raise the budget (--budgets, one number) or [strategy] budget")
    total = len(ms) + 2 if auto else len(targets)
    with _progress_bar("frontier", total, enabled=not as_json) as progress:
        tick = (lambda done: progress(done, total))
        if auto:
            chosen = None if problem.objective == "p_match" else _api_solver(target, method, tl)
            df = fr.margin_frontier(problem, ms, method=method, chosen=chosen, progress=tick, time_limit=tl)
        else:
            df = fr.frontier(problem, targets, method=method, progress=tick, time_limit=tl)
    from allocator.output.plot import plot_frontier

    if df["p_match"].notna().any():  # a failed frontier (exit 3) leaves the --csv/--plot files as they were
        _write_outputs(df, csv, plot, lambda: plot_frontier(df, synthetic=problem.synthetic,
                                                            la_share_max=problem.la_share_max))
    payload = {"param": "frontier", "mode": "margin" if auto else "target",
               "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "objective": problem.objective, "correlation": problem.rho if problem.fm is None else None,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps_given,
                               "la_share_max": problem.la_share_max}}
    from allocator.api import problem_warnings

    payload["warnings"] = (problem_warnings(problem) + _no_range(df, problem)
                           + ([] if auto else _frontier_target_warning(df, problem)))  # margins: floors, not targets
    from allocator.optim.assemble import NO_LA_NOTE

    payload["notes"] = [n for n in problem.notes if not n.startswith(NO_LA_NOTE)]  # the table says that one

    def render(c):
        render_frontier(df, problem, c, auto)
        for w in payload["warnings"]:
            c.print(f"warning: {w}", markup=False)
        for note in payload["notes"]:
            c.print(f"note: {note}", markup=False)

    _emit(payload, as_json, None, render)
    if df["p_match"].notna().any():
        return 0
    from allocator.api import synthetic_suffix
    from allocator.errors import InfeasibleError

    raise InfeasibleError((f"no target in --frontier {spec} is reachable{_best_within(problem, df.attrs.get('p_match_best'))}; lower the targets "
                           "(or write a bare --frontier: margins below the best)"
                           if not auto else "no list meets the limits; `allocator solve` names the conflict")
                          + synthetic_suffix(problem), synthetic=bool(problem.synthetic))


def _count_cap_note(df, name: str, problem) -> list[str]:
    """A budget sweep whose every list is at max_applications: the count, not the money, holds
    them (flat rows read as "more money does not help")."""
    ok = df[df["p_match"].notna()] if "n_applications" in df else df.iloc[0:0]
    if name != "budget" or not len(ok) or problem.max_apps >= problem.n:
        return []
    if not (ok["n_applications"] >= problem.max_apps).all():
        return []
    return [f"every list here is at max_applications={problem.max_apps}: the count cap, not the budget, holds them; "
            "raise max_applications (--max-apps) to see what more money buys"]


def _no_range(df, problem) -> list[str]:
    """Why the rows carry no range over plausible models (one card, or the catalog's own p_match)."""
    if has_ranges(df) or not df["p_match"].notna().any():
        return []
    from allocator.verification.domain import no_range_warning

    return no_range_warning(problem, None)


def _best_within(problem, best: float | None) -> str:
    """": the best P(any match) within your limits is 42.7%": the frontier's own proven best, else
    one more solve, on the way out."""
    from allocator.optim.pipeline import optimize
    from allocator.output.report import pct

    if best is None:
        out = optimize(problem, "p_match")
        best = out.objective if out.status.has_list else None
    return "" if best is None else f": the best P(any match) within your limits is {pct(best)}"


def _what_each_point_is(problem, target: Optional[float], mode: Optional[str] = None) -> str:
    """The sweep's objective in words, for its title (a safety-first profile's sweep traces the
    best-P(match) lists, its first step, so the title says so)."""
    from allocator.studies.sweep import sweep_mode

    mode = mode or sweep_mode(problem.objective)
    if mode == "safety_first":
        return (f"safety-first list (best expected tier utility within {100 * problem.safety_margin:g} points of "
                "the best P(match))")
    if mode == "p_match_la":
        return f"best P(match in LA) with P(match) >= {target:g}" if target is not None else "best P(match in LA)"
    if mode == "utility":
        return "best expected tier utility"
    first = " (the safety-first answer's first step)" if problem.objective == "safety_first" else ""
    return f"best P(match) list{first}"


def _render_sweep(df, name: str, problem, console, target: Optional[float] = None,
                  mode: Optional[str] = None) -> None:
    from rich import box
    from rich.table import Table

    from allocator.output.report import SYNTHETIC_NOTE, model_name, pct, plan_cell, span, usd

    if problem.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
    budget = name == "budget"
    model = "one-factor copula at each correlation" if name == "correlation" else model_name(problem)
    what = "optimal list" if name == "correlation" else _what_each_point_is(problem, target, mode)
    t = Table(box=box.SIMPLE, title=f"{what} at each {name} ({model})")
    t.add_column("budget" if budget else name, justify="right")
    t.add_column("status")
    ranged = has_ranges(df)
    copula = name == "correlation" or problem.fm is None  # P(match) the copula's, the range the two-stage model's
    t.add_column("P(match)", justify="right")
    if ranged:  # under the copula, the range is the calibrated two-stage model's for the same list
        t.add_column("two-stage 10th-90th" if copula else "10th-90th pct", justify="right")
        t.add_column("plan on", justify="right")
    t.add_column("if indep.", justify="right")
    t.add_column("P(LA)", justify="right")
    la_ranged = ranged and "p_match_la_interval" in df and problem.objective == "p_match_la"  # the objective's range
    if la_ranged:
        t.add_column("P(LA) 10th-90th", justify="right")
    t.add_column("apps (LA)", justify="right")
    t.add_column("fees", justify="right")
    on_plan = _on_plan(df)
    if budget:
        t.add_column("plan on: gain per +$100" if on_plan else "gain per +$100", justify="right")
    for r in df.itertuples(index=False):
        v = getattr(r, name)
        ok = r.status in ("optimal", "feasible")
        row = [usd(v) if budget else f"{v:g}", r.status + (" *knee" if r.knee else "")]
        if ok:
            iv = r.p_match_interval if ranged and isinstance(r.p_match_interval, (list, tuple)) else None
            off = copula and iv is not None and not iv[0] <= r.p_match <= iv[1]
            row += [pct(r.p_match, 2) + ("^" if r.outside_domain else "") + ("†" if off else "")]
            row += [span(iv), plan_cell(r.p_match_plan)] if ranged else []
            row += [pct(r.p_match_independent, 1), pct(r.p_match_la, 1)]
            row += [span(r.p_match_la_interval)] if la_ranged else []
            row += [f"{r.n_applications} ({r.n_la})", usd(r.cost)]
        else:
            row += ["-"] * (5 + 2 * ranged + la_ranged)
        if budget:
            row.append(points(r.gain_per_100_plan if on_plan else r.gain_per_100))
        t.add_row(*row)
    console.print(t)
    for line in _sweep_notes(df, name, problem, ranged):
        console.print(line, markup=False)


def points(gain: float) -> str:
    """A gain per $100 in points, "+1.38 pts"; a gain that rounds to zero is "+0.00 pts" (never
    "-0.00"); "" for none."""
    if gain != gain:
        return ""
    v = round(100 * gain, 2)
    return f"{v + 0.0 if v else 0.0:+.2f} pts"


def _sweep_notes(df, name: str, problem, ranged: bool) -> list[str]:
    """The lines under the sweep table: unproven points, the calibrated domain, the figure to plan
    on, the copula, what the gain column and the knees are on."""
    from allocator.verification.domain import domain_note

    from allocator.output.report import plan_column_note

    out = []
    unproven = df[df["status"] == "feasible"]
    gaps = unproven["gap"].dropna() if "gap" in df else unproven.iloc[:0]
    if len(unproven):  # a point stopped by the time limit may have no proven gap at all
        bound = (f"no list at that {name} is better by more than {gaps.max():.1e} in what the sweep maximizes "
                 "(column gap in --json)") if len(gaps) == len(unproven) else "no gap was proven for some of them"
        out.append(f"feasible: the best list found, not proven best: {bound}")
    if (df["outside_domain"] != "").any():
        out.append(domain_note(problem.card))
    if ranged:
        out.append(plan_column_note(df["p_match_plan_from"], problem.card))
    if (name == "correlation" or problem.fm is None) and _off_range(df, name):
        out.append(f"† {COPULA_NOTE}")
    return out + _curve_notes(df, name)


def _on_plan(df) -> bool:
    """Whether the sweep found its knees, and reads its gain, on the figure to plan on (column
    knee_on, :func:`allocator.studies.sweep.curve_on`)."""
    return "knee_on" in df and bool(df["knee_on"].eq("p_match_plan").any())


def _curve_notes(df, name: str) -> list[str]:
    """What the gain column and the knees are on: the figure to plan on wherever the rows have it
    (column knee_on), else P(match)."""
    budget = name == "budget"
    on_plan = _on_plan(df)
    out = []
    if budget and on_plan and df["gain_per_100_plan"].notna().any():
        out.append("plan on: gain per +$100: the figure to plan on gained per extra $100 against the previous row, "
                   "in percentage points (column gain_per_100_plan in --json and --csv; the P(match) column's own "
                   "gain is gain_per_100)")
    if df["knee"].any():
        per = "extra dollar" if budget else f"unit of {name}"
        on = "the figure to plan on" if on_plan else "P(match)"
        out.append(f"*knee: the gain per {per} on {on} falls by more than half after this point "
                   "(on the upper envelope of its curve): where "
                   + ("extra dollars start buying less, not a recommended budget." if budget
                      else "further increases start buying less, not a recommended value."))
    return out


def _check_plot(plot: Path) -> None:
    """--plot needs matplotlib and a known image type: checked before the sweep runs."""
    if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{plot}: unknown image type {Path(plot).suffix or '(none)'}; use .png, .svg or .pdf")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install -e '.[plot]' in the allocator checkout (or drop --plot)") from None


def _write_outputs(df, csv: Optional[Path], plot: Optional[Path], figure) -> None:
    """--csv and --plot together, all or none (every temp file written before any rename)."""
    from allocator.output.files import atomic_write_many

    items = []
    if csv is not None:
        text = df.to_csv(index=False)
        items.append((csv, lambda fh: fh.write(text), False, "--csv"))
    if plot is not None:
        fig = figure()
        fig = getattr(fig, "figure", None) or fig  # an Axes -> its Figure
        fmt = Path(plot).suffix.lower().lstrip(".")
        from allocator.output.plot import savefig_fixed

        items.append((plot, lambda fh: savefig_fixed(fig, fh, fmt), True, "--plot"))
    if items:
        atomic_write_many(items)


