"""What the web page and the JSON API run: the same public API as the CLI, on in-memory inputs.

``parse_profile`` and ``parse_catalog`` read request bytes (nothing is written to disk) with the
same loaders and one-line messages as the files; ``solve_payload`` returns exactly the JSON of
``allocator solve --json``; ``budget_curve`` and ``la_frontier`` return the existing matplotlib
figures as PNG bytes, with their rows and their legend in words (:class:`figuredata.Drawn`).  The page shows numbers from these payloads only.
"""
from __future__ import annotations

import io
import json
import tomllib
from typing import Any, Callable

import numpy as np

from allocator.errors import InputError, not_utf8
from allocator.inputs.catalog import Catalog, catalog_from_text
from allocator.inputs.profile import Profile, profile_from_dict
from allocator.web.figuredata import Drawn, legend_key
from allocator.web.forms import MAX_PROFILE_BYTES, MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS
from allocator.web.messages import web_message

DRAWS = 200_000  # the CLI's default Monte Carlo draws
UPDATE_DRAWS = 20_000  # `allocator update`'s default simulated seasons
# the season check holds its draws in memory (about 3.5 KB each for 80 applications): a page
# request gets at most 50,000 (~175 MB), below the command line's MAX_SEASON_DRAWS (a test holds it so)
MAX_UPDATE_DRAWS = 50_000


class TooLarge(InputError):
    """A request part over its size limit (HTTP 413)."""


