"""The public Python API: load, build, solve, verify.  The CLI is a thin layer over this.

>>> import allocator
>>> res = allocator.solve("data/profiles/typical_us_img.toml")  # doctest: +SKIP
>>> res.to_frame().head()  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np

from allocator.optim import feasibility

from allocator.optim.assemble import load_problem as load
from allocator.inputs.demo import demo_catalog_path, resolve_catalog  # noqa: F401  (public)
from allocator.inputs.catalog import Catalog
from allocator.verification import composition, domain, mccheck, planfigure, published_curve
from allocator.verification.warnorder import unsafe_first
from allocator.errors import InfeasibleError, InputError, SolverError, TimeLimitError
from allocator.optim.evaluate import evaluate
from allocator.optim.explain import binding, describe
from allocator.optim.problem import Plan, Problem
from allocator.inputs.profile import Profile, load_profile
from allocator.output.result import Result
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.paths import shipped
from allocator.status import Status
from allocator.inputs.fees import BUDGET_TOL

if TYPE_CHECKING:  # the solver modules (PuLP, HiGHS) load when a command optimizes, not for simulate/estimate
    from allocator.optim.outer import Outcome

log = logging.getLogger(__name__)

MODES = {"p_match": "p_match", "utility": "utility", "p_match_la": "la_given_target", "safety_first": "safety_first"}


def optimize(problem: Problem, mode: str | None = None, *, target: float | None = None,
             time_limit: float | None = None, method: str = "auto", budget: float | None = None,
             engine: str = DEFAULT_ENGINE, target_on: str = "average") -> Outcome:
    """Optimal list for ``problem`` (status and plan; no verification).

    ``mode``: "p_match" or "utility" (default: the problem's objective), "min_cost" (cheapest
    list with P(match) >= target), "la_given_target" (max P(match in LA) with P(match) >=
    target), "safety_first" (the best expected tier utility among the lists within
    ``problem.safety_margin`` of the best P(match); :mod:`allocator.optim.safety`).

    A list must hold at least one program: when the limits admit none (a budget that buys no
    program, say) the status is INFEASIBLE and the message says why, as ``solve`` and the sweep
    rows say (:func:`allocator.optim.pipeline.no_empty_answer`)."""
    from allocator.optim import pipeline

    mode = mode or MODES[problem.objective]
    pr = problem if budget is None else problem.with_limits(budget=float(budget))
    if mode == "safety_first":
        from allocator.optim.safety import safety_first

        out = safety_first(pr, time_limit=time_limit, method=method, engine=engine, la_leaning=False).chosen
    else:
        out = pipeline.optimize(problem, mode, target=target, time_limit=time_limit,
                                method=method, budget=budget, engine=engine, target_on=target_on)
    return pipeline.no_empty_answer(pr if mode != "min_cost" else pr.with_limits(budget=np.inf), out, engine)


def synthetic_suffix(problem: Problem) -> str:
    """" [SYNTHETIC demo catalog: ...]" for a one-line reason about a synthetic catalog, else ""."""
    if not problem.synthetic:
        return ""
    from allocator.output.report import SYNTHETIC_NOTE

    return f" [{SYNTHETIC_NOTE.rstrip('.')}]"


def _infeasible(problem: Problem, mode: str, target: float | None, reachable: float | None = None,
                best_plan: Plan | None = None) -> InfeasibleError:
    from allocator.optim.explain import describe
    from allocator.optim.infeasibility import explain_infeasibility

    # every candidate: dominance reduction assumes the budget and count caps that the
    # deletion filter drops (a budget below one fee would leave no candidate at all)
    cand = np.arange(problem.n)
    # the min-cost search proved the whole set infeasible when it reports the best reachable P
    groups = explain_infeasibility(problem, cand, mode=mode, target=target, known=reachable is not None)
    best_p, bind, p_all = None, None, None
    if "target" in groups:
        if reachable is None or best_plan is None:  # the best list within the other limits, unless the search has it
            relaxed = optimize(problem, "p_match", budget=np.inf if mode == "min_cost" else None)
            best_plan = relaxed.plan if relaxed.status.has_list else None
            reachable = reachable if reachable is not None or best_plan is None else relaxed.objective
        best_p = reachable
        if groups == ("target",) and best_plan is not None:  # out of reach whatever the limits: say what binds
            free = problem.with_limits(budget=np.inf) if mode == "min_cost" else problem
            bind = binding(free, best_plan)
            p_all = evaluate(problem.with_best_bonuses(), Plan.of(range(problem.n)), correlations=()).p_match
    p10 = None
    # the figure to plan on, from the model best_p is from (not beside a set correlation's copula figure)
    fe = problem.fm_ensemble
    if best_p is not None and best_plan is not None and problem.fm is not None and fe is not None and fe.n_cards > 1:
        from allocator.optim.mincost import p10 as at_p10

        p10 = at_p10(problem, best_plan)
    msg = describe(problem, groups, target, best_p, bind, p_all, p10)
    if "target" in groups and len(groups) > 1 and mode != "min_cost":
        msg += _still_short(problem, set(groups) - {"target"}, target)
    msg += synthetic_suffix(problem)  # limits checked against invented programs say so, whatever the conflict
    return InfeasibleError(f"infeasible: {msg} (conflicting: {', '.join(groups) or 'none found'})", groups, best_p,
                           synthetic=bool(problem.synthetic), best_p10=p10)


_RELAX = {"max_applications": lambda pr: {"max_apps": pr.n}, "budget": lambda pr: {"budget": np.inf},
          "la_share": lambda pr: {"la_share_max": 1.0}, "min_applications": lambda pr: {"min_apps": 0},
          "specialty_limits": lambda pr: {"spec_min": {}, "spec_max": {}}, "must_apply": lambda pr: {"must": ()}}


def _still_short(problem: Problem, named: set[str], target: float) -> str:
    """When relaxing the named limits alone would still leave the target out of reach (another
    limit binds as well), say so and name it: the user would otherwise relax one and meet the next."""
    if not named <= set(_RELAX):
        return ""
    from allocator.optim.explain import binding

    changes: dict = {}
    for g in named:
        changes.update(_RELAX[g](problem))
    free = problem.with_limits(**changes)
    out = optimize(free, "p_match")
    if not out.status.has_list or out.objective >= target - 1e-9:
        return ""
    also = [b for b in binding(free, out.plan) if b not in named]
    return (f"; relaxing {', '.join(sorted(named))} alone reaches only {out.objective:.3f}"
            + (f", because {' and '.join(also)} bind{'s' if len(also) == 1 else ''} too" if also else ""))


def verify(problem: Problem, plan: Plan, *, draws: int = 200_000, seed: int = 0, p_analytic: float | None = None):
    """Monte Carlo check of a list (independent code): raises SolverError when the
    simulated P(match) is more than 4 standard errors from the analytic value
    (:func:`allocator.verification.mccheck.check`)."""
    from allocator.verification.simulate import simulate

    idx = np.asarray(plan.idx, dtype=int)
    if problem.fm is not None:  # the two-stage model: draw (card, node), then interviews and matches
        from allocator.verification.mixture_sim import simulate_mixture

        fm = problem.fm
        pi = problem.plan_pi(plan)
        mu = fm.mu(idx)
        mc = simulate_mixture(pi, mu, fm.w, la=problem.la[idx], draws=draws, seed=seed)
    else:
        p = problem.effective_p(plan)
        q = problem.effective_q(plan)
        mc = simulate(p, problem.rho, q=q, la=problem.la[idx], draws=draws, seed=seed)
    if p_analytic is not None:
        mccheck.check("P(match)", mc.p_match, mc.std_error, p_analytic, draws=draws,
                      var_exact=p_analytic * (1.0 - p_analytic))
    return mc


def solve(profile: str | Path | Profile, catalog: str | Path | Catalog | None = None, *,
          budget: float | None = None, max_applications: int | None = None, la_share_max: float | None = None,
          correlation: float | None = None, season: str | None = None, objective: str | None = None,
          min_cost: bool = False, target: float | None = None, time_limit: float | None = None,
          draws: int = 200_000, seed: int = 0, method: str = "auto", problem: Problem | None = None,
          engine: str = DEFAULT_ENGINE, card: str | None = None, compare: bool = True,
          safety_margin: float | None = None, settle: bool | None = None, target_on: str = "average") -> Result:
    """Solve the profile's problem; verify the list by simulation; return a :class:`Result`.

    ``profile`` and ``catalog`` paths are read relative to the working directory; a relative
    path that is not found there but starts with ``data/`` or ``models/`` names the shipped
    file (so the README's ``allocator.solve("data/profiles/typical_us_img.toml")`` works from
    any directory).  The objective is the profile's (``objective``: safety_first by default,
    with ``safety_margin``; ``settle``: see :func:`allocator.optim.safety.safety_first`).
    ``target_on`` ("average" or "p10"): where ``min_cost``'s target is judged, the average
    over the plausible models or their 10th percentile (:func:`allocator.optim.mincost.cheapest`).

    Raises InputError (bad input), InfeasibleError (no list), SolverError (solver failure,
    or the time limit hit before any list)."""
    profile, catalog = shipped(profile), shipped(catalog)
    if problem is None:
        problem = load(profile, catalog, card=card, budget=budget, max_applications=max_applications,
                       la_share_max=la_share_max, correlation=correlation, season=season, objective=objective,
                       safety_margin=safety_margin)
    mode = "min_cost" if min_cost else MODES[problem.objective]
    if mode in ("min_cost", "la_given_target"):
        target = _target(profile, target, min_cost)
    _check_target_on(problem, target_on, mode)
    admits_a_program(problem, budget_applies=mode != "min_cost")
    sf = None
    if mode == "safety_first":
        from allocator.optim.safety import safety_first

        from allocator.optim.pipeline import no_empty_answer

        sf = safety_first(problem, time_limit=time_limit, method=method, engine=engine, settle=settle)
        out = no_empty_answer(problem, sf.chosen, engine)  # as optimize answers
    else:
        out = optimize(problem, mode, target=target, time_limit=time_limit, method=method, engine=engine,
                       target_on=target_on)
    if out.status is Status.INFEASIBLE and target_on == "p10" and out.reachable is not None:
        raise _out_of_reach_at_p10(problem, target, out.reachable, out.plan)  # a list exists, short at the 10th pct
    if out.status is Status.INFEASIBLE:
        err = _infeasible(problem, "p_match" if mode == "safety_first" else mode, target, out.reachable, out.plan)
        if not err.groups:  # the limits admit a list: the "infeasible" was numerical, not the user's settings
            other = "cbc" if engine == "highs" else "highs"
            raise SolverError(f"the {engine} engine found no list although the limits admit one (numerical "
                              f"trouble); retry with --solver {other}, and please report")
        raise err
    if out.status is Status.NO_SOLUTION and time_limit is None:
        raise SolverError(f"the solver stopped without a list and without a time limit ({out.message or engine}); "
                          "please report")
    if out.status is Status.NO_SOLUTION:
        raise TimeLimitError(f"no list found within the time limit ({time_limit}s): raise --time-limit")
    if out.status is Status.ERROR:
        raise SolverError(f"the solver failed: {out.message or engine + ' reported an error'}")
    plan = out.plan
    refuse_empty(problem, plan)
    # min_cost lists answer to no budget (the cost is what they minimize)
    bad = feasibility.violations(problem.with_limits(budget=np.inf) if mode == "min_cost" else problem, plan)
    if bad:
        raise SolverError(f"the returned list breaks {bad[0][0]}: {bad[0][1]} (a bug; please report)")
    metrics = evaluate(problem, plan)
    mc = verify(problem, plan, draws=draws, seed=seed, p_analytic=metrics.p_match) if draws > 0 else None
    gain = (metrics.p_match - evaluate(problem, Plan(plan.idx, (), plan.divisions), correlations=()).p_match
            if plan.signals else None)
    check, sc, cc = planfigure.list_checks(problem, plan, metrics)  # as the sweep rows take them; with --draws 0 too
    warns = list_warnings(problem, plan, metrics, budget_applies=mode != "min_cost", score_check=sc, cap_check=cc)
    warns += published_curve.below_range_warning(check, metrics.p_match_interval)
    warns += usce_warnings(profile, catalog, problem, plan, metrics, card=card, correlation=correlation, season=season)
    if mode in ("min_cost", "la_given_target"):
        warns += domain.target_warning(metrics.p_match, metrics.p_match_interval, metrics.p_match_pessimistic, target,
                                       domain.figure_source(problem), min_cost=mode == "min_cost")
        warns += domain.plan_target_warning(planfigure.plan_figure(metrics.p_match_interval, metrics.p_match_worst_season,
                                                               check, sc, cap_check=cc), metrics.p_match_interval, target)
    robust = robustness(problem, plan, metrics, mode, time_limit, engine) if compare else None
    return Result(out.status, problem, plan, metrics, out, mc, mode, target, gain, unsafe_first(warns), robust,
                  published_curve=check, target_on=target_on if mode == "min_cost" else None, score_check=sc,
                  cap_check=cc,
                  **({} if sf is None else _trade(problem, sf)))


def usce_warnings(profile, catalog, problem: Problem, plan: Plan, metrics, **load_kw) -> list[str]:
    """For an applicant with no US clinical experience, :func:`domain.usce_warning` with the same
    list's P(match) at ``usce_months = 1``: the problem rebuilt from the same profile and catalog
    (``load_kw``: the card, correlation and season it was built with) and the list evaluated
    exactly.  None under a catalog's own p_match, where the profile does not enter."""
    a = problem.applicant
    if a is None or a.usce_months > 0 or problem.source == "catalog p_match":
        return []
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    one = load(prof.model_copy(update={"applicant": prof.applicant.model_copy(update={"usce_months": 1.0})}),
               catalog, **load_kw)
    pos = {pid: i for i, pid in enumerate(one.ids)}
    to = [pos[pid] for pid in problem.ids]  # the same candidates (no screen reads US clinical experience)
    plan1 = Plan.of([to[i] for i in plan.idx], {to[i]: k for i, k in plan.signals}, plan.divisions)
    return domain.usce_warning(problem.card, a, metrics.p_match, evaluate(one, plan1, correlations=()).p_match)


