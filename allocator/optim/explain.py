"""Explain why no list exists: the conflicting constraint groups, in words, with what to
change.  The groups come from a deletion filter over the named groups of the integer
program (:func:`allocator.optim.infeasibility.explain_infeasibility`)."""
from __future__ import annotations

import math

import numpy as np

from allocator.optim.problem import Plan, Problem
from allocator.inputs.fees import BUDGET_TOL


def _cheapest(problem: Problem, k: int) -> float:
    """Cheapest cost of any k candidates (ERAS fee by specialty + fee_extra), single
    specialty assumed for the message; multi-specialty gives a lower bound."""
    if k <= 0:
        return 0.0
    extra = np.sort(problem.extra)[:k].sum() if problem.n >= k else np.inf
    return float(problem.schedule.fee(k) + extra)


def binding(problem: Problem, plan: Plan) -> list[str]:
    """The limits that stop ``plan`` (a max-P(match) list) from growing: max_applications
    when it is full, budget when no unused program fits in what is left, la_share when one
    more LA program would break the cap, specialty_limits when a specialty is at its maximum."""
    idx = list(plan.idx)
    out = []
    if problem.max_apps <= len(idx) < problem.n:  # a list of every candidate is held by the catalog, not the count
        out.append("max_applications")
    unused = np.setdiff1d(np.arange(problem.n), idx)
    if len(unused) and math.isfinite(problem.budget):
        cheapest = min(problem.list_cost(idx + [int(j)])[0] for j in unused)
        if cheapest > problem.budget + BUDGET_TOL:
            out.append("budget")
    n_la = int(problem.la[idx].sum()) if idx else 0
    if problem.la_share_max < 1 and problem.la[unused].any() and n_la + 1 > problem.la_share_max * (len(idx) + 1) + 1e-9:
        out.append("la_share")
    counts = {name: int((problem.spec[idx] == s).sum()) for s, name in enumerate(problem.specialties)}
    if any(problem.spec_max.get(k) is not None and c >= problem.spec_max[k] for k, c in counts.items()):
        out.append("specialty_limits")
    return out


LIMIT_WORDS = {"max_applications": "max_applications={K}", "budget": "the budget ${B:,.0f}",
               "la_share": "la_share_max={s:g}", "specialty_limits": "the specialty limits"}


def limit_words(problem: Problem, bind: list[str]) -> list[str]:
    """The binding limits in words with their values ("max_applications=100")."""
    return [LIMIT_WORDS[b].format(K=problem.max_apps, B=problem.budget, s=problem.la_share_max) for b in bind]


def out_of_reach_at_p10(problem: Problem, target: float, at: float, bind: list[str]) -> str:
    """No budget's best-P(match) list reaches ``target`` at the 10th percentile: what the best
    list gives there (``at``), and the limits ``bind`` that stop it from growing."""
    held = f" (held by {', '.join(limit_words(problem, bind))})" if bind else ""
    relax = f"relax {', '.join(bind)}" if bind else "relax a limit"
    return (f"no budget's best list reaches P(match) >= {target:g} at the 10th percentile of the plausible models; "
            f"the best-P(match) list within the other limits gives {at:.3f} there{held}: lower --target, {relax}, "
            "or judge the target on the average (--target-on average)")


def _at_p10(best_p10: float | None) -> str:
    return "" if best_p10 is None else f", {best_p10:.3f} at the 10th percentile of the plausible models"


