"""Command-line interface: parse, call the public API, render, set the exit code.

Exit codes: 0 success (optimal, or feasible with a gap), 2 bad input (one line on stderr),
3 infeasible (the conflicting constraint groups named), 4 solver failure or time limit
with no list.
"""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import AllocatorError, InputError


def _exception_families():
    """Usage-error, abort and exit exceptions of typer's click: typer >= 0.2x vendors its own
    copy (typer._click) and may not install click at all; older typer uses click."""
    mods = []
    try:
        from typer._click import exceptions as vendored

        mods.append(vendored)
    except ImportError:
        pass
    try:
        from click import exceptions as upstream

        mods.append(upstream)
    except ImportError:
        pass
    usage = tuple(m.UsageError for m in mods if hasattr(m, "UsageError"))
    aborts = tuple(m.Abort for m in mods if hasattr(m, "Abort")) + (typer.Abort,)
    exits = tuple(m.Exit for m in mods if hasattr(m, "Exit")) + (typer.Exit,)
    return usage, aborts, exits


_USAGE_ERRORS, _ABORTS, _EXITS = _exception_families()

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Choose which residency programs to apply to (exact, verified by simulation).")

ProfileArg = typer.Argument(..., help="profile TOML ([applicant] and [strategy])", show_default=False)
CatalogOpt = typer.Option(None, "--catalog", help="catalog CSV (default: the shipped synthetic demo catalog)")
JsonOpt = typer.Option(False, "--json", help="print JSON instead of a table")
OutOpt = typer.Option(None, "--out", help="also write the output to FILE (.json, .csv or text); written atomically")


