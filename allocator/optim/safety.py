"""The safety-first objective: match somewhere first, then prefer the better tiers.

The seed guide's own order (match first, then Los Angeles, then the rest of the West), made
exact in two solves on the same model and candidates:

1. the best P(match) reachable under the limits, ``p_best`` (an exact max-P solve);
2. the best expected tier utility E[U] (``Problem.utility``: LA > rest of the West >
   elsewhere by default) among the lists with P(match) >= ``p_best - margin`` (one exact
   solve with that P(match) floor as a constraint, mode "utility_given_target"), seeded
   with step 1's tangent cuts and started from step 1's list, which meets the floor.

With equal tier utilities E[U] = u P(match), so step 2's optimum is step 1's list: it is
returned without a second solve.  The trade is shown against two other lists at the same
floor: the safest list (step 1's) and the LA-leaning list (the best P(match in Greater LA)
with P(match) >= the floor, mode "la_given_target"; a comparison only, so with --time-limit
its solve stops after half as long as the answer's solves took, at least LA_MIN_SECONDS).
When the floored steps are settled (no --time-limit), the LA-leaning solve runs beside step
2 on a second thread (see :func:`_side_by_side`), step 2's local search beside its
relaxation's root (:func:`_climb_beside`), and both floored models are built beside step 1
(:func:`_floored_models`).

Step 1 is exact.  The floored steps start from a local search (:mod:`allocator.optim.tradeup`,
which also moves the geographic preference) and are then settled by the relaxation tree:
proven optimal when it closes, else the best list with the gap it proves (status
"feasible"); see SETTLE_GAP for when the integer program is tried as well.

Units: probabilities in [0, 1]; ``margin`` in probability (0.01 = one percentage point).
When step 1 stops at a time limit, ``p_best`` is the best P(match) found, not proven.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
from dataclasses import dataclass

import numpy as np

from allocator.optim import deadline, feasibility, pipeline
from allocator.optim.beside import both
from allocator.optim.builder import objective_unit
from allocator.optim.engines import DEFAULT_ENGINE
from allocator.optim.evaluate import evaluate
from allocator.optim.outer import SETTLED, TOL, WIDE_GAP, Outcome
from allocator.optim.problem import Problem
from allocator.optim.tradeup import la_utility, trade_up
from allocator.status import Status

log = logging.getLogger(__name__)

LA_MIN_SECONDS = 5.0
LA_SHARE = 0.5  # of the time the answer took
# With no --time-limit, a floored step (the answer's, the LA-leaning list's, a sweep point's)
# is settled by the relaxation tree, a fixed number of linear programs (so the same answer on a
# busy machine): when the gap it proves is above SETTLE_GAP the best list found is the answer,
# status "feasible" with that gap; only a gap at or below it gets the integer program, for at
# most PROOF_SECONDS, to close (and a gap of outer.WIDE_GAP or more, which says the local search
# is far from the optimum).  Measured on the four shipped profiles: the relaxation leaves
# 0.0004-0.009 of expected utility (0.0004-0.003 since the local search exchanges signals),
# and 10 s of the integer program closed none of them (it narrowed the smallest to 5e-5) while
# tripling the time of an answer.  --time-limit T gives
# every step's integer program up to the time left of T instead.
PROOF_SECONDS = 10.0
SETTLE_GAP = 1e-4  # per unit of the largest utility for E[U] (outer._in_units), as is for P(match in LA)
# ... on integer programs over more candidates than this; smaller ones get the integer program
# (PROOF_SECONDS for the answer, LA_MIN_SECONDS for the LA-leaning list), which proves both
# steps there in 1.2-3.4 s.  Measured with the typical applicant on 19 slices of the demo
# catalog (benchmarks/small_catalogs.py): from 18 candidates up the program took 2.9-18.7 s and
# often stopped at the clock, so its lists depended on the machine's load; settled at the root
# the same slices took 0.26-3.4 s and got the program's E[U] and P(LA) on every slice, with a
# wider stated gap where the program would have proven the list (--time-limit buys that).
SETTLE_MIN_CANDIDATES = 16
# Settled floored steps: the LA-leaning solve on a second thread beside step 2 (False: one
# after the other, as with --time-limit; benchmarks/second_thread.py compares them)
SIDE_BY_SIDE = True
# Settled step 2: its local search on a thread beside the relaxation's root (_climb_beside)
CLIMB_BESIDE = True
# Settled side-by-side steps: both floored models built beside step 1 (_floored_models)
BUILD_AHEAD = True


def settle_gap(n_candidates: int, time_limit: float | None) -> float | None:
    """The gap a floored step settles at (None: solve it out, within ``time_limit``)."""
    return SETTLE_GAP if time_limit is None and n_candidates > SETTLE_MIN_CANDIDATES else None


@dataclass(frozen=True)
class SafetyFirst:
    """The three solves of a safety-first answer."""

    chosen: Outcome  # the best E[U] at the floor (the answer); its times are the three solves' totals
    safest: Outcome  # the best P(match) (step 1)
    la_leaning: Outcome | None  # the best P(match in LA) at the floor (None when not asked or no list)
    margin: float
    p_best: float | None  # step 1's P(match); None when no list exists
    floor: float | None  # p_best - margin (never below 0)


def equal_utilities(problem: Problem) -> bool:
    """True when every candidate has the same utility (then E[U] is proportional to P(match))."""
    u = problem.utility
    return len(u) == 0 or bool(np.ptp(u) == 0)


def _la_limit(time_limit: float | None, t0: float, settle: bool = True) -> float:
    """The LA-leaning list is shown for comparison only, so its solve gets at most half as long
    as the answer's solves took together (at least LA_MIN_SECONDS), within the caller's
    limit; a list stopped there is reported as found, not proven best (status "feasible").
    A time limit that is not a mere cap (``settle`` False: `solve --time-limit S`, asked for
    to search and prove longer) gives it the rest of that limit instead, or LA_MIN_SECONDS
    when the answer used it all (a deadline then, local search included: _safety_first)."""
    left = pipeline.left(time_limit, t0)
    if left is not None and not settle:
        return max(left, LA_MIN_SECONDS)
    cap = max(LA_MIN_SECONDS, LA_SHARE * (time.perf_counter() - t0))
    return cap if left is None else min(cap, left)


def _pools(*outs: Outcome | None) -> dict:
    """Every earlier solve's exposures by term name: tangents there are valid cuts for any
    later solve on the same nodes (same candidates or fewer, any limits)."""
    seeds: dict[str, list] = {}
    for out in outs:
        for name, Ls in ((out.cut_pool or {}) if out is not None else {}).items():
            seeds.setdefault(name, []).extend(Ls)
    return seeds


def _floored_models(problem: Problem, pla: Problem, cand, engine: str):
    """Step 2's model (mode "utility_given_target" over step 1's candidates ``cand``) and the
    LA-leaning list's (mode "la_given_target" over its own candidates), each loaded into the
    engine, at a floor of 0 (set to the real floor, p_best - margin, when they are solved:
    the same model as one built then).  Built on a second thread while step 1's linear
    programs run, which release the GIL."""
    from allocator.optim.builder import build
    from allocator.optim.engines import open_session

    models = []
    for pr, mode, pool in ((problem.with_limits(objective="utility"), "utility_given_target", cand),
                           (pla, "la_given_target", pipeline.candidates(pla, "la_given_target", None))):
        f = build(pr, pool, mode, target=0.0) if len(pool) else None  # no candidate: solve_milp answers alone
        if f is not None:
            open_session(f, engine)
        models.append(f)
    return tuple(models)


def safety_first(problem: Problem, *, margin: float | None = None, time_limit: float | None = None,
                 method: str = "auto", engine: str = DEFAULT_ENGINE, la_leaning: bool = True,
                 settle: bool | None = None) -> SafetyFirst:
    """The safety-first answer for ``problem`` (its limits; ``margin`` default
    ``problem.safety_margin``), with the safest list and, with ``la_leaning``, the LA-leaning
    list at the same floor.  ``time_limit`` (seconds) is shared by the solves.  ``settle``
    (default: when there is no time limit) settles the floored steps at the relaxation's
    bound (SETTLE_GAP); ``time_limit`` is then only a cap, as on the web page, where every
    request has one but the answer should be the command line's: the settled work (the
    relaxation's root rounds, the local searches) stops there too
    (:mod:`allocator.optim.deadline`), keeping the best list and bound found so far.  Without
    ``settle`` (`solve --time-limit S`) the limit is the deadline of the whole answer as well:
    the local searches stop there, and each step's integer program gets what is left of it.

    >>> sf = safety_first(problem, margin=0.01)  # doctest: +SKIP
    >>> sf.chosen.plan, sf.p_best, sf.floor  # doctest: +SKIP
    """
    margin = float(problem.safety_margin if margin is None else margin)
    if not 0 <= margin <= 1:
        raise ValueError(f"safety margin {margin}: must be between 0 and 1")
    settle = time_limit is None if settle is None else settle
    with deadline.capped(time_limit if settle else None):  # a cap: settled work stops there too
        return _safety_first(problem, margin, time_limit, method, engine, la_leaning, settle)


def _safety_first(problem: Problem, margin: float, time_limit: float | None, method: str, engine: str,
                  la_leaning: bool, settle: bool) -> SafetyFirst:
    t0 = time.perf_counter()
    pm = problem.with_limits(objective="p_match")
    pla = problem.with_limits(objective="p_match_la")
    path = pipeline.choose_path(pm, "p_match", method)
    cand = pipeline.candidates(pm, "p_match", None) if path == "milp" else None
    side = SIDE_BY_SIDE and la_leaning and settle and not equal_utilities(problem)  # settled: no clock sets the order
    step1 = functools.partial(pipeline.optimize, pm, "p_match", time_limit=time_limit, method=method, engine=engine,
                              cand=cand, keep_basis=True)
    if side and BUILD_AHEAD and path == "milp":
        safest, ahead = both(step1, lambda: _floored_models(problem, pla, cand, engine))
    else:
        safest, ahead = step1(), (None, None)
    if not safest.status.has_list:
        return SafetyFirst(safest, safest, None, margin, None, None)
    p_best = float(safest.objective)
    floor = max(0.0, p_best - margin)
    log.info("safety first: best P(match) %.6f (%s, %.1f s); floor %.6f", p_best, safest.status.value,
             safest.wall, floor)
    la_out = None
    if side:
        chosen, solved, la_out = _side_by_side(problem, pla, safest, floor, cand, time_limit, t0, method, engine,
                                               ahead)
    else:
        with deadline.capped(None if settle else pipeline.left(time_limit, t0)):  # --time-limit: local search too
            chosen, solved = _best_utility(problem, safest, floor, cand, pipeline.left(time_limit, t0), method, engine,
                                           settle)
    log.info("safety first: best expected utility at the floor %.6f (%s, %.1f s)", chosen.objective,
             chosen.status.value, chosen.wall if solved else 0.0)
    if la_leaning:
        if la_out is None:
            start_out = dataclasses.replace(safest, cut_pool=_pools(safest, chosen))
            window = _la_limit(time_limit, t0, settle)
            with deadline.capped(None if settle or time_limit is None else window):
                la_out = _traded(pla, start_out, floor, la_utility(problem), None, "la_given_target", window, method,
                                 engine, others=(chosen.plan,), settle=settle)
        if not la_out.status.has_list:
            log.warning("safety first: the LA-leaning solve returned no list (%s)", la_out.message)
            la_out = None
    steps = [safest] + ([chosen] if solved else []) + ([la_out] if la_out is not None else [])
    chosen = dataclasses.replace(chosen, seconds=sum(o.seconds for o in steps), wall=time.perf_counter() - t0,
                                 solves=sum(o.solves for o in steps))
    if safest.status is not Status.OPTIMAL:  # step 1 stopped early: a later step may have found a safer list
        return _reconciled(problem, SafetyFirst(chosen, safest, la_out, margin, p_best, floor))
    return SafetyFirst(chosen, safest, la_out, margin, p_best, floor)


def _reconciled(problem: Problem, sf: SafetyFirst) -> SafetyFirst:
    """When step 1 stopped before proving its list (a time limit) and a floored step found a list
    with a higher P(match), that list is the best P(match) found: the safest list, the best
    P(match) and the floor move up to it, and the answer (and the LA-leaning list) are the best
    of the lists found that meet the new floor, so the report never says the answer beats the
    best.  Every list here is one a step returned; the statuses stay "feasible"."""
    found = [o for o in (sf.safest, sf.chosen, sf.la_leaning) if o is not None and o.status.has_list]
    scored = [(evaluate(problem, o.plan, correlations=()), o) for o in found]
    top_m, top = max(scored, key=lambda t: t[0].p_match)
    if top_m.p_match <= sf.p_best + 1e-12:
        return sf
    p_best = float(top_m.p_match)
    floor = max(0.0, p_best - sf.margin)
    ok = [(m, o) for m, o in scored if m.p_match >= floor - 1e-12]

    def best(key, out: Outcome, objective) -> Outcome:
        m, o = max(ok, key=lambda t: key(t[0]))
        if o is out:
            return out
        gap = None if out.bound is None else max(0.0, out.bound - objective(m))
        return dataclasses.replace(out, plan=o.plan, objective=objective(m), status=Status.FEASIBLE, gap=gap)

    safest = best(lambda m: m.p_match, sf.safest, lambda m: m.p_match)
    chosen = best(lambda m: m.expected_utility, sf.chosen, lambda m: m.expected_utility)
    la = None if sf.la_leaning is None else best(lambda m: m.p_match_la, sf.la_leaning, lambda m: m.p_match_la)
    log.info("safety first: a floored step found P(match) %.6f above step 1's %.6f; the floor moves to %.6f",
             p_best, sf.p_best, floor)
    return SafetyFirst(chosen, safest, la, sf.margin, p_best, floor)


def _side_by_side(problem: Problem, pla: Problem, safest: Outcome, floor: float, cand, time_limit, t0: float,
                  method: str, engine: str, ahead=(None, None)) -> tuple[Outcome, bool, Outcome]:
    """Step 2 and the LA-leaning list at once, the latter on a second thread
    (:func:`allocator.optim.beside.both`), then the LA-leaning climb from the answer as well,
    as the sequential order does.  The answer is step 2's either way.  The LA-leaning solve
    starts from the safest list's climb only and without the answer's tangents, so its list
    may differ from the sequential order's, within the gap each states (the same on the four
    shipped profiles: benchmarks/second_thread.py); its integer-program window, used
    only when the relaxation leaves a gap of at most SETTLE_GAP, is LA_MIN_SECONDS (step 2's
    time is not known yet).  ``ahead``: the two steps' models built beside step 1
    (:func:`_floored_models`), or None each."""
    fu, fla = ahead
    (chosen, solved), la_side = both(
        lambda: _best_utility(problem, safest, floor, cand, pipeline.left(time_limit, t0), method, engine, True, fu),
        lambda: _traded(pla, safest, floor, la_utility(problem), None, "la_given_target",
                        _la_limit(time_limit, t0), method, engine, settle=True, formulation=fla))
    la_out = _improved(pla, la_side, (chosen.plan,), floor, la_utility(problem), "la_given_target")
    return chosen, solved, la_out


def _traded(problem: Problem, start: Outcome, floor: float, utility: np.ndarray, cand, mode: str,
            time_limit, method: str, engine: str, others=(), settle: bool = False, beside: bool = False,
            formulation=None) -> Outcome:
    """The best list found for ``mode`` at the floor: local search from ``start`` (see
    :mod:`allocator.optim.tradeup`), then the exact integer program started from it, for at
    most ``time_limit`` seconds (with ``settle``: only when the relaxation tree leaves a gap
    of at most :func:`settle_gap`, or of outer.WIDE_GAP or more).  Proven optimal when the program closes; otherwise the better
    list with the program's bound (status "feasible", its gap stated).  ``others``: more
    lists that meet the floor, searched from as well.  ``beside`` (settled steps only): the
    search runs on a second thread while the relaxation's root is solved (:func:`_climb_beside`).
    ``formulation``: the step's model built ahead (:func:`_floored_models`), for its first solve."""
    pool = cand if cand is not None else pipeline.candidates(problem, mode, None)
    gap = settle_gap(len(pool), None) if settle else None
    if beside and gap is not None:
        return _climb_beside(problem, start, floor, utility, cand, pool, mode, time_limit, method, engine, others, gap,
                             formulation)
    t0 = time.perf_counter()
    best = _climbed(problem, (start.plan, *others), floor, utility, pool, mode)
    v_inc, inc = best if best is not None else (_value(problem, start.plan, mode), start.plan)  # the start stands
    log.info("safety first: local search %s -> %.6f in %.2f s", mode, v_inc, time.perf_counter() - t0)
    out = _at_floor(problem, mode, floor, inc, start, cand, gap, time_limit, method, engine, formulation)
    return _with_list(out, inc, v_inc, objective_unit(problem, mode))