def _check_target_on(problem: Problem, target_on: str, mode: str) -> None:
    """``target_on`` is "average" or "p10"; "p10" needs --min-cost."""
    if target_on not in ("average", "p10"):
        raise InputError(f"--target-on {target_on!r}: use average or p10")
    if target_on == "average":
        return
    if mode != "min_cost":
        raise InputError("--target-on p10 judges the --min-cost target: add --min-cost, or use --target-on average")
    # (a problem with no range to judge on is refused by the search itself: mincost.check_p10)


def _out_of_reach_at_p10(problem: Problem, target: float, reachable: float, plan: Plan) -> InfeasibleError:
    """No budget's best-P(match) list (``plan``) reaches ``target`` at the 10th percentile."""
    from allocator.optim.explain import out_of_reach_at_p10

    free = problem.with_limits(budget=np.inf)
    note = synthetic_suffix(problem)
    msg = out_of_reach_at_p10(free, target, reachable, binding(free, plan))
    return InfeasibleError(f"infeasible: {msg}{note} (conflicting: target)", ("target",),
                           evaluate(problem, plan, correlations=()).p_match, synthetic=bool(problem.synthetic),
                           best_p10=reachable)


def _trade(problem: Problem, sf) -> dict:
    """The safety-first answer's margin, best reachable P(match) and the lists it is set
    against (the safest, the LA-leaning), for :class:`Result`."""
    alts = {}
    for name, o in (("safest", sf.safest), ("la_leaning", sf.la_leaning)):
        if o is not None and o.status.has_list:
            alts[name] = (o.plan, evaluate(problem, o.plan, correlations=()), o.status, o.gap)  # no sensitivity rows
    return {"safety_margin": sf.margin, "p_match_best": sf.p_best, "alternatives": alts}


