"""`allocator sweep`: budget and parameter sweeps, and the P(match) frontier."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from allocator.errors import InputError
from allocator.cli.common import (CardOpt, CatalogOpt, JsonOpt, ProfileArg, _emit, _positive_time,
                                  app, check_outputs)


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
    method: str = typer.Option("auto", "--method", help="auto, fast (count scan) or milp (integer program; engine HiGHS)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds per point (MILP path)"),
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the rows to FILE (CSV, atomically)"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="also draw FILE.png (P(match), independence, LA, knees)"),
    frontier: Optional[str] = typer.Option(None, "--frontier", help="trace P(match in LA) against P(any match): "
                                           "targets LO:HI:STEP for P(any match), e.g. 0.5:0.95:0.05"),
    card: Optional[str] = CardOpt,
    as_json: bool = JsonOpt,
) -> int:
    """The optimal list at each budget (or other setting): what each extra $100 buys."""
    from allocator.api import load
    from allocator.inputs.ranges import parse_range
    from allocator.studies.sweep import parse_param, sweep as run_sweep

    check_outputs((csv, "--csv"), (plot, "--plot"))
    if plot is not None:
        _check_plot(plot)
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
            b = parse_range(budgets, name="--budgets", lo_min=0)
            if len(b) != 1:
                raise InputError(f"--budgets {budgets!r} with --param {name}: a sweep varies one setting; "
                                 "give --budgets one number (the fixed budget) or drop --param")
            fixed_budget = float(b[0])
    elif budgets is not None:
        name, values = "budget", parse_range(budgets, name="--budgets", lo_min=0)
    else:
        raise InputError("sweep needs --budgets LO:HI:STEP (e.g. --budgets 500:3000:100) "
                         "or --param NAME=LO:HI:STEP")
    from allocator.studies.sweep import check_values, sweep_mode

    check_values(name, values, "--budgets" if name == "budget" else f"--param {name}")
    problem = load(profile, catalog, card=card, budget=fixed_budget, max_applications=max_apps, la_share_max=la_share_max,
                   correlation=correlation, season=season)
    if not as_json and len(values) > 10:
        with _progress_bar(name, len(values)) as progress:
            df = run_sweep(problem, name, values, method=method, progress=progress,
                           time_limit=_positive_time(time_limit))
    else:
        df = run_sweep(problem, name, values, method=method, time_limit=_positive_time(time_limit))
    from allocator.output.plot import plot_sweep

    _write_outputs(df, csv, plot, lambda: plot_sweep(df, synthetic=problem.synthetic))
    payload = {"param": name, "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "objective": sweep_mode(problem.objective), "correlation": problem.rho,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps,
                               "la_share_max": problem.la_share_max} | {name: None}}
    _emit(payload, as_json, None, lambda c: _render_sweep(df, name, problem, c))
    if df["p_match"].notna().any():
        return 0
    from allocator.errors import InfeasibleError, SolverError

    if (df["status"] == "infeasible").all():
        raise InfeasibleError(f"no {name} in the sweep admits a list (every point infeasible); "
                              "raise the range or relax the other limits (`allocator solve` names the conflict)")
    raise SolverError(f"no point of the sweep returned a list ({', '.join(sorted(set(df['status'])))}); "
                      "raise --time-limit")


@contextmanager
def _progress_bar(name: str, total: int):
    """A transient rich progress bar on stderr; yields the sweep's ``progress(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(f"sweeping {name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("sweep", total=total)
    with bar:
        yield lambda done, _total: bar.update(task, completed=done)


def _frontier(profile, spec, catalog, budgets, max_apps, la_share_max, correlation, season, method, csv, plot,
              as_json, param) -> int:
    """`sweep --frontier`: max P(match in LA) subject to P(any match) >= each target."""
    from allocator.api import load
    from allocator.studies.frontier import frontier as run_frontier
    from allocator.inputs.ranges import parse_range

    if param is not None:
        raise InputError("--frontier and --param both choose what to sweep; keep one")
    budget = None
    if budgets is not None:
        b = parse_range(budgets, name="--budgets", lo_min=0)
        if len(b) != 1:
            raise InputError(f"--budgets {budgets!r} with --frontier: give one number (the fixed budget)")
        budget = float(b[0])
    targets = parse_range(spec, name="--frontier")
    if any(not 0 < t < 1 for t in targets):
        raise InputError(f"--frontier {spec!r}: targets are probabilities strictly between 0 and 1")
    problem = load(profile, catalog, budget=budget, max_applications=max_apps, la_share_max=la_share_max,
                   correlation=correlation, season=season)
    df = run_frontier(problem, targets, method=method)
    from allocator.output.plot import plot_frontier

    _write_outputs(df, csv, plot, lambda: plot_frontier(df, synthetic=problem.synthetic))
    payload = {"param": "frontier", "rows": json.loads(df.to_json(orient="records")), "synthetic": problem.synthetic,
               "correlation": problem.rho,
               "constraints": {"budget": problem.budget, "max_applications": problem.max_apps,
                               "la_share_max": problem.la_share_max}}

    def render(console):
        from rich import box
        from rich.table import Table

        from allocator.output.report import SYNTHETIC_NOTE, pct, usd

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
    from allocator.errors import InfeasibleError

    raise InfeasibleError(f"no target in --frontier {spec} is reachable; lower the targets or raise the budget")


def _render_sweep(df, name: str, problem, console) -> None:
    from rich import box
    from rich.table import Table

    from allocator.output.report import SYNTHETIC_NOTE, pct, usd

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


def _check_plot(plot: Path) -> None:
    """--plot needs matplotlib and a known image type: checked before the sweep runs."""
    if Path(plot).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{plot}: unknown image type {Path(plot).suffix or '(none)'}; use .png, .svg or .pdf")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'allocator[plot]' (or drop --plot)") from None


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
        items.append((plot, lambda fh: fig.savefig(fh, format=fmt, dpi=150), True, "--plot"))
    if items:
        atomic_write_many(items)
