"""`allocator update` as a function: load the inputs, compute the posterior figures, optionally
the additional list, and check the numbers by independent simulation."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from allocator.errors import InputError
from allocator.model.timing import application_season
from allocator.season import extend, planfig, update
from allocator.season import posterior as post
from allocator.season.seasonfile import Season, load_season
from allocator.verification.mccheck import check
from allocator.verification.warnorder import unsafe_first


def run(profile, season_path, *, today: dt.date | None = None, catalog=None, add_budget: float | None = None,
        max_add: int | None = None, draws: int = 20_000, seed: int = 0, engine: str = "highs") -> dict:
    """The update's figures (the JSON of `allocator update`).  ``season_path``: a season file's
    path, or a :class:`Season` already read (e.g. :func:`season_from_text` on an upload)."""
    from allocator.api import load  # the shared input pipeline
    from allocator.model.card import load_card

    _check_add_options(add_budget, max_add)
    today = today or dt.date.today()
    season = season_path if isinstance(season_path, Season) else load_season(Path(season_path), today)
    problem = load(profile, catalog)
    screened = update.screened_invitations(problem, season)
    if screened:  # an invitation shows the screen did not apply: the program counts as eligible
        problem = _waive_screens(profile, catalog, screened)
    card = load_card()
    if card.timing is None:
        raise InputError(f"{card.path}: no [timing] table; `allocator update` needs the invitation and rejection "
                         "timing curves (see models/default.toml)")
    ctx = update.prepare(problem, season, today, card.timing)
    ctx.warnings[:0] = [f"{pid} counts as eligible although the model would exclude you ({why}): your invitation "
                        "shows that screen did not keep you out" for pid, why in screened.items()]
    out = update.figures(ctx)
    out["warnings"] = unsafe_first(ctx.warnings + out.pop("domain_warnings")  # solve's order (verification.warnorder)
                                   + fee_season_warning(problem.schedule.season, today))
    out["synthetic"] = bool(problem.synthetic)
    out["fee_season"] = problem.schedule.season  # the ERAS fees (and signal counts) the figures used
    out["notes"] = list(problem.notes)  # the catalog's, as solve prints them (what an addition can draw on)
    out["model"] = "two-stage" if problem.fm is not None else "one-factor copula"
    out["correlation"] = problem.rho if problem.fm is None else None  # the two-stage model has none
    if add_budget is not None or max_add is not None:
        add = extend.additional(ctx, float(add_budget if add_budget is not None else 0.0), max_add, out["p_match"],
                                engine=engine)
        plan, pr2 = add.pop("_plan"), add.pop("_problem")
        out["add"] = add
        new = [i for i in plan.idx if i not in set(int(x) for x in ctx.idx)]
        add.update(planfig.after_checks(ctx, plan, new, add.get("p_match_after_interval"), 1.0 - ctx.F,
                                        out.get("p_match_score_check"), out.get("p_match_cap_check")))
        extend.judge_on_plan(add, out.get("p_match_plan"))
    else:
        add, new, pr2 = None, [], None
    if draws > 0:
        out["mc"] = _simulate(ctx, problem, pr2, plan if new else None, new, draws, seed).to_dict()
        _verify(ctx, out["mc"], add["p_match_after"] if new else out["p_match"], out["expected_further_invitations"])
    return out


def _check_add_options(add_budget: float | None, max_add: int | None) -> None:
    """The options about the additional list, before any file is read."""
    if add_budget is not None and not add_budget >= 0:  # NaN too
        raise InputError(f"--add-budget {add_budget}: must be a number >= 0 (USD)")
    if max_add is not None and max_add < 0:
        raise InputError(f"--max-add {max_add}: must be >= 0")
    if max_add is not None and add_budget is None:  # the extra list needs its dollars
        raise InputError("--max-add needs --add-budget: give the USD you would spend on the extra applications")


def fee_season_warning(fee_season: str, today: dt.date) -> list[str]:
    """One line when ``today`` lies in an ERAS season (named by its Match year, as the AAMC does:
    the season of applications from September N-1 is ERAS N) newer than the profile's fee season."""
    if not fee_season.isdigit():  # "none": the user's own fees
        return []
    eras = application_season(today) + 1
    if int(fee_season) >= eras:
        return []
    from allocator.inputs.fees import available_seasons

    newest = max((s for s in available_seasons() if s.isdigit()), key=int, default=fee_season)
    which = ("the newest allocator has" if newest == fee_season else
             f'allocator has ERAS {newest}\'s too (season = "{newest}" in the profile\'s [strategy])')
    return [f"{today} is in the ERAS {eras} season (Match in March {eras}), but the fees and signal counts used "
            f"are ERAS {fee_season}'s, {which}: this cycle's may differ; check the AAMC's ERAS fee and "
            "program-signaling pages"]


def _verify(ctx, mc: dict, p_match: float, further: float) -> None:
    """The simulated season against the exact figures (:func:`allocator.verification.mccheck.check`).
    The draws are weighted by the observed answers, so the error under the exact value counts
    their effective number; the further invitations' variance is the exact one (a Poisson-binomial
    count at each node, mixed by the posterior)."""
    draws, n_eff = mc["draws"], mc["ess"]
    check("P(match)", mc["p_match"], mc["p_match_se"], p_match, draws=draws, var_exact=p_match * (1.0 - p_match),
          n_eff=n_eff)
    r = post.further_interview_probs(ctx.nm, ctx.obs)
    s = r.sum(axis=1)
    var = float(ctx.pi @ (r * (1.0 - r)).sum(axis=1) + ctx.pi @ s ** 2 - (ctx.pi @ s) ** 2)
    check("further invitations", mc["further"], mc["further_se"], further, draws=draws, var_exact=var, n_eff=n_eff)


SCREENS = ("min_step2", "max_attempts", "max_years_since_graduation")  # the catalog's eligibility columns


def _waive_screens(profile, catalog, ids):
    """The problem with the catalog's screens lifted at the programs ``ids`` (those that invited
    you despite them), everything else as loaded."""
    import numpy as np

    from allocator.api import load
    from allocator.inputs.demo import resolve_catalog
    from allocator.inputs.profile import Profile, load_profile

    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    cat = resolve_catalog(prof, catalog)
    rows = np.isin(cat.column("program_id").astype(str), list(ids))
    for col in SCREENS:
        cat = cat.with_column(col, np.where(rows, np.nan, cat.column(col)))
    return load(prof, cat)


def _simulate(ctx, problem, pr2, plan, new, draws: int, seed: int):
    """The independent simulation of the season (and of the applications added now) under the
    model the update used: the two-stage mixture's nodes, or the one-factor copula."""
    from allocator.verification.season_mc import simulate_season, simulate_season_mixture

    la = problem.la[ctx.idx]
    sts = ["invited" if s == "interviewed" else s for s in ctx.statuses]
    la_new = problem.la[new] if new else None
    if problem.fm is None:
        pe = pr2.effective_p(plan)[[plan.idx.index(i) for i in new]] if new else None
        return simulate_season(ctx.p, ctx.q, problem.rho, sts, ctx.F, ctx.R, la, p_extra=pe, la_extra=la_new,
                               draws=draws, seed=seed)
    qe = me = None
    if new:
        cols = [plan.idx.index(i) for i in new]
        qe, me = pr2.plan_pi(plan)[:, cols], pr2.fm.mu(new)
    return simulate_season_mixture(ctx.nm.w, ctx.nm.q, ctx.nm.m, sts, ctx.F, ctx.R, la, pint_extra=qe, pmatch_extra=me,
                                   la_extra=la_new, draws=draws, seed=seed)