def _target(profile, target: float | None, min_cost: bool) -> float:
    """The P(match) target of --min-cost or the p_match_la objective: ``target``, else the
    profile's ``target_p_match``; InputError when there is none or it is outside (0, 1)."""
    prof_target = profile.strategy.target_p_match if isinstance(profile, Profile) else None
    if target is None and prof_target is None and isinstance(profile, (str, Path)):
        prof_target = load_profile(profile).strategy.target_p_match
    target = target if target is not None else prof_target
    what = "--min-cost" if min_cost else "objective p_match_la"
    if target is None:
        raise InputError(f"{what} needs a target: pass --target P (0 < P < 1) or set [strategy] target_p_match")
    if not 0 < target < 1:
        raise InputError(f"--target {target}: must be strictly between 0 and 1")
    return float(target)


def _nothing_left(problem: Problem) -> str:
    """Why no program is left, from the excluded rows' reasons: never_apply, eligibility, or both."""
    reasons = [r["reason"] for r in problem.excluded_rows]
    never = sum(r == "never_apply" for r in reasons)
    other = [r for r in reasons if r != "never_apply"]
    if other and not never:
        return (f"no program is left to apply to: every program of the catalog's specialties excludes this "
                f"applicant (for example: {other[0]}); check the [applicant] fields or use another catalog")
    why = f"never_apply removes {never}" + (f" and eligibility {len(other)} (for example: {other[0]})" if other else "")
    return (f"no program is left to apply to: {why} of the catalog's specialties' programs; shorten never_apply"
            + (" or check the [applicant] fields" if other else ""))