def _at_floor(problem: Problem, mode: str, floor: float, plan, start: Outcome, cand, gap, time_limit,
              method: str, engine: str, formulation=None) -> Outcome:
    """The exact solve of ``mode`` at the floor from ``plan``, seeded with ``start``'s tangents
    and started from its last relaxation's basis (on ``formulation`` when it was built ahead)."""
    return pipeline.optimize(problem, mode, target=floor, time_limit=time_limit, method=method, engine=engine,
                             start=plan, seed_cuts=_pools(start), cand=cand, settle_gap=gap, formulation=formulation,
                             warm_basis=start.basis)


def _climb_beside(problem: Problem, start: Outcome, floor: float, utility: np.ndarray, cand, pool, mode: str,
                  time_limit, method: str, engine: str, others, gap: float, formulation=None) -> Outcome:
    """:func:`_traded` for a settled step, with the local search on a second thread while the
    relaxation's root is solved from ``start``'s list (stopped at the root whatever its gap).
    When the better list of the two leaves a gap of at most ``gap`` to that bound (or of
    outer.WIDE_GAP or more, before any deadline has passed), the step is solved again from it,
    as :func:`_traded` would have (integer program included).  The
    root's bound depends on the start only through the tangents there, so the answer is the
    one-after-the-other answer up to the root's settling (the same lists, statuses and values
    on the shipped profiles and the brute-force tests; gaps within 2.1e-5 on the shipped
    profiles: the root stops at outer.SETTLE_RISE or SETTLE_POINT, at a round its seeded
    tangents move); 0.86-0.97x its wall time on the four
    shipped profiles (benchmarks/second_thread.py)."""
    t0 = time.perf_counter()
    out, best = both(
        lambda: _at_floor(problem, mode, floor, start.plan, start, cand, 0.0, time_limit, method, engine, formulation),
        lambda: _climbed(problem, (start.plan, *others), floor, utility, pool, mode))
    v_inc, inc = best if best is not None else (_value(problem, start.plan, mode), start.plan)
    if out.status.has_list and out.objective > v_inc:  # an integral root point beat the search
        v_inc, inc = out.objective, out.plan
    log.info("safety first: local search %s -> %.6f beside the relaxation (%.2f s)", mode, v_inc,
             time.perf_counter() - t0)
    unit = objective_unit(problem, mode)
    if (out.message == SETTLED and out.bound is not None and not deadline.passed()
            and not gap * unit < out.bound - v_inc < WIDE_GAP * unit):
        again = _at_floor(problem, mode, floor, inc, start, cand, gap, time_limit, method, engine)
        out = dataclasses.replace(again, seconds=out.seconds + again.seconds, solves=out.solves + again.solves,
                                  wall=time.perf_counter() - t0, cut_pool=_pools(out, again))
    return _with_list(out, inc, v_inc, objective_unit(problem, mode))