def parse_profile(data: bytes, name: str = "profile") -> Profile:
    """A profile TOML given as bytes (request body or upload)."""
    if len(data) > MAX_PROFILE_BYTES:
        raise TooLarge(f"{name}: {len(data):,} bytes is over the {MAX_PROFILE_BYTES:,}-byte limit for a profile; "
                         "send the TOML profile only")
    try:
        doc = tomllib.loads(data.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as e:
        raise not_utf8(name, e, "send the profile as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{name}: not valid TOML ({e}); fix the syntax there") from None
    except ValueError as e:  # e.g. an integer of thousands of digits (Python's conversion limit)
        raise InputError(f"{name}: a value Python cannot read ({str(e).splitlines()[0][:80]}); shorten it") from None
    if "path" in doc:
        raise InputError(f"{name}: path: unknown key; remove it")
    refuse_fee_file(doc.get("strategy"), name)
    return profile_from_dict(doc, name)


def refuse_fee_file(strategy, where: str) -> None:
    """The web reads no file of the server's: a season given as a fee file's path (which the
    command line accepts) is refused."""
    from allocator.inputs.fees import is_fee_file

    season = strategy.get("season") if isinstance(strategy, dict) else None
    if isinstance(season, str) and is_fee_file(season):
        raise InputError(f"{where}: [strategy] season = {season[:60]!r}: the web page takes a season name, not a fee "
                         "file's path; choose a season (a fee file of your own works with the command line)")


def parse_catalog(data: bytes, name: str = "catalog.csv") -> Catalog:
    """An uploaded catalog CSV, capped in size and rows, validated by the catalog loader."""
    name = upload_name(name, "catalog.csv")
    text = _upload_text(data, name, "catalog", "remove columns or rows you do not need",
                        "a header line and one row per program", "keep the programs you might apply to")
    return catalog_from_text(text, name)


def _upload_text(data: bytes, name: str, what: str, big: str, empty: str, long: str) -> str:
    """An upload's text (UTF-8, a byte-order mark dropped), within the size and row caps: each
    refusal one line naming the upload, with ``big`` / ``empty`` / ``long`` as what to do."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"{name}: the file is over the {MAX_UPLOAD_BYTES / 1e6:.0f} MB upload limit; {big}")
    if not data.strip():
        raise InputError(f"{name}: the file is empty; it needs {empty}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise not_utf8(name, e, f"save the {what} as comma-separated UTF-8") from None
    rows = text.count("\n") - 1 + (not text.endswith("\n"))
    if rows > MAX_UPLOAD_ROWS:
        raise TooLarge(f"{name}: {rows:,} rows is over the {MAX_UPLOAD_ROWS:,}-row upload limit; {long}")
    return text


def parse_season(data: bytes, name: str = "season.csv", today=None):
    """An uploaded season CSV (nothing written to disk), capped like a catalog upload, read by
    the season file loader (its one-line messages name ``name``, the line and the field)."""
    from allocator.season.seasonfile import season_from_text

    name = upload_name(name, "season.csv")
    text = _upload_text(data, name, "season file", "a season file needs one short row per application",
                        "a header line (program_id,status) and one row per application",
                        "list the applications you sent, one row each")
    return season_from_text(text, name, today)


def upload_name(name: str | None, default: str) -> str:
    """An upload's file name as messages show it: one line, at most 80 characters, no folders."""
    name = (name or default).replace("\n", " ").replace("\\", "/").rsplit("/", 1)[-1].strip()[:80]
    return name or default


def update_payload(profile: Profile, season, catalog: Catalog | None, *, today, add_budget: float | None = None,
                   max_add: int | None = None, draws: int = UPDATE_DRAWS, seed: int = 0) -> dict:
    """Exactly the JSON of `allocator update PROFILE --season FILE --today DATE [--add-budget USD
    --max-add N] --json`: the same library call on the profile, season and catalog read from the request."""
    from allocator.season.run import run

    return to_json_dict(run(profile, season, today=today, catalog=catalog, add_budget=add_budget, max_add=max_add,
                            draws=draws, seed=seed))


def to_json_dict(d: dict) -> dict:
    """The dict exactly as `allocator solve --json` prints it (NaN -> null, numpy -> Python)."""
    from allocator.cli.common import _json

    return json.loads(_json(d))


def solve_result(profile: Profile, catalog: Catalog | None, *, min_cost: bool = False,
                 time_limit: float | None = None, draws: int = DRAWS, seed: int = 0, target_on: str = "average"):
    """The Result of `allocator solve` for this profile (and catalog): the same answer as the
    command without --time-limit; the page's time limit only caps the work (settle=True)."""
    from allocator.api import solve

    return solve(profile, catalog, min_cost=min_cost, time_limit=time_limit, draws=draws, seed=seed, settle=True,
                 target_on=target_on)


def budget_values(budget: float, points: int = 12) -> list[float]:
    """Budgets for the curve: from a fifth of the profile's budget to twice it, whole dollars."""
    hi = max(float(budget), 100.0) * 2
    lo = max(hi / 10, 20.0)
    return sorted({float(round(x)) for x in np.linspace(lo, hi, points)})


def budget_curve(problem, progress: Callable[[int, int], None] | None = None,
                 time_limit: float | None = None) -> Drawn:
    """The budget sweep's figure (PNG), rows and legend in words."""
    from allocator.output.plot import plot_sweep
    from allocator.studies.sweep import sweep

    df = sweep(problem, "budget", budget_values(problem.budget), progress=progress, time_limit=time_limit)
    ax = plot_sweep(df, synthetic=problem.synthetic, copula=problem.fm is None)  # a set correlation: named so
    return Drawn(_png(ax), json.loads(df.to_json(orient="records")), legend_key(ax))


CURVE_MAXIMIZES = {
    "p_match": "the best P(match) at each budget",
    "utility": "the P(match) of the list with the best expected tier utility at each budget",
    "p_match_la": "the P(match) of the list with the best P(match in LA) at each budget (keeping the target)",
}


def budget_caption(profile_objective: str, answer_objective: str | None, planned: bool = True) -> str:
    """What the budget curve shows, in words: what each point maximizes (the sweep's objective
    for the profile's), and when that differs from the answer's objective, that its numbers are not the answer's;
    the line of the figure to plan on (``planned``: the answer has one, so the curve's rows have theirs) and the
    knees, found on that line when there is one, which are not a recommended budget."""
    from allocator.output.report import curve_caveat
    from allocator.studies.sweep import sweep_mode

    mode = sweep_mode(profile_objective)
    text = CURVE_MAXIMIZES.get(mode, f"the P(match) of the best list by {mode} at each budget")
    text += " (same limits otherwise)"
    text += curve_caveat(mode, answer_objective)
    if planned:  # the knees are then found on that line (allocator.studies.sweep.curve_on)
        return (text + "; the orange line is the figure to plan on for each point's list; red circles (knees) mark "
                "where extra dollars start buying less on it (its gain per dollar falls by more than half after "
                "them), not a recommended budget")
    return (text + "; red circles (knees) mark where extra dollars start buying less (the gain per dollar falls by "
            "more than half after them), not a recommended budget")


def la_frontier(problem, progress: Callable[[int, int], None] | None = None,
                time_limit: float | None = None) -> Drawn:
    """The LA frontier's figure (PNG), rows and legend in words, as a bare `allocator sweep --frontier` draws it:
    the safest list, then the best P(match in LA) at each margin below the best P(any match)
    (fixed targets from 50% to 95% left an applicant whose best is 43% with an empty figure).
    The answer above is the chosen list, so the frontier has no row of its own for it."""
    from allocator.output.plot import plot_frontier
    from allocator.studies.frontier import MARGINS, margin_frontier

    total = len(MARGINS) + 2
    df = margin_frontier(problem, MARGINS, progress=(lambda k: progress(k, total)) if progress else None,
                         time_limit=time_limit)
    df = df[df["kind"] != "chosen"].reset_index(drop=True)
    ax = plot_frontier(df, synthetic=problem.synthetic, la_share_max=problem.la_share_max)
    return Drawn(_png(ax), json.loads(df.to_json(orient="records")), legend_key(ax))


def _png(ax, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def season_csv(payload: dict) -> str:
    """The season file to start the interview season from: every program 'applied', no date
    yet, the geographic preference sent as its ``# geographic_preference:`` line (which
    `allocator update` reads)."""
    from allocator.inputs.listfile import list_csv

    rows = [{"program_id": r["program_id"], "signal": r.get("signal") or ""} for r in payload.get("selected", [])]
    return list_csv(rows, payload.get("geographic_preference") or (), columns=["program_id", "signal"],
                    note=_synthetic_note(payload))


def _synthetic_note(payload: dict) -> str | None:
    from allocator.output.report import SYNTHETIC_NOTE

    return SYNTHETIC_NOTE if (payload.get("data") or {}).get("synthetic") else None


def reported(e: BaseException) -> bool:
    """True for the errors whose one line is shown as it is (input, limits, solver); anything
    else is an internal error, named by its type only."""
    from allocator.errors import InfeasibleError, SolverError

    return isinstance(e, (InputError, InfeasibleError, SolverError))


def error_status(e: BaseException) -> int:
    """HTTP status of a job that ended in ``e``: 422 for what the request can change (bad input,
    no list meeting its limits, no list within its time limit), else 500 (a solver failure:
    a bug, reported with its one line and exit code 4)."""
    from allocator.errors import InfeasibleError, TimeLimitError

    return 422 if isinstance(e, (InputError, InfeasibleError, TimeLimitError)) else 500


def error_body(e: BaseException) -> dict[str, Any]:
    """The JSON of an error: the CLI's one-line message and exit code."""
    code = getattr(e, "exit_code", 1)
    body: dict[str, Any] = {"error": web_message(e), "exit_code": code}
    if getattr(e, "groups", None):
        body["conflicting"] = list(e.groups)
        body["status"] = "infeasible"
    return body
