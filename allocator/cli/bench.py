"""`allocator bench`: the optimizer against the advisers' heuristic lists."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from allocator.errors import InputError
from allocator.cli.common import (CardOpt, CatalogOpt, JsonOpt, _emit, _positive_time,
                                  app, check_draws_seed, check_outputs, write_atomic)


@app.command()
def bench(
    profile_args: Optional[list[Path]] = typer.Argument(None, help="profile TOMLs (same as --profiles)",
                                                        show_default=False),
    profiles: Optional[list[str]] = typer.Option(None, "--profiles", help="profile TOMLs, repeated or comma-"
                                                 "separated (default: every shipped example profile with \\[applicant])"),
    budgets: str = typer.Option("1000,1500,2500,4000", "--budgets", help="LO:HI:STEP or a comma list, USD"),
    catalog: Optional[Path] = CatalogOpt,
    methods: Optional[str] = typer.Option(None, "--methods", help="comma list (default: optimizer and every heuristic)"),
    targets: str = typer.Option("0.8,0.9", "--targets", help="P(match) targets for the budget each method needs; "
                                "'none' to skip"),
    seed: int = typer.Option(0, "--seed", help="seed of the random lists"),
    time_limit: Optional[float] = typer.Option(60.0, "--time-limit", help="seconds per optimizer solve; a "
                                               "min-cost not proven by then is shown as an upper bound (<=)"),
    card: Optional[str] = CardOpt,
    as_json: bool = JsonOpt,
    csv: Optional[Path] = typer.Option(None, "--csv", help="also write the rows to FILE (CSV, atomically)"),
) -> int:
    """The list-quality benchmark: the optimizer against heuristic lists, one evaluator."""
    from allocator.inputs.ranges import parse_range
    from allocator.studies import bench as B
    from allocator.output.report import SYNTHETIC_NOTE

    check_draws_seed(None, seed)
    paths = [*(profile_args or []), *(Path(x.strip()) for v in (profiles or []) for x in v.split(",") if x.strip())]
    check_outputs((csv, "--csv"), inputs={"--catalog": catalog, **{f"profile {p}": p for p in paths}})
    grid = parse_range(budgets, name="--budgets", lo_min=0, lists=True).tolist()
    paths = paths or B.default_profiles()
    if not paths:
        from allocator.inputs.profile import EXAMPLES

        raise InputError(f"no profiles: pass --profiles FILE.toml ({EXAMPLES} has none with [applicant])")
    ms = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    try:
        tg = [] if targets.strip().lower() in ("", "none") else [float(x) for x in targets.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--targets {targets!r}: a comma list of probabilities such as 0.8,0.9, or none") from None
    if any(not 0 < t < 1 for t in tg):
        raise InputError(f"--targets {targets!r}: each target must be strictly between 0 and 1")
    probs = B.problems(paths, catalog, card=card)
    tl = _positive_time(time_limit)
    df = B.bench(dict(probs), grid, methods=ms, seed=seed, time_limit=tl)
    reach = B.budget_to_reach(dict(probs), tg, methods=ms, seed=seed, time_limit=tl) if tg else None
    synthetic = bool(df.attrs.get("synthetic"))
    df["synthetic"] = synthetic  # the --csv file says it too, as every other table does
    if csv is not None:
        write_atomic(csv, df.to_csv(index=False), option="--csv")
    payload = {"rows": df.to_dict("records"),
               "budget_to_reach": reach.to_dict("records") if reach is not None else [],
               "data": {"synthetic": synthetic, "note": SYNTHETIC_NOTE if synthetic else ""}}

    def render(c):
        if synthetic:
            c.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
        B.render(df, reach, c)
        B.render_leads(df, c)
        c.print("Every list meets the same budget, counts and LA cap; all scored by the one evaluator "
                "(P(match) averaged over the plausible models, or under a correlation the profile sets). 'needs for' = "
                "the fees of the cheapest list the method builds that reaches the target on that average; to plan "
                "your own list on the range's lower end, use `allocator solve --min-cost --target-on p10`.")
        spread = _spread_note(df)
        if spread:
            c.print(spread)

    _emit(payload, as_json, None, render)
    return 0


def _spread_note(df) -> str | None:
    """How sure the table's levels are: it shows averages over the plausible models; one example
    range (the optimizer's list, else the first method's, at the largest budget of the first
    profile), and what that means."""
    from allocator.output.report import pct
    from allocator.studies.bench import OPTIMIZER

    ok = df[df["p_match"].notna()]
    if "p_match_interval" not in ok or not len(ok):
        return None
    rows = ok[ok["method"] == (OPTIMIZER if (ok["method"] == OPTIMIZER).any() else ok["method"].iloc[0])]
    r = rows[rows["profile"] == rows["profile"].iloc[0]].sort_values("budget").iloc[-1]
    iv = r["p_match_interval"]
    if not isinstance(iv, (list, tuple)) or len(iv) != 2:
        return None
    return (f"P(match) here is the average over the plausible models, and 'needs for' meets the target on that "
            f"average: {r['profile']}'s {r['method']} list at ${r['budget']:,.0f} spans {pct(iv[0], 0)} to {pct(iv[1], 0)} "
            "(10th-90th percentile; every list's range is in --json and --csv). The lead table scores both lists "
            "under each plausible model (in --json and --csv: lead_min, the smallest per-model lead, negative where "
            "the other list is better under some model; lead_p10, the lead on the 10th percentiles). The calibration "
            "targets do not pin down where the IMG-share effect stops growing (the plausible models stop it anywhere "
            "from 50% to 85% IMGs), and the optimizer's lists hold more programs at 85% IMGs or more than the "
            "guide's: 'cap' scores both lists under the IMG-share cap check (the central model with the effect "
            "stopping at 65% IMGs, the intercepts re-fitted to the same calibration targets; lead_cap_check), where "
            "the lead can shrink, vanish or turn negative.")