def _all_in_la(problem: Problem) -> str:
    """Why an LA cap admits no list when every candidate is in Greater LA: the catalog itself,
    or never_apply and the model's exclusions removing the programs outside it."""
    cap = f"la_share_max {problem.la_share_max:g}"
    outside = [r for r in problem.excluded_rows if not r.get("la_area", False)]  # programs outside LA left out
    never = sum(r["reason"] == "never_apply" for r in outside)
    other = len(outside) - never
    if not outside:
        where = getattr(problem.candidates, "path", None)
        return (f"{where or 'the catalog'}: every program of the profile's specialties is in Greater LA, so {cap} "
                "(a list needs programs outside LA beside them) admits no list: add programs outside Greater LA to "
                "the catalog, or raise la_share_max to 1")
    why = " and ".join(x for x in (f"never_apply removes {never}" if never else "",
                                   f"eligibility {other}" if other else "") if x)
    return (f"every program left is in Greater LA, and {cap} needs programs outside it beside them ({why} of "
            "the others): raise la_share_max to 1" + (", or shorten never_apply" if never else "")
            + (", or check the [applicant] fields (`allocator estimate` lists the exclusions)" if other else ""))


def admits_a_program(problem: Problem, *, budget_applies: bool = True,
                     advice: str = "raise [strategy] budget or --budget") -> None:
    """Refuse settings under which the only list is the empty one (an "optimal" P(match) of
    0 would read as an answer): no candidate left, or a budget that pays for no program
    (``advice``: what the budget message tells the user to change)."""
    if problem.min_apps > 0 or problem.must:  # the list is then infeasible, and the conflict is named
        return
    if problem.n == 0:
        raise InputError(_nothing_left(problem))
    la = np.asarray(problem.la, bool)
    if problem.la_share_max < 1 and la.all():
        raise InputError(_all_in_la(problem))
    if not budget_applies:
        return
    pool = ~la if problem.la_share_max < 1 else np.ones(problem.n, bool)  # under a cap, one program outside LA
    cheapest = float(problem.schedule.fee(1)) + float(np.min(problem.extra[pool]))
    if problem.budget < cheapest - BUDGET_TOL:
        fees = "its fee_extra: no ERAS fees" if problem.schedule.season == "none" else \
            f"ERAS fees {problem.schedule.season} plus its fee_extra"
        where = " outside Greater LA (under the LA cap a list needs one)" if problem.la_share_max < 1 and la.any() else ""
        raise InputError(f"budget ${problem.budget:,.2f} pays for no application: the cheapest program{where} costs "
                         f"${cheapest:,.2f} ({fees}); {advice}")