def _with_list(out: Outcome, plan, value: float, unit: float) -> Outcome:
    """``out`` (a solve at the floor), or ``plan`` (valued ``value``, meeting the
    floor) with ``out``'s bound and the gap it leaves when the solve found nothing better
    (optimal within TOL times ``unit``, the objective's size: builder.objective_unit)."""
    if out.status.has_list and out.objective >= value - 1e-12:
        return out
    bound = out.bound if out.status.has_list or out.status is Status.FEASIBLE else None
    gap = None if bound is None else max(0.0, bound - value)
    status = Status.OPTIMAL if gap is not None and gap <= TOL * unit else Status.FEASIBLE
    return dataclasses.replace(out, status=status, plan=plan, objective=value, bound=bound, gap=gap,
                               message=out.message or "best list found by local search")


def _improved(problem: Problem, out: Outcome, starts, floor: float, utility: np.ndarray, mode: str) -> Outcome:
    """``out``, or a better list climbed from one of ``starts`` (lists that meet the floor)."""
    if not out.status.has_list:
        return out
    best = _climbed(problem, starts, floor, utility, pipeline.candidates(problem, mode, None), mode)
    if best is None or best[0] <= out.objective + 1e-12:
        return out
    return _with_list(out, best[1], best[0], objective_unit(problem, mode))