def _out_of_reach(problem: Problem, target: float, best_p: float | None, bind: list[str], p_all: float | None,
                  best_p10: float | None = None) -> str:
    """A P(match) target no list reaches, whatever the limits: the best within the limits,
    the limits binding there, and the most that every eligible program together could give."""
    words = limit_words(problem, bind)
    within = (f"the best reachable within your limits is {best_p:.3f}{_at_p10(best_p10)}" if best_p is not None
              else "no list within your limits reaches it")
    held = f" (held by {', '.join(words)})" if words else ""
    # p_all bounds every list from above (all programs, each at its best bonus, which the signal
    # counts may not allow): quoted only when even that bound falls short of the target
    short = p_all is not None and p_all < target
    bonus = ", each with a signal and a preferred division," if (problem.has_signals or problem.has_geo) else ""
    allp = f"; even all {problem.n} eligible programs together{bonus} would give at most {p_all:.3f}" if short else ""
    if not bind or best_p is None:
        relax = "no limit can be relaxed enough"
    elif short and p_all > best_p + 5e-4:
        relax = f"relax {', '.join(bind)} for up to {p_all:.3f}"
    else:
        relax = f"relaxing {', '.join(bind)} raises it, but no list reaches {target:g} even with every limit lifted"
    return f"no list reaches P(match) >= {target:g}: {within}{held}{allp}: lower the target ({relax})"


def describe(problem: Problem, groups: tuple[str, ...], target: float | None = None,
             best_p: float | None = None, binding: list[str] | None = None, p_all: float | None = None,
             best_p10: float | None = None) -> str:
    g = set(groups)
    B, K, m, s = problem.budget, problem.max_apps, problem.min_apps, problem.la_share_max
    must = problem.must
    must_la = int(problem.la[list(must)].sum()) if must else 0
    if g == {"budget", "min_applications"}:
        need = _cheapest(problem, m)
        return (f"budget ${B:,.0f} is below the ${need:,.0f} needed for min_applications={m}: "
                f"raise the budget or lower min_applications")
    if g == {"budget", "must_apply"}:
        need = problem.list_cost(list(must))[0]
        return (f"budget ${B:,.0f} is below the ${need:,.0f} the {len(must)} must_apply programs cost: "
                f"raise the budget or shorten must_apply")
    if g == {"max_applications", "must_apply"}:
        return (f"must_apply lists {len(must)} programs but max_applications={K}: raise max_applications "
                f"or shorten must_apply")
    if g == {"min_applications"}:
        return (f"min_applications={m} exceeds the {problem.n} programs that can be on the list (after "
                f"eligibility and never_apply): lower min_applications or add programs to the catalog")
    if g == {"max_applications", "min_applications"}:
        return f"min_applications={m} exceeds max_applications={K}: lower one or raise the other"
    if "la_share" in g and "must_apply" in g:
        need = int(np.ceil(must_la / s)) if s > 0 else None
        if s == 0:
            return (f"must_apply holds {must_la} Greater-LA program(s) but la_share_max=0: raise "
                    f"la_share_max or remove them from must_apply")
        others = [x for x in sorted(g - {"la_share", "must_apply"})]
        tail = f" within {', '.join(others)}" if others else ""
        return (f"must_apply holds {must_la} Greater-LA program(s); with la_share_max={s:g} the list needs at "
                f"least {need} applications, which is not possible{tail}: raise la_share_max, remove LA "
                f"programs from must_apply, or raise the budget/max_applications")
    if "la_share" in g and "min_applications" in g:
        n_non = int((~problem.la).sum())
        return (f"min_applications={m} with la_share_max={s:g} needs more non-LA programs than the "
                f"{n_non} available{' within the budget' if 'budget' in g else ''}: lower min_applications "
                f"or raise la_share_max")
    if g == {"target"} and binding is not None:
        return _out_of_reach(problem, target, best_p, binding, p_all, best_p10)
    if "target" in g:
        bp = f" (the best reachable is {best_p:.3f}{_at_p10(best_p10)})" if best_p is not None else ""
        others = ", ".join(sorted(g - {"target"})) or "the catalog"
        return (f"no list reaches P(match) >= {target:g} within {others}{bp}: lower the target or relax "
                f"{others}")
    if "specialty_limits" in g:
        return (f"the per-specialty minimum/maximum counts conflict with {', '.join(sorted(g - {'specialty_limits'})) or 'the catalog'}: "
                "lower a specialty minimum or relax the other limits")
    names = ", ".join(sorted(g)) if g else "the catalog and the limits"
    return f"no list satisfies {names} together: relax one of them"