def refuse_empty(problem: Problem, plan: Plan | None) -> None:
    """A list with no program is no answer, whatever found it: InputError with the limits."""
    if plan is None or len(plan.idx):
        return
    if not np.max(problem.all_probabilities(), initial=0.0) > 0:
        raise InputError("no program gives any chance of a match: every program's P(success) is 0 under these "
                         "inputs; check the catalog's p_match column (or the profile)")
    raise InputError(f"no list but the empty one meets these limits (budget ${problem.budget:,.0f}, at most "
                     f"{problem.max_apps} applications, LA share <= {problem.la_share_max:g}, with never_apply and "
                     "eligibility); relax one of them")


def problem_warnings(problem: Problem, budget_applies: bool = True, score_check: dict | None = None) -> list[str]:
    """The warnings about the inputs, whatever the list (:func:`input_warnings` of the problem;
    ``score_check``: a list's Step 2 CK score check, :func:`allocator.verification.scorecheck.check`,
    whose figure the score warning then gives).  Every answer and every sweep carries them."""
    return input_warnings(problem.input_warnings, problem.card, problem.applicant, problem.specialties,
                          own_p_match=problem.source == "catalog p_match", budget_applies=budget_applies,
                          score_check=score_check)


def input_warnings(warnings, card, applicant, specialties, *, own_p_match: bool, budget_applies: bool,
                   score_check: dict | None = None) -> list[str]:
    """The profile's defaults and contradictions (``warnings``: profile_warnings; the
    default-budget one only where a budget applies) and, under the model's probabilities,
    whether the applicant is where the model was checked."""
    from allocator.inputs.profile import NO_BUDGET

    out = [w for w in warnings if budget_applies or not w.startswith(NO_BUDGET)]
    if not own_p_match:
        out += domain.applicant_warnings(card, applicant, specialties, score_check)
    return out