def _climbed(problem: Problem, starts, floor: float, utility: np.ndarray, pool, mode: str):
    """(value in ``mode``, list) of the best list climbed from ``starts`` (local search, see
    :mod:`allocator.optim.tradeup`) that meets every limit and the floor; None if none does."""
    found = [trade_up(problem, plan, floor, utility, pool) for plan in starts]
    ok = [p for p in found if not feasibility.violations(problem, p) and _value(problem, p, "p_match") >= floor]
    return max(((_value(problem, p, mode), p) for p in ok), key=lambda t: t[0], default=None)


def _value(problem: Problem, plan, mode: str) -> float:
    """P(match), E[U] ("utility_given_target") or P(match in LA) ("la_given_target") of ``plan``."""
    m = evaluate(problem, plan, correlations=())
    return {"utility_given_target": m.expected_utility, "la_given_target": m.p_match_la}.get(mode, m.p_match)


def _best_utility(problem: Problem, safest: Outcome, floor: float, cand, time_limit, method: str,
                  engine: str, settle: bool, formulation=None) -> tuple[Outcome, bool]:
    """Step 2: (the best E[U] with P(match) >= floor, whether a solve ran).  The safest list
    itself, valued in E[U], when utilities are equal; otherwise the traded-up list, proven
    best when the integer program closes within ``time_limit`` (default PROOF_SECONDS)."""
    pu = problem.with_limits(objective="utility")
    eu_safest = evaluate(pu, safest.plan, correlations=()).expected_utility
    if equal_utilities(problem):
        u = float(problem.utility[0]) if problem.n else 0.0  # E[U] = u P(match): bound and gap scale by u
        return dataclasses.replace(safest, objective=eu_safest,
                                   bound=None if safest.bound is None else u * safest.bound,
                                   gap=None if safest.gap is None else u * safest.gap), False
    limit = PROOF_SECONDS if time_limit is None else min(time_limit, PROOF_SECONDS) if settle else time_limit
    out = _traded(pu, safest, floor, problem.utility, cand, "utility_given_target", limit, method, engine,
                  settle=settle, beside=CLIMB_BESIDE, formulation=formulation)
    if time_limit is None and out.message == "time limit reached":  # no --time-limit: the proof's own window
        out = dataclasses.replace(out, message=PROOF_WINDOW_MESSAGE)
    return out, True


