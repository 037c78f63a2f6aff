"""Re-check a list against every constraint with our own arithmetic (not the solver's word).

Reads the problem's program table (specialty, la_area, fee_extra) and the fee schedule
directly; shares nothing with the integer program.  Returns the violated constraint
groups, each with a sentence; an empty list means feasible.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from allocator.optim.problem import Plan, Problem
from allocator.inputs.fees import BUDGET_TOL

# the budget tolerance of every path (inputs.fees), plus the integer program's own row tolerance
# (HiGHS: 1e-7), which its budget row (cost <= budget + BUDGET_TOL) may use on top
TOL_USD = BUDGET_TOL + 1e-7


def _columns(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, set]:
    """(specialty, la_area, fee_extra, program_id) of the program table as arrays and the
    excluded program ids, read once per problem (they do not depend on the limits)."""
    key = "feasibility_columns"
    if key not in problem._cache:
        c = problem.candidates.column
        excluded = {r["program_id"] for r in problem.excluded_rows}
        problem._cache[key] = (c("specialty"), np.asarray(c("la_area"), bool), np.asarray(c("fee_extra"), float),
                               c("program_id"), excluded)
    return problem._cache[key]


def violations(problem: Problem, plan: Plan, also: Sequence[dict] = ()) -> list[tuple[str, str]]:
    """``[(group, explanation), ...]`` for every constraint ``plan`` breaks.  ``also``: further
    applications outside the candidates (programs the model excludes for the profile, on a
    scored list: rows of ``problem.excluded_rows`` with their ``signal``), which count in the
    fees, the number of applications, the LA share and the signals spent."""
    out: list[tuple[str, str]] = []
    specialty, la, extra, ids, excluded = _columns(problem)
    idx = np.asarray(plan.idx, dtype=int)
    if len(set(plan.idx)) != len(idx):
        out.append(("list", "a program appears twice"))
    n = len(idx) + len(also)
    counts = Counter(specialty[idx].tolist() + [r["specialty"] for r in also])
    fees = sum(problem.schedule.fee(k) for k in counts.values())
    cost = fees + float(extra[idx].sum()) + sum(float(r["fee_extra"]) for r in also)
    if cost > problem.budget + TOL_USD:
        out.append(("budget", f"costs ${cost:,.2f} > budget ${problem.budget:,.2f}"))
    if n > problem.max_apps:
        out.append(("max_applications", f"{n} applications > max {problem.max_apps}"))
    if n < problem.min_apps:
        out.append(("min_applications", f"{n} applications < min {problem.min_apps}"))
    n_la = int(np.count_nonzero(la[idx])) + sum(bool(r["la_area"]) for r in also)
    if n and n_la > problem.la_share_max * n + 1e-9:
        out.append(("la_share", f"{n_la} of {n} in LA > {problem.la_share_max:.0%}"))
    missing = set(problem.must) - set(plan.idx)
    if missing:
        out.append(("must_apply", f"{len(missing)} must_apply program(s) missing"))
    bad = excluded & set(ids[idx].tolist()) if excluded else set()
    if bad:
        out.append(("excluded", f"{sorted(bad)[0]} is excluded (never_apply or ineligible)"))
    for spec, lo in problem.spec_min.items():
        if counts.get(spec, 0) < lo:
            out.append(("specialty_limits", f"{spec}: {counts.get(spec, 0)} < min {lo}"))
    for spec, hi in problem.spec_max.items():
        if counts.get(spec, 0) > hi:
            out.append(("specialty_limits", f"{spec}: {counts.get(spec, 0)} > max {hi}"))
    used = Counter((r["specialty"], r["signal"]) for r in also if r.get("signal"))
    if plan.signals:
        on_list = set(plan.idx)
        for i, kind in plan.signals:
            if i not in on_list:
                out.append(("signals", f"signal on {ids[i]}, not on the list"))
            used[(specialty[i], kind)] += 1
        if len({i for i, _ in plan.signals}) != len(plan.signals):
            out.append(("signals", "a program has two signals"))
    for key, k in used.items():
        if k > problem.signals_available.get(key, 0):
            out.append(("signals", f"{k} {key[1]} signals in {key[0]} > {problem.signals_available.get(key, 0)}"))
    if len(plan.divisions) > problem.max_divisions:
        out.append(("geographic_preference", f"{len(plan.divisions)} divisions > {problem.max_divisions}"))
    return out


def is_feasible(problem: Problem, plan: Plan) -> bool:
    return not violations(problem, plan)