def list_warnings(problem: Problem, plan: Plan, metrics, budget_applies: bool = True,
                  score_check: dict | None = None, cap_check: dict | None = None) -> list[str]:
    """The profile's warnings (profile_warnings; the default-budget one only where the budget
    applies: not for the cheapest list, nor for a season update) and the calibrated-domain
    warnings of a list (its size, its expected interviews, and how much of its P(match) the
    signal and preference effects carry); ``score_check`` (scorecheck.check of the list) puts
    the list's own figure in the Step 2 CK warning, ``cap_check`` (capcheck.check of the list)
    its figure under the IMG-share cap check in the composition warning."""
    bare = metrics.p_match
    if plan.signals or plan.divisions:
        bare = evaluate(problem, Plan(plan.idx), correlations=()).p_match
    out = problem_warnings(problem, budget_applies, score_check)
    out += domain.warnings(problem.card, metrics.n_applications, metrics.expected_interviews, metrics.p_match, bare)
    out += composition.warnings(problem.card, composition.of(problem, plan, metrics), cap_check,
                                ranged=metrics.p_match_interval is not None)
    if problem.fm is None:  # a set correlation: the one-factor copula is the model
        out += domain.copula_warning(metrics.p_match, metrics.p_match_interval, problem.rho)
    out += domain.no_range_warning(problem, metrics.p_match_interval)
    return out


def robustness(problem: Problem, plan: Plan, metrics, mode: str, time_limit, engine) -> dict | None:
    """What the ensemble-optimized list costs in central P(match) and gains at the 10th
    percentile, against the list optimized for the central card alone."""
    if problem.card_choice != "ensemble" or problem.fm is None or mode != "p_match" or metrics.p_match_interval is None:
        return None  # no range over plausible models (one card): nothing to be robust over
    from allocator.optim.mixture import central_problem

    cp = central_problem(problem)
    out = optimize(cp, mode, time_limit=time_limit, engine=engine)
    if not out.status.has_list:
        return None
    mc_ = evaluate(problem, out.plan)
    return {"central_card": problem.fm_central.names[0],
            "robust_list": {"p_match_central": metrics.p_match_central, "p_match_p10": metrics.p_match_interval[0],
                            "p_match_ensemble": metrics.p_match},
            "central_list": {"p_match_central": mc_.p_match_central, "p_match_p10": mc_.p_match_interval[0],
                             "p_match_ensemble": mc_.p_match, "n_applications": mc_.n_applications},
            "cost_in_central_p": mc_.p_match_central - metrics.p_match_central,
            "gain_at_p10": metrics.p_match_interval[0] - mc_.p_match_interval[0]}


def score(problem: Problem, program_ids: Iterable[str], *, signals: dict[str, str] | None = None,
          divisions: Iterable[str] = (), where: dict[str, str] | None = None
          ) -> tuple[Plan, list[tuple[str, str]], list[dict]]:
    """A user's list (program ids) as a Plan over the problem, its violations, and the programs
    on it that a catalog screen excludes for this profile (``min_step2``, ``max_attempts``,
    ``max_years_since_graduation``: rows of ``problem.excluded_rows``, in list order).  Those stay
    applications with no chance of a match, as `update` keeps them: the plan leaves them out,
    which changes no probability, and the violations count them (fees, number, LA share,
    signals); :func:`with_screened` adds them to a list's metrics.  Refused (InputError): an id
    not among the candidates (``where``: each id's place in the user's file, "line 5", names
    it), a program the profile's never_apply lists, and a program named twice."""
    ids = list(program_ids)
    pos = {pid: i for i, pid in enumerate(problem.ids)}
    excluded = {r["program_id"]: r for r in problem.excluded_rows}
    unknown = [x for x in ids if x not in pos and x not in excluded]
    never = [x for x in ids if x in excluded and excluded[x]["reason"] == "never_apply"]
    for bad, why in ((unknown, "which is not a candidate: not in the catalog, or of a specialty the profile does "
                               "not apply in; fix or remove it"),
                     (never, "which is excluded for this profile (never_apply); remove it from the list, or from "
                             "never_apply to score it")):
        if bad:
            at = f"{(where or {})[bad[0]]}: " if bad[0] in (where or {}) else ""
            more = f" (and {len(bad) - 1} more: {', '.join(bad[1:4])}{', ...' if len(bad) > 4 else ''})" if len(bad) > 1 else ""
            raise InputError(f"{at}list names {bad[0]!r}{more}, {why}")
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise InputError(f"list names {dup!r} twice; list each program once")
    divisions = tuple(divisions)
    check_list_against(problem, signals or {}, divisions)
    if problem.fixed_divisions:  # already applied to p by the profile
        divisions = ()
    sig = {pos[k]: v for k, v in (signals or {}).items() if k in pos}
    plan = Plan.of([pos[x] for x in ids if x in pos], sig, divisions)
    screened = [excluded[x] for x in ids if x in excluded]
    also = [{**r, "signal": (signals or {}).get(r["program_id"])} for r in screened]
    return plan, feasibility.violations(problem, plan, also), screened


