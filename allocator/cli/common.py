"""What every command shares: the typer app, the common options, JSON and file output."""
from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from allocator.errors import InputError


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
                  help="Choose which residency programs to apply to: the exact best list under a model "
                       "checked against published figures, with its uncertainty and a Monte Carlo re-check.")


def _print_version(value: bool) -> None:
    if value:
        from allocator import __version__

        sys.stdout.write(f"allocator {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="print allocator's version and exit",
                                       callback=_print_version, is_eager=True)) -> None:
    pass

# help texts are rich markup: a literal [section] is written \\[section]
ProfileArg = typer.Argument(..., help="profile TOML (\\[applicant] and \\[strategy])", show_default=False)
CatalogOpt = typer.Option(None, "--catalog", help="catalog CSV (default: the shipped synthetic demo catalog)")
JsonOpt = typer.Option(False, "--json", help="print JSON instead of a table")
CardOpt = typer.Option(None, "--card", help="use this model card alone (e.g. default: the central card) instead "
                       "of the default card's ensemble of plausible cards")
OutOpt = typer.Option(None, "--out", help="also write the output to FILE (.json, .csv, or the text report under any other name such as .txt); written atomically")
# simulate and update have no CSV form (text_or_json refuses .csv): their help says so
OutTextOpt = typer.Option(None, "--out", help="also write the output to FILE (.json, or the text report under any other name such as .txt; not .csv); written atomically")


class _Console(Console):
    """rich's Console, except when the reader of a pipe leaves early (``allocator solve ... |
    head``): rich exits 1 then; this one raises BrokenPipeError, which :func:`_emit` turns
    into exit 0 with stdout pointed at /dev/null, as for --json."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _console(json_mode: bool) -> Console:
    c = _Console(stderr=json_mode, highlight=False)
    return c if c.is_terminal else _Console(stderr=json_mode, highlight=False, width=120)


def write_atomic(path: Path, text: str, option: str = "--out") -> None:
    """Write a whole file or nothing (temp file + rename)."""
    from allocator.output.files import atomic_write

    atomic_write(path, lambda fh: fh.write(text), option=option)


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



def _render(res, console, show):
    from allocator.output.report import render_solve

    render_solve(res, console, limit=show)


def _emit(payload: dict, as_json: bool, out: Optional[Path], render, frame=None, csv_text=None,
          full_render=None) -> None:
    """Print the table or JSON; with ``out`` also write it (.csv: ``csv_text`` or the frame;
    .json or --json: the JSON; otherwise the text report, every row: ``full_render``)."""
    text = _json(payload)
    if out is not None:
        suffix = Path(out).suffix.lower()
        if suffix == ".csv" and (csv_text is not None or frame is not None):
            write_atomic(out, csv_text if csv_text is not None else frame.to_csv(index=False))
        elif suffix == ".json" or as_json:
            write_atomic(out, text)
        else:
            with open(os.devnull, "w") as devnull:
                c = Console(record=True, width=120, file=devnull)
                (full_render or render)(c)
            write_atomic(out, c.export_text())
    try:
        if as_json:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            render(_console(False))
    except BrokenPipeError:  # the reader left early (`| head`): the output is done, exit 0
        stdout_to_devnull()  # (typer would turn the error into exit 1)


def stdout_to_devnull() -> None:
    """Point file descriptor 1 at /dev/null, so that Python's own flush of stdout at exit does
    not meet a broken pipe again (Python's documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def text_or_json(out: Optional[Path], command: str) -> None:
    """Refuse ``--out X.csv`` for a command whose output has no CSV form (before any work)."""
    if out is not None and Path(out).suffix.lower() == ".csv":
        raise InputError(f"--out {out}: `{command}` writes its report as .json (or text, any other name), not CSV; "
                         "use --out NAME.json or NAME.txt")


# Most Monte Carlo draws a command takes: the solve check is chunked (memory bounded) but 10^9
# draws already take many minutes; the season check holds its draws in memory, about 3.5 KB a
# draw for the 80-application example season (measured: 1.45 GB at 400,000), so 500,000 draws
# stay under about 2-4 GB for 80-150 applications.
MAX_DRAWS = 1_000_000_000
MAX_SEASON_DRAWS = 500_000


def check_draws_seed(draws: int | None, seed: int | None, *, least: int = 0, most: int = MAX_DRAWS) -> None:
    """--draws within [least, most] and --seed >= 0, else a one-line InputError naming the option."""
    if draws is not None and not least <= draws <= most:
        raise InputError(f"--draws {draws}: must be between {least} and {most:,}")
    if seed is not None and seed < 0:
        raise InputError(f"--seed {seed}: must be >= 0")


def check_outputs(*pairs, inputs: dict | None = None) -> None:
    """Check every output path of a command before any work: (path, option) pairs, None skipped.
    ``inputs``: what the command reads ({"the profile": path, "--catalog": path, ...}); an output
    that is one of them is refused (writing it would destroy the input)."""
    from allocator.output.files import check_output

    seen = {}
    for path, option in pairs:
        if path is None:
            continue
        key = os.path.abspath(os.fspath(path))
        if key in seen:
            raise InputError(f"{path}: given to both {seen[key]} and {option}; choose two different files")
        seen[key] = option
        _not_an_input(path, option, inputs or {})
        if option == "--out":
            _known_text_form(path)
        elif option == "--csv" and Path(path).suffix.lower() != ".csv":  # it writes CSV, whatever the name says
            raise InputError(f"--csv {path}: --csv writes comma-separated values; give the file a .csv name "
                             "(for JSON use --json)")
        check_output(path, option)


# --out names whose reader expects a format --out does not write (it writes JSON, CSV or the
# text report): refused, instead of a text report under a spreadsheet's or a document's name
NOT_WRITTEN = (".xlsx", ".xls", ".ods", ".pdf", ".doc", ".docx", ".odt", ".html", ".htm", ".png", ".svg", ".jpg",
               ".jpeg", ".zip", ".parquet", ".toml")


def _known_text_form(path) -> None:
    suffix = Path(path).suffix.lower()
    if suffix in NOT_WRITTEN:
        raise InputError(f"--out {path}: allocator writes .json, a text report (.txt or any other name) or, for "
                         f"solve and estimate, a .csv a spreadsheet opens; not {suffix}")


def _not_an_input(path, option: str, inputs: dict) -> None:
    """Refuse an output path that names one of the command's input files."""
    for what, src in inputs.items():
        if src is None or not os.path.isfile(os.fspath(src)) or not os.path.exists(os.fspath(path)):
            continue
        try:
            same = os.path.samefile(os.fspath(path), os.fspath(src))
        except OSError:
            continue
        if same:
            raise InputError(f"{path}: {option} names the file read as {what}; writing it would destroy that "
                             "input: choose another output file")