def _console(json_mode: bool) -> Console:
    c = Console(stderr=json_mode, highlight=False)
    return c if c.is_terminal else Console(stderr=json_mode, highlight=False, width=120)


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing (temp file + rename)."""
    from .output import atomic_write

    atomic_write(path, lambda fh: fh.write(text))


def _json(obj) -> str:
    def default(o):
        if hasattr(o, "item"):
            return o.item()
        if hasattr(o, "tolist"):
            return o.tolist()
        return str(o)

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(obj), indent=2, default=default, sort_keys=False) + "\n"


def _positive_time(t: Optional[float]) -> Optional[float]:
    if t is not None and not t > 0:
        raise InputError(f"--time-limit {t}: must be a positive number of seconds")
    return t


@app.command()
def solve(
    profile: Path = ProfileArg,
    catalog: Optional[Path] = CatalogOpt,
    budget: Optional[float] = typer.Option(None, "--budget", help="USD for the list (ERAS fees + extras)"),
    max_apps: Optional[int] = typer.Option(None, "--max-apps", help="most applications"),
    la_share_max: Optional[float] = typer.Option(None, "--la-share-max", help="largest share of LA programs (0-1)"),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="latent-factor correlation rho (0-0.99)"),
    season: Optional[str] = typer.Option(None, "--season", help="ERAS fee schedule: 2024, 2025, 2026"),
    objective: Optional[str] = typer.Option(None, "--objective",
                                            help="p_match, utility, or p_match_la (max P(match in LA) s.t. P(match) >= --target)"),
    min_cost: bool = typer.Option(False, "--min-cost", help="cheapest list reaching --target"),
    target: Optional[float] = typer.Option(None, "--target", help="P(match) target for --min-cost or p_match_la"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds; best list found is returned"),
    method: str = typer.Option("auto", "--method", help="auto, fast (count scan) or milp (integer program)"),
    solver: str = typer.Option("highs", "--solver", help="integer-program engine: highs (default) or cbc"),
    draws: int = typer.Option(200_000, "--draws", help="Monte Carlo draws for the check (0 to skip)"),
    seed: int = typer.Option(0, "--seed", help="Monte Carlo seed"),
    show: Optional[int] = typer.Option(40, "--show", help="programs shown in the table"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutOpt,
) -> int:
    """The list that maximizes P(at least one match) within the budget, counts and LA cap."""
    from .api import solve as api_solve

    if objective is not None and objective not in ("p_match", "utility", "p_match_la"):
        raise InputError(f"--objective {objective!r}: use p_match, utility or p_match_la (with --target)")
    if method not in ("auto", "fast", "milp"):
        raise InputError(f"--method {method!r}: use auto, fast or milp")
    if draws < 0:
        raise InputError(f"--draws {draws}: must be >= 0")
    if solver not in ("highs", "cbc"):
        raise InputError(f"--solver {solver!r}: use highs or cbc")
    res = api_solve(profile, catalog, engine=solver, budget=budget, max_applications=max_apps, la_share_max=la_share_max,
                    correlation=correlation, season=season, objective=objective, min_cost=min_cost, target=target,
                    time_limit=_positive_time(time_limit), draws=draws, seed=seed, method=method)
    _emit(res.to_dict(), as_json, out, lambda c: _render(res, c, show), res.selected_frame())
    return 0


def _render(res, console, show):
    from .report import render_solve

    render_solve(res, console, limit=show)


def _emit(payload: dict, as_json: bool, out: Optional[Path], render, frame=None) -> None:
    text = _json(payload)
    if out is not None:
        suffix = Path(out).suffix.lower()
        if suffix == ".csv" and frame is not None:
            write_atomic(out, frame.to_csv(index=False))
        elif suffix == ".json" or as_json:
            write_atomic(out, text)
        else:
            c = Console(record=True, width=120, file=open(os.devnull, "w"))
            render(c)
            write_atomic(out, c.export_text())
    if as_json:
        sys.stdout.write(text)
    else:
        render(_console(False))


@app.command()
def estimate(
    profile: Path = ProfileArg,
    catalog: Optional[Path] = CatalogOpt,
    show: Optional[int] = typer.Option(40, "--show", help="programs shown in the table"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutOpt,
) -> int:
    """Per-program probabilities from the model card (no optimization)."""
    from .api import resolve_catalog
    from .probability import estimate as est, load_card
    from .profile import load_profile
    from .report import SYNTHETIC_NOTE, render_programs

    prof = load_profile(profile)
    cat = resolve_catalog(prof, catalog)
    if prof.applicant is None:
        raise InputError(f"{profile}: no [applicant] section; add one (Step 2, attempts, USCE...) to estimate")
    card = load_card()
    df = est(cat, prof.applicant, card)
    full = cat.df[["program_id", "name", "specialty", "city", "state", "la_area", "tier"]].merge(
        df, on="program_id", how="left")
    full = full.sort_values(["p_match", "program_id"], ascending=[False, True], kind="mergesort")
    payload = {"model_card": getattr(card, "name", "default"), "correlation": float(card.correlation),
               "synthetic": cat.synthetic, "programs": json.loads(full.to_json(orient="records"))}

    def render(c):
        if cat.synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        elig = full[full["eligible"]]
        c.print(f"{len(full)} programs, {len(elig)} eligible; model card {payload['model_card']}, "
                f"default correlation {payload['correlation']:g}")
        render_programs(elig, c, limit=show, title="eligible programs, most likely first")
        bad = full[~full["eligible"]]
        if len(bad):
            from rich.table import Table

            t = Table(title=f"{len(bad)} excluded")
            t.add_column("id")
            t.add_column("program")
            t.add_column("reason")
            for r in bad.head(show or len(bad)).itertuples():
                t.add_row(r.program_id, r.name, r.excluded_reason)
            c.print(t)

    _emit(payload, as_json, out, render, full)
    return 0


def read_list_file(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """(program ids, signals by id, divisions) from one id per line or solve's JSON."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such list file; give one program_id per line or the JSON of `solve --json`")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text; give one program_id per line (UTF-8) or the JSON of "
                         "`solve --json`") from None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
            sel = doc["selected"]
            ids = [str(r["program_id"]) for r in sel]
            sig = {str(r["program_id"]): r["signal"] for r in sel if r.get("signal")}
            return ids, sig, list(doc.get("geographic_preference", []))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"{p}: not the JSON of `solve --json` ({type(e).__name__}: {e}); "
                             "or give one program_id per line") from None
    ids = [ln.strip().split(",")[0].strip() for ln in text.splitlines()]
    ids = [x for x in ids if x and not x.startswith("#")]
    dup = {x for x in ids if ids.count(x) > 1}
    if dup:
        raise InputError(f"{p}: program {sorted(dup)[0]!r} is listed twice; list each program once")
    return ids, {}, []


