"""`allocator batch`: solve a cohort of applicants on Dask (a local cluster by default)."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from allocator.cli.common import CatalogOpt, app, check_draws_seed
from allocator.errors import InputError


@app.command()
def batch(
    cohort: Path = typer.Argument(..., help="a folder of profile .toml files, or one CSV with a row per applicant",
                                  show_default=False),
    out: Path = typer.Option(..., "--out", help="folder for summary.csv, cohort.html and applicants/"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="an existing Dask scheduler, tcp://HOST:PORT "
                                            "(default: a local cluster on 127.0.0.1)"),
    workers: Optional[int] = typer.Option(None, "--workers", help="local worker processes (default: one per core; "
                                          "at most 4 per core)"),
    sweep: Optional[str] = typer.Option(None, "--sweep", help="budget curve LO:HI:STEP in USD (default: 10 budgets "
                                        "from a quarter of each profile's budget to twice it)"),
    catalog: Optional[Path] = CatalogOpt,
    force: bool = typer.Option(False, "--force", help="recompute applicants whose results exist for the same inputs"),
    draws: int = typer.Option(200_000, "--draws", help="Monte Carlo draws for each applicant's check"),
    seed: int = typer.Option(0, "--seed", help="Monte Carlo seed"),
    crowd_share: float = typer.Option(0.5, "--crowd-share", help="flag programs that more than this share of the "
                                      "cohort is sent to (0-1)"),
    retries: int = typer.Option(2, "--retries", help="retries of a task that failed unexpectedly"),
) -> int:
    """Every applicant's optimal list, reports and the cohort view, in parallel on Dask."""
    from allocator.batch.run import Options, check_worker_count, run_batch

    check_worker_count(workers)
    if scheduler is not None and workers is not None:
        raise InputError("--workers sets the local cluster's size; an existing --scheduler has its own workers: "
                         "drop one of them")
    if not 0 <= crowd_share < 1:
        raise InputError(f"--crowd-share {crowd_share}: must be in [0, 1)")
    check_draws_seed(draws, seed)
    if retries < 0:
        raise InputError(f"--retries {retries}: must be >= 0")
    budgets = None
    if sweep is not None:
        from allocator.inputs.ranges import parse_range
        from allocator.studies.sweep import check_values

        vals = parse_range(sweep, name="--sweep", lo_min=0)
        check_values("budget", vals, "--sweep")
        budgets = [float(v) for v in vals]
    opts = Options(out=out, scheduler=scheduler, workers=workers, budgets=budgets, catalog=catalog, force=force,
                   draws=draws, seed=seed, retries=retries, crowd_share=crowd_share)
    from allocator.batch.console import end_lines, progress_line

    err = Console(stderr=True, highlight=False)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("applicants"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[last]}"), console=err, transient=True)
    task = bar.add_task("batch", total=None, last="")

    def progress(done: int, total: int, row: dict) -> None:
        if row:  # one line per finished applicant; in a terminal it is printed above the bar
            err.print(progress_line(done, total, row), markup=False, highlight=False, soft_wrap=True)
        bar.update(task, completed=done, total=total, last=f"{row['id']}: {row['status']}" if row else "")

    with bar if err.is_terminal else contextlib.nullcontext():  # a log or a pipe: lines, no bar
        report = run_batch(cohort, opts, progress=progress)
    for line in end_lines(report, out):
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    sys.stdout.flush()
    return report.exit_code
