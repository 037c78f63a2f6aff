"""`allocator solve` and `allocator estimate`: the optimal list, and per-program probabilities."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from allocator.inputs.feefiles import season_help
from allocator.errors import InfeasibleError, InputError

OBJECTIVES = ("safety_first", "p_match", "utility", "p_match_la")
from allocator.cli.common import (CardOpt, CatalogOpt, JsonOpt, OutOpt, ProfileArg, _emit, _json, _positive_time,
                                  _render, app, check_draws_seed, check_outputs)


@app.command()
def solve(
    profile: Path = ProfileArg,
    catalog: Optional[Path] = CatalogOpt,
    budget: Optional[float] = typer.Option(None, "--budget", help="USD for the list (ERAS fees + extras)"),
    max_apps: Optional[int] = typer.Option(None, "--max-apps", help="most applications"),
    la_share_max: Optional[float] = typer.Option(None, "--la-share-max", help="largest share of LA programs (0-1)"),
    correlation: Optional[float] = typer.Option(None, "--correlation", help="latent-factor correlation rho (0-0.99)"),
    season: Optional[str] = typer.Option(None, "--season", help=season_help()),
    objective: Optional[str] = typer.Option(
        None, "--objective", help="safety_first (default: the best expected tier utility among the lists within "
        "--safety-margin of the best P(match)), p_match, utility, or p_match_la (max P(match in LA) s.t. "
        "P(match) >= --target)"),
    safety_margin: Optional[float] = typer.Option(
        None, "--safety-margin", help="safety_first: how far P(match) (as the answer gives it: the average over the "
        "plausible models, unless --correlation or --card sets one model) may fall below the best reachable (0-1; "
        "default 0.01 = one percentage point)"),
    min_cost: bool = typer.Option(False, "--min-cost", help="cheapest list reaching --target"),
    target: Optional[float] = typer.Option(None, "--target", help="P(match) target for --min-cost or p_match_la"),
    target_on: str = typer.Option(
        "average", "--target-on", help="--min-cost: judge the target on the average over the plausible models "
        "(average, exact) or on their 10th percentile (p10: the cheapest budget whose best list reaches it there)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="seconds; the best list found by then is returned (a --min-cost search lets its current step finish, at least 1 s, so it may run past; the default objective's LA-leaning comparison list gets what is left, at least 5 s more)"),
    method: str = typer.Option("auto", "--method", help="auto, fast (count scan), dp (dynamic program: independent outcomes, costs in whole dollars or cents) or milp (integer program; engine: --solver, HiGHS by default)"),
    solver: str = typer.Option("highs", "--solver", help="integer-program engine: highs (default) or cbc"),
    draws: int = typer.Option(200_000, "--draws", help="Monte Carlo draws for the check (0 to skip)"),
    seed: int = typer.Option(0, "--seed", help="Monte Carlo seed"),
    card: Optional[str] = CardOpt,
    show: Optional[int] = typer.Option(40, "--show", min=0, help="programs shown in the table (0: none)"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutOpt,
) -> int:
    """The best list within the budget, counts and LA cap: by default the best expected tier utility \
(LA > rest of West > elsewhere) among the lists within --safety-margin of the best P(at least one match)."""
    from allocator.api import solve as api_solve

    _check_objective(objective, safety_margin)
    if method not in ("auto", "fast", "dp", "milp"):
        raise InputError(f"--method {method!r}: use auto, fast, dp or milp")
    check_draws_seed(draws, seed)
    if solver not in ("highs", "cbc"):
        raise InputError(f"--solver {solver!r}: use highs or cbc")
    if target is not None and not min_cost and objective != "p_match_la" and (
            objective is not None or _profile_objective(profile) != "p_match_la"):
        raise InputError(f"--target {target:g} is used only with --min-cost or --objective p_match_la; add one of "
                         "them, or drop --target")
    if min_cost and objective is not None:
        raise InputError(f"--min-cost finds the cheapest list reaching --target and uses no objective; drop "
                         f"--objective {objective} (or --min-cost)")
    check_outputs((out, "--out"), inputs={"the profile": profile, "--catalog": catalog})
    try:
        res = api_solve(profile, catalog, engine=solver, budget=budget, max_applications=max_apps,
                        la_share_max=la_share_max, correlation=correlation, season=season, objective=objective,
                        min_cost=min_cost, target=target, safety_margin=safety_margin,
                        time_limit=_positive_time(time_limit), draws=draws, seed=seed, method=method, card=card,
                        target_on=target_on)
    except InfeasibleError as e:
        if as_json:  # the status JSON on stdout, the one line on stderr, exit 3
            sys.stdout.write(_json(_status_json(e, "min_cost" if min_cost else objective or
                                                _profile_objective(profile), target, target_on if min_cost else None)))
        raise
    _emit(res.to_dict(), as_json, out, lambda c: _render(res, c, show), csv_text=res.list_csv(),
          full_render=lambda c: _render(res, c, None))
    return 0


def _check_objective(objective: str | None, safety_margin: float | None) -> None:
    if objective is not None and objective not in OBJECTIVES:
        raise InputError(f"--objective {objective!r}: use safety_first, p_match, utility or p_match_la (with --target)")
    if safety_margin is not None and not 0 <= safety_margin <= 1:
        raise InputError(f"--safety-margin {safety_margin:g}: must be between 0 and 1 (0.01 = one percentage point)")


def _status_json(e: InfeasibleError, objective: str, target: float | None, target_on: str | None = None) -> dict:
    """What `solve --json` prints when no list exists: the status, the one-line reason, the
    conflicting limits and, for a P(match) target out of reach, the best P(match) reachable
    (an average over the plausible models) and that list's 10th percentile."""
    from allocator.output.report import SYNTHETIC_NOTE

    return {"status": "infeasible", "objective": objective, "target_p_match": target,
            **({"target_on": target_on} if target_on else {}),
            "error": " ".join(str(e).split()), "exit_code": e.exit_code, "conflicting": list(e.groups),
            "p_match_best": e.best_p, "p_match_best_p10": e.best_p10,
            "data": {"synthetic": e.synthetic, "note": SYNTHETIC_NOTE if e.synthetic else ""}}