# Step 2's message when its integer program, run to prove a list whose stated gap is already at most
# SETTLE_GAP, stops at its PROOF_SECONDS wall-clock window and no --time-limit was given: the user set no
# limit, and on a loaded machine the window ends sooner in work done (status feasible, the gap stated).
PROOF_WINDOW_MESSAGE = (f"proof window reached: the integer program that proves the list gets {PROOF_SECONDS:g} s "
                        "of wall-clock time when no --time-limit is given; best list found, its gap stated")


def la_leaning_at(problem: Problem, target: float, *, time_limit: float | None = None, method: str = "auto",
                  engine: str = DEFAULT_ENGINE, proof_seconds: float = PROOF_SECONDS) -> Outcome:
    """The best P(match in Greater LA) with P(match) >= ``target``, found as the floored
    steps are: the safest list (exact max-P), a local search at the floor, then the integer
    program for at most ``time_limit`` (default ``proof_seconds``) seconds; proven optimal
    when it closes, else the best list found with its gap (status "feasible").  A target
    above the best P(match) goes to the exact solve, which proves it out of reach."""
    pm = problem.with_limits(objective="p_match")
    safest = pipeline.optimize(pm, "p_match", time_limit=time_limit, method=method, engine=engine)
    pla = problem.with_limits(objective="p_match_la")
    if not safest.status.has_list or safest.objective < target:
        return pipeline.optimize(pla, "la_given_target", target=target, time_limit=time_limit, method=method,
                                 engine=engine)
    limit = proof_seconds if time_limit is None else time_limit
    return _traded(pla, safest, target, la_utility(problem), None, "la_given_target", limit, method, engine,
                   settle=time_limit is None)