def with_screened(problem: Problem, plan: Plan, metrics, screened: list[dict]):
    """``metrics`` of ``plan`` as the metrics of the whole list: the screened programs of
    :func:`score` added to its number of applications, its LA count and its fees (ERAS tiers
    over the whole list); every probability is unchanged, since they have no chance."""
    if not screened:
        return metrics
    spec = [problem.specialties[problem.spec[i]] for i in plan.idx] + [r["specialty"] for r in screened]
    extra = [float(problem.extra[i]) for i in plan.idx] + [float(r["fee_extra"]) for r in screened]
    by = {name: problem.schedule.fee(spec.count(name)) + sum(e for s, e in zip(spec, extra) if s == name)
          for name in sorted(set(spec))}
    return dataclasses.replace(metrics, cost=float(sum(by.values())), cost_by_specialty=by, n_applications=len(spec),
                               n_la=metrics.n_la + sum(bool(r["la_area"]) for r in screened))


def screened_warning(screened: list[dict]) -> list[str]:
    """The one warning for a scored list's screened programs (:func:`score`): how many, the first
    three with their reason, and what they count for."""
    if not screened:
        return []
    k = len(screened)
    named = ", ".join(f"{r['program_id']} ({r['reason']})" for r in screened[:3])
    rest = f" and {k - 3} more (the JSON's excluded_programs lists them all)" if k > 3 else ""
    return [f"{k} program{'s' if k > 1 else ''} on the list {'are' if k > 1 else 'is'} excluded for this profile by "
            f"the catalog's screens and scored with no chance of a match (each still counts as an application, in "
            f"the fees and the limits; a warning on the list's make-up counts only the programs scored): "
            f"{named}{rest}"]


def check_list_against(problem: Problem, signals: dict[str, str], divisions: tuple[str, ...]) -> None:
    """Refuse a list's signals and divisions that the problem does not model (InputError naming
    the program or division and what to change); counts beyond the limits are violations."""
    why_sig = next((n for n in problem.notes if n.startswith("signals not modelled")), "") or next(
        (w.split(":")[0] for w in problem.input_warnings if w.startswith("no ERAS signal counts for season")), "")
    for pid, kind in signals.items():
        if kind not in problem.p_signal:
            reason = (why_sig.removeprefix("signals not modelled: ") if not problem.p_signal
                      else f"this season models only {', '.join(sorted(problem.p_signal))} signals")
            what = "signals are not modelled" if not problem.p_signal else f"a {kind!r} signal is not modelled"
            raise InputError(f"program {pid!r} has signal {kind!r}, but {what} here ({reason or 'signals = none'}); "
                             "clear its signal, or score it under a profile/season that models it")
    if not divisions:
        return
    if problem.fixed_divisions:
        if set(divisions) != set(problem.fixed_divisions):
            raise InputError(f"geographic preference {'; '.join(divisions)} differs from the profile's fixed "
                             f"geographic_preference {'; '.join(problem.fixed_divisions)}; make them agree or drop "
                             "the list's divisions")
        return
    if problem.p_geo is None:
        raise InputError(f"the list gives a geographic preference ({'; '.join(divisions)}) but this problem does "
                         "not model one (geographic_preference = \"none\" or the catalog's own p_match); drop the "
                         "divisions line or set geographic_preference = \"optimize\"")