def _profile_objective(profile: Path) -> str:
    from allocator.inputs.profile import load_profile

    return load_profile(profile).strategy.objective


ESTIMATE_NOTE = ("P(success) here is each program's without a signal and outside a preferred division; "
                 "`allocator solve` shows a listed program's P with the signal and division its list gives it.")


def _other_specialties(full, specs) -> None:
    """Rows of specialties the profile does not apply in are not eligible (as solve leaves them out)."""
    if specs and full["specialty"].isin(specs).any():
        other = ~full["specialty"].isin(specs)
        full.loc[other, "eligible"] = False
        full.loc[other, "excluded_reason"] = "another specialty (" + full.loc[other, "specialty"].astype(str) + ")"


def _img_share(cat, full, card) -> list[str]:
    """solve's warning when most eligible rows (``full``'s, as solve's candidates) leave
    img_share empty."""
    import numpy as np

    from allocator.inputs.catalog import img_share_warning

    if cat.has_own_p_match:
        return []
    rows = cat.select(np.isin(cat.column("program_id"), full.loc[full["eligible"].astype(bool), "program_id"]))
    w = img_share_warning(rows, card)
    return [w] if w else []


def _estimate_warnings(prof, card, own_p_match: bool) -> list[str]:
    """What solve would warn about the profile and the applicant (no budget applies here)."""
    from allocator.api import input_warnings
    from allocator.inputs.profile import profile_warnings

    return input_warnings(profile_warnings(prof), card, prof.applicant, tuple(prof.specialties),
                          own_p_match=own_p_match, budget_applies=False)


@app.command()
def estimate(
    profile: Path = ProfileArg,
    catalog: Optional[Path] = CatalogOpt,
    show: Optional[int] = typer.Option(40, "--show", min=0, help="programs shown in the table (0: none)"),
    as_json: bool = JsonOpt,
    out: Optional[Path] = OutOpt,
) -> int:
    """Per-program probabilities under the model solve uses (no optimization)."""
    from allocator.api import resolve_catalog

    check_outputs((out, "--out"), inputs={"the profile": profile, "--catalog": catalog})
    from allocator.model.card import load_card
    from allocator.model.probability import estimate as est
    from allocator.model.twostage import ensemble_columns
    from allocator.inputs.profile import load_profile
    from allocator.output.report import SYNTHETIC_NOTE, render_programs

    prof = load_profile(profile)
    cat = resolve_catalog(prof, catalog)
    if prof.applicant is None:
        raise InputError(f"{profile}: no [applicant] section; add one (Step 2, attempts, USCE...) to estimate")
    from allocator.optim.assemble import require_specialties

    require_specialties(cat, prof)
    card = load_card()
    df = est(cat, prof.applicant, card)
    ens = ensemble_columns(cat, prof.applicant, card)
    if ens is not None:  # the ensemble that solve optimizes by default; the card alone in p_match_central
        import numpy as np

        df["p_match_central"] = df["p_match"]
        for col, v in ens.items():
            df[col] = np.where(df["eligible"], v, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            df["p_match_given_interview"] = np.where(df["p_interview"] > 0, df["p_match"] / df["p_interview"], 0.0)
    full = cat.df[["program_id", "name", "specialty", "city", "state", "la_area", "tier"]].merge(
        df, on="program_id", how="left")
    _other_specialties(full, prof.specialties)
    full = full.sort_values(["p_match", "program_id"], ascending=[False, True], kind="mergesort")
    model = ("two-stage model, the card's ensemble (P(success) its average; p_match_central the card alone)"
             if ens is not None else "the model card alone")
    payload = {"model_card": getattr(card, "name", "default"), "model": model, "correlation": float(card.correlation),
               "synthetic": cat.synthetic, "note": ESTIMATE_NOTE, "programs": json.loads(full.to_json(orient="records")),
               "warnings": _estimate_warnings(prof, card, cat.has_own_p_match) + _img_share(cat, full, card)}

    def render(c):
        if cat.synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        elig = full[full["eligible"]]
        c.print(f"{len(full)} programs, {len(elig)} eligible; model card {payload['model_card']}: {model}")
        c.print(ESTIMATE_NOTE)
        for w in payload["warnings"]:
            c.print(f"warning: {w}", markup=False)
        render_programs(elig.to_dict("records"), c, limit=show, title="eligible programs, most likely first",
                        columns=list(elig.columns))
        bad = full[~full["eligible"]]
        if len(bad):
            from rich.table import Table

            t = Table(title=f"{len(bad)} excluded")
            t.add_column("id")
            t.add_column("program")
            t.add_column("reason")
            shown = bad.head(show or len(bad))
            for r in shown.itertuples():
                t.add_row(r.program_id, r.name, r.excluded_reason)
            c.print(t)
            if len(shown) < len(bad):
                c.print(f"... and {len(bad) - len(shown)} more excluded (--json or --out gives every row)")

    note = f"# {SYNTHETIC_NOTE}\n" if cat.synthetic else ""
    _emit(payload, as_json, out, render, csv_text=note + full.to_csv(index=False))
    return 0