@app.command()
def simulate(
    profile: Path = ProfileArg,
    list_file: Path = typer.Option(..., "--list", help="one program_id per line, or the JSON of solve --json"),
    catalog: Optional[Path] = CatalogOpt,
    draws: int = typer.Option(200_000, "--draws", help="Monte Carlo draws"),
    seed: int = typer.Option(0, "--seed"),
    correlation: Optional[float] = typer.Option(None, "--correlation"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutOpt,
) -> int:
    """Simulate any list (yours, an adviser's, or solve's) and score it with the evaluator."""
    from .api import load, score, verify
    from .evaluate import evaluate
    from .report import SYNTHETIC_NOTE, pct, usd

    if draws < 1:
        raise InputError(f"--draws {draws}: must be >= 1")
    problem = load(profile, catalog, correlation=correlation)
    ids, sig, divs = read_list_file(list_file)
    try:
        plan, bad = score(problem, ids, signals=sig, divisions=divs)
    except InputError as e:
        raise InputError(f"{list_file}: {e}") from None
    m = evaluate(problem, plan)
    mc = verify(problem, plan, draws=draws, seed=seed)
    payload = {"p_match": m.p_match, "p_match_independent": m.p_match_independent, "p_match_la": m.p_match_la,
               "correlation": problem.rho, "mc": mc.to_dict(), "n_applications": m.n_applications, "n_la": m.n_la,
               "la_share": m.la_share, "cost": {"total": m.cost, "by_specialty": m.cost_by_specialty},
               "violations": [{"group": g, "detail": d} for g, d in bad],
               "p_match_by_correlation": {f"{k:g}": v for k, v in m.by_correlation.items()},
               "data": {"synthetic": problem.synthetic}}

    def render(c):
        if problem.synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        lo, hi = mc.ci95
        c.print(f"{m.n_applications} programs ({m.n_la} in LA), fees {usd(m.cost)}")
        c.print(f"P(match) simulated {pct(mc.p_match, 2)} [{pct(lo, 2)}, {pct(hi, 2)}] over {mc.draws:,} draws; "
                f"exact {pct(m.p_match, 2)} (correlation {problem.rho:g}); independent {pct(m.p_match_independent, 2)}")
        c.print(f"P(match in LA) {pct(m.p_match_la, 2)}; expected interviews {mc.mean_interviews:.1f}")
        for g, d in bad:
            c.print(f"[yellow]breaks {g}: {d}[/]")

    _emit(payload, as_json, out, render)
    return 0


@app.command()
def bench(
    profile_args: Optional[list[Path]] = typer.Argument(None, help="profile TOMLs (same as --profiles)",
                                                        show_default=False),
    profiles: Optional[list[str]] = typer.Option(None, "--profiles", help="profile TOMLs, repeated or comma-"
                                                 "separated (default: every data/profiles/*.toml with [applicant])"),
    budgets: str = typer.Option("1000,1500,2500,4000", "--budgets", help="LO:HI:STEP or a comma list, USD"),
    catalog: Optional[Path] = CatalogOpt,
    methods: Optional[str] = typer.Option(None, "--methods", help="comma list (default: optimizer and every heuristic)"),
    targets: str = typer.Option("0.8,0.9", "--targets", help="P(match) targets for the budget each method needs; "
                                "'none' to skip"),
    seed: int = typer.Option(0, "--seed", help="seed of the random lists"),
    time_limit: Optional[float] = typer.Option(60.0, "--time-limit", help="seconds per optimizer solve; a "
                                               "min-cost not proven by then is shown as an upper bound (<=)"),
    as_json: bool = JsonOpt,
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the rows to FILE (CSV, atomically)"),
) -> int:
    """The list-quality benchmark: the optimizer against heuristic lists, one evaluator."""
    from . import bench as B
    from .report import SYNTHETIC_NOTE

    grid = B.parse_budgets(budgets)
    paths = [*(profile_args or []), *(Path(x.strip()) for v in (profiles or []) for x in v.split(",") if x.strip())]
    paths = paths or B.default_profiles()
    if not paths:
        raise InputError("no profiles: pass --profiles FILE.toml (data/profiles/ has none with [applicant])")
    ms = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    try:
        tg = [] if targets.strip().lower() in ("", "none") else [float(x) for x in targets.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--targets {targets!r}: a comma list of probabilities such as 0.8,0.9, or none") from None
    if any(not 0 < t < 1 for t in tg):
        raise InputError(f"--targets {targets!r}: each target must be strictly between 0 and 1")
    probs = B.problems(paths, catalog)
    tl = _positive_time(time_limit)
    df = B.bench(dict(probs), grid, methods=ms, seed=seed, time_limit=tl)
    reach = B.budget_to_reach(dict(probs), tg, methods=ms, seed=seed, time_limit=tl) if tg else None
    synthetic = bool(df.attrs.get("synthetic"))
    if csv is not None:
        write_atomic(csv, df.to_csv(index=False))
    payload = {"rows": df.to_dict("records"),
               "budget_to_reach": reach.to_dict("records") if reach is not None else [],
               "data": {"synthetic": synthetic, "note": SYNTHETIC_NOTE if synthetic else ""}}

    def render(c):
        if synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        B.render(df, reach, c)
        c.print("Every list meets the same budget, counts and LA cap; all scored by the one evaluator "
                "(P(match) under the model's correlation). 'needs for' = the fees of the cheapest list "
                "the method builds that reaches the target.")

    _emit(payload, as_json, None, render)
    return 0


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
    season: Optional[str] = typer.Option(None, "--season", help="ERAS fee schedule: 2024, 2025, 2026"),
    method: str = typer.Option("auto", "--method", help="auto, fast (count scan) or milp (CBC)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds per point (MILP path)"),
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the rows to FILE (CSV, atomically)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw FILE.png (P(match), independence, LA, knees)"),
    frontier: Optional[str] = typer.Option(None, "--frontier", help="trace P(match in LA) against P(any match): "
                                           "targets LO:HI:STEP for P(any match), e.g. 0.5:0.95:0.05"),
    as_json: bool = JsonOpt,
) -> int:
    """The optimal list at each budget (or other setting): what each extra $100 buys."""
    from .api import load
    from .sweep import parse_param, parse_range, sweep as run_sweep

    if frontier is not None:
        return _frontier(profile, frontier, catalog, budgets, max_apps, la_share_max, correlation, season, method,
                         csv, plot, as_json, param)
    if method not in ("auto", "fast", "milp"):
        raise InputError(f"--method {method!r}: use auto, fast or milp")
    fixed_budget = None
    if param is not None:
        name, values = parse_param(param)
        if name == "budget":
            if budgets is not None:
                raise InputError("--param budget=... and --budgets both give budgets; keep one")
        elif budgets is not None:
            b = parse_range(budgets, "--budgets")
            if len(b) != 1:
                raise InputError(f"--budgets {budgets!r} with --param {name}: a sweep varies one setting; "
                                 "give --budgets one number (the fixed budget) or drop --param")
            fixed_budget = float(b[0])
    elif budgets is not None:
        name, values = "budget", parse_range(budgets, "--budgets")
    else:
        raise InputError("sweep needs --budgets LO:HI:STEP (e.g. --budgets 500:3000:100) "
                         "or --param NAME=LO:HI:STEP")
    from .sweep import check_values

    check_values(name, values, "--budgets" if name == "budget" else f"--param {name}")
    problem = load(profile, catalog, budget=fixed_budget, max_applications=max_apps, la_share_max=la_share_max,
                   correlation=correlation, season=season)
    progress = None
    if not as_json and len(values) > 10:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn(f"sweeping {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=True)
        task = bar.add_task("sweep", total=len(values))
        progress = lambda done, total: bar.update(task, completed=done)  # noqa: E731
        with bar:
            df = run_sweep(problem, name, values, method=method, progress=progress,
                           time_limit=_positive_time(time_limit))
    else:
        df = run_sweep(problem, name, values, method=method, time_limit=_positive_time(time_limit))
    if csv is not None:
        write_atomic(csv, df.to_csv(index=False))
    if plot is not None:
        from .plot import plot_sweep, save

        save(plot_sweep(df, synthetic=problem.synthetic), plot)
    payload = {"param": name, "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "objective": problem.objective, "correlation": problem.rho,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps,
                               "la_share_max": problem.la_share_max} | {name: None}}
    _emit(payload, as_json, None, lambda c: _render_sweep(df, name, problem, c))
    if df["p_match"].notna().any():
        return 0
    from .errors import InfeasibleError, SolverError

    if (df["status"] == "infeasible").all():
        raise InfeasibleError(f"no {name} in the sweep admits a list (every point infeasible); "
                              "raise the range or relax the other limits (`allocator solve` names the conflict)")
    raise SolverError(f"no point of the sweep returned a list ({', '.join(sorted(set(df['status'])))}); "
                      "raise --time-limit")


def _frontier(profile, spec, catalog, budgets, max_apps, la_share_max, correlation, season, method, csv, plot,
              as_json, param) -> int:
    """`sweep --frontier`: max P(match in LA) subject to P(any match) >= each target."""
    from .api import load
    from .frontier import frontier as run_frontier
    from .sweep import parse_range

    if param is not None:
        raise InputError("--frontier and --param both choose what to sweep; keep one")
    budget = None
    if budgets is not None:
        b = parse_range(budgets, "--budgets")
        if len(b) != 1:
            raise InputError(f"--budgets {budgets!r} with --frontier: give one number (the fixed budget)")
        budget = float(b[0])
    targets = parse_range(spec, "--frontier")
    if any(not 0 < t < 1 for t in targets):
        raise InputError(f"--frontier {spec!r}: targets are probabilities strictly between 0 and 1")
    problem = load(profile, catalog, budget=budget, max_applications=max_apps, la_share_max=la_share_max,
                   correlation=correlation, season=season)
    df = run_frontier(problem, targets, method=method)
    if csv is not None:
        write_atomic(csv, df.to_csv(index=False))
    if plot is not None:
        from .plot import plot_frontier, save

        save(plot_frontier(df, synthetic=problem.synthetic), plot)
    payload = {"param": "frontier", "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "correlation": problem.rho,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps,
                               "la_share_max": problem.la_share_max}}

    def render(console):
        from rich import box
        from rich.table import Table

        from .report import SYNTHETIC_NOTE, pct, usd

        if problem.synthetic:
            console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        t = Table(box=box.SIMPLE, title=f"max P(match in LA) subject to P(any match) >= target "
                                        f"(budget {usd(problem.budget)}, correlation {problem.rho:g})")
        for h in ("target", "status", "P(any match)", "P(match in LA)", "apps (LA)", "fees"):
            t.add_column(h, justify="right")
        for r in df.itertuples(index=False):
            if r.status in ("optimal", "feasible"):
                t.add_row(pct(r.target, 0), r.status, pct(r.p_match, 1), pct(r.p_match_la, 1),
                          f"{int(r.n_applications)} ({int(r.n_la)})", usd(r.cost))
            else:
                t.add_row(pct(r.target, 0), r.status, "-", "-", "-", "-")
        console.print(t)

    _emit(payload, as_json, None, render)
    if df["p_match"].notna().any():
        return 0
    from .errors import InfeasibleError

    raise InfeasibleError(f"no target in --frontier {spec} is reachable; lower the targets or raise the budget")


