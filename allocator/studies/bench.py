"""The list-quality benchmark: the optimizer against the heuristic lists, on one evaluator.

For each profile and budget (USD) every method builds a list under the same constraints
(budget, counts, LA cap, must/never; :mod:`allocator.studies.heuristics`), and every list is
scored by :func:`allocator.optim.evaluate.evaluate`: ``p_match`` is P(at least one match) under
the problem's correlation, ``p_match_la`` P(matching in Greater LA with LA programs ranked
first), ``cost`` the list's fees in USD.  The optimizer's rows have method "optimizer"
(exact, maximizing P(match) whatever the profile's objective).

Rows (docs/formats.md contract): ``profile, budget, method, p_match, p_match_la, cost,
n_applications``, extended with ``n_la`` and ``status`` ("optimal"/"feasible" for the
optimizer, "ok" for a heuristic list, "infeasible" when no list meets the constraints; a
failed point is a row with NaN metrics, never dropped).

:func:`budget_to_reach` gives the budget each method needs for a target P(match): for a
heuristic the smallest budget on a grid at which its list reaches the target (and what
that list costs); for the optimizer the exact minimum cost (``optimize(.., "min_cost")``).

>>> df = bench(["data/profiles/typical_us_img.toml"], [1000, 2500])  # doctest: +SKIP
>>> df.pivot(index="method", columns="budget", values="p_match")  # doctest: +SKIP
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from allocator.errors import InputError, SolverError
from allocator.optim.evaluate import uncertainty
from allocator.optim.evaluate import evaluate
from allocator.optim.feasibility import violations
from allocator.studies.heuristics import BUILDERS
from allocator.paths import DATA_DIR
from allocator.optim.problem import Plan, Problem

log = logging.getLogger(__name__)

OPTIMIZER = "optimizer"
DEFAULT_BUDGETS = (1000.0, 1500.0, 2500.0, 4000.0)
DEFAULT_TARGETS = (0.8, 0.9)
COLUMNS = ["profile", "budget", "method", "p_match", "p_match_la", "cost", "n_applications", "n_la", "status",
           "p_match_interval", "p_match_la_interval", "p_match_pessimistic",
           "lead", "lead_interval", "lead_min", "lead_p10", "lead_cap_check"]
REACH_COLUMNS = ["profile", "method", "target", "budget", "cost", "p_match", "n_applications", "reached", "status"]


def methods_all() -> list[str]:
    """"optimizer" and every heuristic, in table order."""
    return [OPTIMIZER, *BUILDERS]


def _methods(methods: Iterable[str] | None) -> list[str]:
    ms = methods_all() if methods is None else list(methods)
    bad = [m for m in ms if m != OPTIMIZER and m not in BUILDERS]
    if bad:
        raise InputError(f"unknown method {bad[0]!r}; use {', '.join(methods_all())}")
    return ms


def default_profiles() -> list[Path]:
    """Every ``data/profiles/*.toml`` with an ``[applicant]`` section (a profile without
    one needs its own catalog with p_match, so it is left out of the default run)."""
    import tomllib

    out = []
    for p in sorted((DATA_DIR / "profiles").glob("*.toml")):
        try:
            if "applicant" in tomllib.loads(p.read_text()):
                out.append(p)
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return out


def _name(item, k: int) -> str:
    if isinstance(item, Problem):
        return f"problem{k}"
    if isinstance(item, (str, Path)):
        return Path(item).stem
    return Path(getattr(item, "path", f"profile{k}")).stem


def problems(profiles, catalog=None, card: str | None = None) -> list[tuple[str, Problem]]:
    """``(name, Problem)`` for each profile: a path, a :class:`~allocator.inputs.profile.Profile`,
    a :class:`Problem`, or a mapping name -> any of these."""
    from allocator.optim.assemble import load_problem as load

    items = list(profiles.items()) if isinstance(profiles, Mapping) else \
        [(None, x) for x in ([profiles] if isinstance(profiles, (str, Path, Problem)) else profiles)]
    out = []
    for k, (name, item) in enumerate(items):
        pr = item if isinstance(item, Problem) else load(item, catalog, card=card)
        out.append((name or _name(item, k), pr))
    return out


def with_budget(problem: Problem, budget: float) -> Problem:
    """The same problem with another budget (USD); nothing else changes."""
    return problem.with_limits(budget=float(budget))


def build(problem: Problem, method: str, *, seed: int = 0, time_limit: float | None = None) -> tuple[str, Plan | None]:
    """``(status, plan)`` of one method on one problem; plan None when it has no list.
    Every returned list is re-checked against every constraint."""
    if method == OPTIMIZER:
        from allocator.optim.pipeline import optimize

        out = optimize(problem, "p_match", time_limit=time_limit)
        if not out.status.has_list:
            return out.status.value, None
        bad = violations(problem, out.plan)
        if bad:
            raise SolverError(f"the optimizer's list breaks {bad[0][0]}: {bad[0][1]} (a bug; please report)")
        return out.status.value, out.plan
    plan = BUILDERS[method](problem, rng=np.random.default_rng(seed))
    bad = violations(problem, plan)
    if bad:  # only when no list meets the minima (min_applications, specialty minima) in budget
        log.info("%s: no feasible list (%s: %s)", method, *bad[0])
        return "infeasible", None
    return "ok", plan


def _row(profile: str, budget: float, method: str, problem: Problem, status: str, plan: Plan | None) -> dict:
    row = {"profile": profile, "budget": float(budget), "method": method, "p_match": math.nan,
           "p_match_la": math.nan, "cost": math.nan, "n_applications": 0, "n_la": 0, "status": status}
    if plan is not None:
        m = evaluate(problem, plan, correlations=())
        row |= {"p_match": m.p_match, "p_match_la": m.p_match_la, "cost": m.cost,
                "n_applications": m.n_applications, "n_la": m.n_la, **uncertainty(m)}
    return row


def bench(profiles, budgets: Sequence[float] = DEFAULT_BUDGETS, *, catalog=None,
          methods: Iterable[str] | None = None, seed: int = 0, time_limit: float | None = None) -> pd.DataFrame:
    """One row per (profile, budget, method), columns :data:`COLUMNS`.  ``time_limit``
    (seconds) bounds each optimizer solve (status "feasible" when it runs out).  With the
    optimizer among the methods, each row also carries the optimizer's lead over it
    (:func:`_leads`).

    ``df.attrs["synthetic"]`` is True when any profile used a synthetic catalog."""
    ms = _methods(methods)
    rows, synthetic = [], False
    for name, base in problems(profiles, catalog):
        synthetic |= bool(base.synthetic)
        for b in budgets:
            pr = with_budget(base, b)
            built = {m: build(pr, m, seed=seed, time_limit=time_limit) for m in ms}
            leads = _leads(pr, {m: plan for m, (_, plan) in built.items()})
            here = [_row(name, b, m, pr, *built[m]) | leads.get(m, {}) for m in ms]
            best = next((r["p_match"] for r in here if r["method"] == OPTIMIZER), math.nan)
            rows += [r | {"lead": best - r["p_match"]} for r in here]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["synthetic"] = synthetic
    return df


def _leads(problem: Problem, plans: Mapping[str, Plan | None]) -> dict[str, dict]:
    """The optimizer's lead over each method's list, in probability (optimizer minus method;
    :func:`bench` adds ``lead``, on the average over the plausible models): ``lead_interval``
    the 10th-90th percentile of the per-model differences (both lists scored under the same
    model); ``lead_min`` the smallest of them (negative: the method's list is the better one
    under some plausible model); ``lead_p10`` the difference of the two lists' 10th percentiles
    (the figures to plan on); ``lead_cap_check`` (:func:`_cap_leads`).  Empty without the
    optimizer's list or without a range over plausible models."""
    from allocator.optim.evaluate import by_model

    if plans.get(OPTIMIZER) is None:
        return {}
    ms = {m: evaluate(problem, p, correlations=()) for m, p in plans.items() if p is not None}
    opt = ms[OPTIMIZER]
    if opt.p_match_by_card is None:  # P(match) is no average over plausible models here
        return {}
    out = {m: {} for m in ms} | _cap_leads(problem, plans)
    for m, v in ms.items():
        out[m] |= {"lead_interval": list(by_model(opt, v)),
                   "lead_min": float(np.min(np.subtract(opt.p_match_by_card, v.p_match_by_card))),
                   "lead_p10": opt.p_match_interval[0] - v.p_match_interval[0]}
    return out


def default_grid(problem: Problem, step: float = 50.0) -> np.ndarray:
    """Budgets from ``step`` to the cost of max_applications programs of the dearest kind
    (every specialty full and every fee_extra paid would never be needed), USD."""
    n = min(problem.max_apps, problem.n)
    top = problem.schedule.fee(n) * max(1, len(problem.specialties)) + float(np.sort(problem.extra)[::-1][:n].sum())
    return np.arange(step, math.ceil(top / step) * step + step / 2, step)


def budget_to_reach(profiles, targets: Sequence[float] = DEFAULT_TARGETS, *, catalog=None,
                    methods: Iterable[str] | None = None, grid: Sequence[float] | None = None,
                    step: float = 50.0, seed: int = 0, time_limit: float | None = None) -> pd.DataFrame:
    """The budget each method needs for each target P(match), columns :data:`REACH_COLUMNS`.

    Heuristics: the smallest budget at which the method's list reaches the target, found
    on ``grid`` (default :func:`default_grid`, ``step`` USD apart) and refined to $1 by
    bisection; ``cost`` is what that list costs (at most ``budget``).

    Optimizer: the minimum cost of a list reaching the target (``budget`` = ``cost``), by
    the exact min-cost solve (``optimize(.., "min_cost")``, at most ``time_limit``
    seconds; None: no limit).

    ``reached`` False (NaN budget) when no list within the count and LA limits gets there.
    ``status``: the optimizer's ("optimal"; "feasible" when a solve ran out of time, so the
    cost is an upper bound on the minimum; "infeasible"), or "ok" / "not reached" for a
    heuristic."""
    ms = _methods(methods)
    rows = []
    for name, base in problems(profiles, catalog):
        g = np.asarray(grid if grid is not None else default_grid(base, step), dtype=float)
        by_method = {m: _scan(name, base, m, targets, g, seed) for m in ms if m != OPTIMIZER}
        if OPTIMIZER in ms:
            by_method[OPTIMIZER] = [_min_cost(name, base, float(t), time_limit) for t in targets]
        for m in ms:
            rows.extend(by_method[m])
    return pd.DataFrame(rows, columns=REACH_COLUMNS)


def _min_cost(name: str, base: Problem, target: float, time_limit: float | None) -> dict:
    """The optimizer's row of :func:`budget_to_reach` for one target: the exact min-cost
    solve (:mod:`allocator.optim.mincost`, a search over the budget)."""
    from allocator.optim.pipeline import optimize
    from allocator.status import Status

    row = {"profile": name, "method": OPTIMIZER, "target": target, "budget": math.nan, "cost": math.nan,
           "p_match": math.nan, "n_applications": 0, "reached": False, "status": "infeasible"}
    out = optimize(base, "min_cost", target=target, time_limit=time_limit)
    if not out.status.has_list:
        return row if out.status is Status.INFEASIBLE else row | {"status": out.status.value}
    bad = violations(with_budget(base, math.inf), out.plan)
    if bad:
        raise SolverError(f"the optimizer's list breaks {bad[0][0]}: {bad[0][1]} (a bug; please report)")
    m = evaluate(base, out.plan, correlations=())
    if m.p_match < target - 1e-9:
        raise SolverError(f"the min-cost list reaches P(match) {m.p_match:.6f} < {target} (a bug; please report)")
    return row | {"budget": m.cost, "cost": m.cost, "p_match": m.p_match, "n_applications": len(out.plan),
                  "reached": True, "status": out.status.value}


def _scan(name: str, base: Problem, method: str, targets: Sequence[float], grid: np.ndarray,
          seed: int, resolution: float = 1.0) -> list[dict]:
    """Smallest budget per target: the top of the grid first (a target it misses is never
    reached), then the grid upwards to the first budget that reaches it, then bisection
    down to ``resolution`` USD between that budget and the grid point before it.  Exact
    when the method's P(match) does not fall as the budget rises (its lists nest, as every
    builder's do with count-based fees)."""
    cache: dict[float, tuple[float, Plan | None]] = {}

    def at(b: float) -> float:
        if b not in cache:
            pr = with_budget(base, b)
            _, plan = build(pr, method, seed=seed)
            cache[b] = (-1.0, None) if plan is None else (evaluate(pr, plan, correlations=()).p_match, plan)
        return cache[b][0]

    found: dict[float, dict] = {}
    if len(grid) and at(float(grid[-1])) >= min(targets, default=1.0) - 1e-12:
        for t in sorted({float(x) for x in targets}):
            if at(float(grid[-1])) < t - 1e-12:
                continue
            j = next(k for k, b in enumerate(grid) if at(float(b)) >= t - 1e-12)
            lo, hi = (float(grid[j - 1]) if j else 0.0), float(grid[j])
            while hi - lo > resolution:
                mid = math.floor((lo + hi) / 2 / resolution) * resolution
                if mid <= lo:
                    break
                if at(mid) >= t - 1e-12:
                    hi = mid
                else:
                    lo = mid
            pm, plan = cache[hi]
            m = evaluate(with_budget(base, hi), plan, correlations=())
            found[t] = {"budget": hi, "cost": m.cost, "p_match": pm, "n_applications": m.n_applications,
                        "reached": True, "status": "ok"}
    miss = {"budget": math.nan, "cost": math.nan, "p_match": math.nan, "n_applications": 0, "reached": False,
            "status": "not reached"}
    return [{"profile": name, "method": method, "target": float(t), **found.get(float(t), miss)} for t in targets]


# ---------------------------------------------------------------------- tables
def _fmt_p(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _fmt_usd(x: float) -> str:
    return "not reached" if x is None or (isinstance(x, float) and math.isnan(x)) else f"${x:,.0f}"


def _reach_cell(reach: pd.DataFrame, profile: str, method: str, target: float) -> str:
    r = reach[(reach["profile"] == profile) & (reach["method"] == method) & (reach["target"] == target)]
    if not len(r):
        return "–"
    cell = _fmt_usd(r["cost"].iloc[0])
    return f"≤ {cell}" if r["status"].iloc[0] == "feasible" and r["reached"].iloc[0] else cell


def wide(df: pd.DataFrame, profile: str, value: str = "p_match") -> pd.DataFrame:
    """Methods x budgets table of ``value`` for one profile (methods in table order)."""
    sub = df[df["profile"] == profile]
    t = sub.pivot_table(index="method", columns="budget", values=value, aggfunc="first", dropna=False)
    order = [m for m in methods_all() if m in t.index] + [m for m in t.index if m not in methods_all()]
    return t.reindex(order)


def markdown(df: pd.DataFrame, reach: pd.DataFrame | None = None) -> str:
    """One markdown table per profile: P(match) (and P(match in LA)) by budget and method,
    then the budget each method needs for each target."""
    out: list[str] = []
    for prof in dict.fromkeys(df["profile"]):
        pm, la = wide(df, prof, "p_match"), wide(df, prof, "p_match_la")
        budgets = list(pm.columns)
        targets = sorted(reach["target"].unique()) if reach is not None and len(reach) else []
        head = ["method", *[f"${b:,.0f}" for b in budgets], *[f"budget for {t:.0%}" for t in targets]]
        out += [f"### {prof}", "", "P(match) (P(match in LA)) at each budget; the budget each method needs for "
                "each target (the list's fees).", "", "| " + " | ".join(head) + " |",
                "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
        for m in pm.index:
            cells = [f"{_fmt_p(pm.at[m, b])} ({_fmt_p(la.at[m, b])})" for b in budgets]
            for t in targets:
                cells.append(_reach_cell(reach, prof, m, t))
            name = f"**{m}**" if m == OPTIMIZER else m
            out.append("| " + " | ".join([name, *cells]) + " |")
        out.append("")
    return "\n".join(out)


def _cap_leads(problem: Problem, plans: Mapping[str, Plan | None]) -> dict[str, dict]:
    """``lead_cap_check``: the optimizer's lead under the IMG-share cap check (the central model
    with the IMG-share effect stopping at 65% IMGs, intercepts re-fitted; the plausible models draw
    the cap from 0.50 to 0.85; both lists scored exactly under it,
    :mod:`allocator.verification.capcheck`); empty without the file."""
    from allocator.verification import capcheck

    if problem.card is None or problem.fm_central is None or plans.get(OPTIMIZER) is None:
        return {}
    loaded = capcheck.load(problem.card)
    if loaded is None:
        return {}
    fm = capcheck.factor_model(problem, loaded[0])
    v = {m: capcheck.p_match(problem, p, fm) for m, p in plans.items() if p is not None}
    return {m: {"lead_cap_check": v[OPTIMIZER] - x} for m, x in v.items()}


def lead_rows(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(profile, method) pairs the lead table shows: the guide's rules, and the other heuristic
    that comes closest to the optimizer (smallest average lead at the largest budget)."""
    if "lead_interval" not in df or not df["lead_interval"].notna().any():
        return []
    out = []
    for prof in dict.fromkeys(df["profile"]):
        sub = df[(df["profile"] == prof) & (df["method"] != OPTIMIZER) & df["lead"].notna()]
        guides = [m for m in dict.fromkeys(sub["method"]) if m.startswith("guide_")]
        others = sub[~sub["method"].isin(guides) & (sub["budget"] == sub["budget"].max())]
        closest = [] if not len(others) else [others.sort_values("lead")["method"].iloc[0]]
        out += [(prof, m) for m in guides + closest]
    return out


def _lead_cell(r) -> str:
    """"+4.5 (+2.9 to +6.0); cap +3.7": the lead in points on the average, its 10th-90th
    percentile over the plausible models, and under the IMG-share cap check."""
    iv = r["lead_interval"]
    if not isinstance(iv, (list, tuple)):
        return "–"
    cap = r.get("lead_cap_check")
    tail = "" if cap is None or cap != cap else f"; cap {100 * cap:+.1f}"
    return f"{100 * r['lead']:+.1f} ({100 * iv[0]:+.1f} to {100 * iv[1]:+.1f}){tail}"


def render_leads(df: pd.DataFrame, console) -> None:
    """The optimizer's lead over the guide's rules and the closest other heuristic, by budget."""
    from rich.table import Table

    pairs = lead_rows(df)
    if not pairs:
        return
    budgets = sorted(df["budget"].unique())
    t = Table(title="the optimizer's lead in points of P(match): average (10th to 90th percentile of the "
                    "per-model differences); cap: under the IMG-share cap check")
    t.add_column("profile")
    t.add_column("over")
    for b in budgets:
        t.add_column(f"${b:,.0f}", justify="right")
    for prof, m in pairs:
        rows = df[(df["profile"] == prof) & (df["method"] == m)].set_index("budget")
        t.add_row(prof, m, *[_lead_cell(rows.loc[b]) if b in rows.index else "–" for b in budgets])
    console.print(t)


def render(df: pd.DataFrame, reach: pd.DataFrame | None, console) -> None:
    """Rich tables, one per profile (what ``allocator bench`` prints)."""
    from rich.table import Table

    for prof in dict.fromkeys(df["profile"]):
        pm, la = wide(df, prof, "p_match"), wide(df, prof, "p_match_la")
        t = Table(title=f"{prof}: P(match) (P(match in LA)) by budget")
        t.add_column("method")
        for b in pm.columns:
            t.add_column(f"${b:,.0f}", justify="right")
        targets = sorted(reach["target"].unique()) if reach is not None and len(reach) else []
        for x in targets:
            t.add_column(f"needs for {x:.0%}", justify="right")
        for m in pm.index:
            cells = [f"{_fmt_p(pm.at[m, b])} ({_fmt_p(la.at[m, b])})" for b in pm.columns]
            for x in targets:
                cells.append(_reach_cell(reach, prof, m, x))
            t.add_row(f"[bold]{m}[/]" if m == OPTIMIZER else m, *cells)
        console.print(t)