def _render_sweep(df, name: str, problem, console) -> None:
    from rich import box
    from rich.table import Table

    from .report import SYNTHETIC_NOTE, pct, usd

    if problem.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
    budget = name == "budget"
    t = Table(box=box.SIMPLE, title=f"optimal list at each {name} (correlation {problem.rho:g})")
    t.add_column("budget" if budget else name, justify="right")
    t.add_column("status")
    t.add_column("P(match)", justify="right")
    t.add_column("if indep.", justify="right")
    t.add_column("P(LA)", justify="right")
    t.add_column("apps (LA)", justify="right")
    t.add_column("fees", justify="right")
    if budget:
        t.add_column("gain per +$100", justify="right")
    for r in df.itertuples(index=False):
        v = getattr(r, name)
        ok = r.status in ("optimal", "feasible")
        row = [usd(v) if budget else f"{v:g}", r.status + (" *knee" if r.knee else "")]
        if ok:
            row += [pct(r.p_match, 2), pct(r.p_match_independent, 1), pct(r.p_match_la, 1),
                    f"{r.n_applications} ({r.n_la})", usd(r.cost)]
        else:
            row += ["-"] * 5
        if budget:
            g = r.gain_per_100
            row.append("" if g != g else f"{100 * g:+.2f} pts")
        t.add_row(*row)
    console.print(t)
    if df["knee"].any():
        per = "extra dollar" if budget else f"unit of {name}"
        console.print(f"*knee: the gain per {per} falls by more than half after this point "
                      "(on the upper envelope of the curve).")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line on stderr and the contract's exit code on failure."""
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="allocator")
        code = rv if isinstance(rv, int) else 0
    except AllocatorError as e:
        msg = " ".join(str(e).split("\n"))
        sys.stderr.write(f"allocator: error: {msg}\n")
        code = e.exit_code
    except _USAGE_ERRORS as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # bare `allocator`: typer already printed the help
            pass
        else:
            sys.stderr.write(f"allocator: error: {' '.join(e.format_message().split())}"
                             + (f" (see `{e.ctx.command_path} --help`)" if e.ctx else "") + "\n")
        code = 2
    except _ABORTS:
        sys.stderr.write("allocator: aborted\n")
        code = 130
    except _EXITS as e:
        code = e.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("allocator: interrupted\n")
        code = 130
    except BrokenPipeError:
        code = 0
    except Exception as e:  # a bug: still one line, no traceback, unless asked
        if os.environ.get("ALLOCATOR_DEBUG"):
            raise
        sys.stderr.write(f"allocator: internal error: {type(e).__name__}: {e} "
                         "(set ALLOCATOR_DEBUG=1 for a traceback; please report)\n")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
