"""Explain why no list exists: the conflicting constraint groups, in words, with what to
change.  The groups come from a deletion filter over the named groups of the integer
program (:func:`allocator.optim.infeasibility.explain_infeasibility`)."""
from __future__ import annotations

import math

import numpy as np

from allocator.optim.problem import DROPPABLE, Plan, Problem
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


def _money(x: float) -> str:
    """USD as the messages print it: whole dollars when the amount is whole, else cents."""
    return f"${x:,.0f}" if abs(x - round(x)) < 5e-3 else f"${x:,.2f}"


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _entry(spec: str, kind: str, value: int) -> str:
    return f"{spec} {'minimum' if kind == 'min' else 'maximum'} {value}"


def _entries(problem: Problem, conflict) -> list[tuple[str, str, int, bool | None]]:
    """The specialty limits of the conflict, or (a plain tuple of groups) every one set."""
    found = getattr(conflict, "specialty", ())
    if found:
        return list(found)
    return [(s, "min", int(v), None) for s, v in problem.spec_min.items() if v] + \
        [(s, "max", int(v), None) for s, v in problem.spec_max.items() if v is not None]


def _move(spec: str, kind: str, value: int) -> str:
    """Changing one specialty limit the way that loosens it."""
    return f"lower the {spec} minimum from {value}" if kind == "min" else f"raise the {spec} maximum from {value}"


def _limit(problem: Problem, g: str, conflict) -> str:
    """A limit in words with its value, for the generic sentence."""
    if g == "specialty_limits":
        return f"the specialty limits ({', '.join(_entry(s, k, v) for s, k, v, _ in _entries(problem, conflict))})"
    return {"budget": f"the budget {_money(problem.budget)}", "max_applications": f"max_applications={problem.max_apps}",
            "min_applications": f"min_applications={problem.min_apps}", "la_share": f"la_share_max={problem.la_share_max:g}",
            "must_apply": f"must_apply ({len(problem.must)} program(s))"}.get(g, g)


def _change(problem: Problem, g: str, conflict, must_words: str, said: float | None = None) -> str:
    """What to change in group ``g``, worded from the limit as set (a maximum is raised, a
    minimum lowered), with the value it must reach when the conflict knows it (``said``: the
    budget figure the sentence already gives)."""
    amount = getattr(conflict, "amounts", {}).get(g)
    if g == "budget":
        if amount is None:
            return "raise the budget"
        why = "" if said is not None and abs(said - amount) < 5e-3 else \
            " (what the cheapest list within the other limits costs)"
        return f"raise the budget to {_money(amount)}{why}"
    if g == "max_applications":
        return "raise max_applications" + (f" to {amount}" if amount is not None else "")
    if g == "min_applications":
        return "lower min_applications" + (f" to {amount}" if amount is not None else "")
    if g == "la_share":
        return "raise la_share_max"
    if g == "must_apply":  # the LA programs only, when the conflict found that enough (or does not know)
        return must_words if amount == "la_only" or not hasattr(conflict, "amounts") else "shorten must_apply"
    if g == "specialty_limits":
        entries = _entries(problem, conflict)
        one = [e for e in entries if e[3]]
        if one:
            return _or([_move(s, k, v) for s, k, v, _ in one])
        if len(entries) == 1 and entries[0][3] is None:  # a plain tuple of groups: the one limit set
            return _move(*entries[0][:3])
        return f"relax the specialty limits ({', '.join(_entry(s, k, v) for s, k, v, _ in entries)})"
    if g == "target":
        return "lower the target"
    return f"relax {g}"


def _advice(problem: Problem, conflict, g: set[str], must_words: str = "shorten must_apply",
            said: float | None = None) -> str:
    """The changes that admit a list of at least one program, each alone (every other limit as
    set); when the conflict does not know (a plain tuple of groups), every change it names."""
    order = [x for x in DROPPABLE if x in g]
    alone = getattr(conflict, "alone", None)
    if not alone:
        return _or([_change(problem, x, conflict, must_words, said) for x in order])
    ok = [x for x in order if alone.get(x)]
    short = [x for x in order if not alone.get(x)]
    also = getattr(conflict, "also", ())
    if getattr(conflict, "with_target", False):
        because = (f"{', '.join(also)} conflict as well" if also else
                   "no list within the other limits reaches the target")
    else:
        because = (f"{', '.join(also)} conflict as well" if also else "the other limits leave no list either")
    if not ok:
        which = order[0] if len(order) == 1 else f"any one of {', '.join(order)}"
        why = f" ({because})" if also else ""
        return (f"no single change is enough: relaxing {which} alone still leaves no list{why}; relax more than "
                f"one of {', '.join(order + [x for x in also if x not in order])}")
    if "target" in g and len(g) == 2 and getattr(conflict, "mode", "") != "min_cost":
        short = []  # api._still_short says what relaxing the one limit alone reaches, and what binds then
    tail = f"; relaxing {' or '.join(short)} alone is not enough: {because}" if short else ""
    return _or([_change(problem, x, conflict, must_words, said) for x in ok]) + tail


def _cheapest_program(problem: Problem, la_ok: bool = True) -> float:
    """The least one program costs (ERAS fee of one plus its fee_extra); ``la_ok`` False:
    one outside Greater LA."""
    pool = np.ones(problem.n, bool) if la_ok else ~np.asarray(problem.la, bool)
    return float(problem.schedule.fee(1)) + float(np.min(problem.extra[pool], initial=np.inf))


def describe(problem: Problem, groups: tuple[str, ...], target: float | None = None,
             best_p: float | None = None, binding: list[str] | None = None, p_all: float | None = None,
             best_p10: float | None = None) -> str:
    """The conflict in words and what to change.  ``groups``: the conflicting groups, a
    :class:`~allocator.optim.infeasibility.Conflict` (then the advice names only the changes
    that admit a list alone, with the values they must reach) or a plain tuple."""
    g = set(groups)
    B, K, m, s = problem.budget, problem.max_apps, problem.min_apps, problem.la_share_max
    must = problem.must
    must_la = int(problem.la[list(must)].sum()) if must else 0
    if getattr(groups, "no_candidate", False):
        names = ", ".join(_limit(problem, x, groups) for x in DROPPABLE if x in g and x != "target")
        needs = f", so {names} cannot be met" if names else ""
        return (f"no program is left to apply to (never_apply and eligibility exclude every program of the "
                f"catalog's specialties){needs}; relaxing a limit does not help: shorten never_apply, check the "
                "[applicant] fields or use another catalog")
    alone = getattr(groups, "alone", {})
    if g == {"target"} and binding is not None and alone.get("target", True):
        return _out_of_reach(problem, target, best_p, binding, p_all, best_p10)
    if "target" in g:
        bp = f" (the best reachable is {best_p:.3f}{_at_p10(best_p10)})" if best_p is not None else ""
        others = ", ".join(x for x in DROPPABLE if x in g - {"target"})
        within = f" within {others}" if others else ""
        return f"no list reaches P(match) >= {target:g}{within}{bp}: {_advice(problem, groups, g)}"
    if g == {"budget"}:
        cheapest = _cheapest_program(problem)
        return (f"budget {_money(B)} pays for no application (the cheapest program costs "
                f"{_money(cheapest)}): {_advice(problem, groups, g, said=cheapest)}")
    if g == {"budget", "la_share"} and s < 1 and not problem.la.all():
        return (f"budget {_money(B)} is below the {_money(_cheapest_program(problem, la_ok=False))} of the "
                f"cheapest program outside Greater LA, which la_share_max={s:g} needs on the list: "
                f"{_advice(problem, groups, g)}")
    if g == {"la_share"}:
        return (f"every program left is in Greater LA, and la_share_max={s:g} needs programs outside it beside "
                f"them: {_advice(problem, groups, g)}")
    if g == {"budget", "min_applications"}:
        need = getattr(groups, "amounts", {}).get("budget")
        need = _cheapest(problem, m) if need is None else need
        return (f"budget {_money(B)} is below the {_money(need)} needed for min_applications={m}: "
                f"{_advice(problem, groups, g, said=need)}")
    if g == {"budget", "must_apply"}:
        need = problem.list_cost(list(must))[0]
        return (f"budget {_money(B)} is below the {_money(need)} the {len(must)} must_apply "
                f"program{'s' if len(must) != 1 else ''} cost: {_advice(problem, groups, g, said=need)}")
    if g == {"max_applications", "must_apply"}:
        return f"must_apply lists {len(must)} programs but max_applications={K}: {_advice(problem, groups, g)}"
    if g == {"min_applications"}:
        return (f"min_applications={m} exceeds the {problem.n} programs that can be on the list (after "
                f"eligibility and never_apply): {_advice(problem, groups, g)} or add programs to the catalog")
    if g == {"max_applications", "min_applications"}:
        return f"min_applications={m} exceeds max_applications={K}: {_advice(problem, groups, g)}"
    if "la_share" in g and "must_apply" in g and must_la:
        remove = "remove them from must_apply" if s == 0 else "remove LA programs from must_apply"
        if s == 0:
            head = f"must_apply holds {must_la} Greater-LA program(s) but la_share_max=0"
        else:
            need = int(np.ceil(must_la / s))
            others = sorted(g - {"la_share", "must_apply"})
            tail = f" within {', '.join(others)}" if others else ""
            head = (f"must_apply holds {must_la} Greater-LA program(s); with la_share_max={s:g} the list needs at "
                    f"least {need} applications, which is not possible{tail}")
        return f"{head}: {_advice(problem, groups, g, must_words=remove)}"
    if g in ({"la_share", "min_applications"}, {"la_share", "min_applications", "budget"}):
        n_non = int((~problem.la).sum())
        return (f"min_applications={m} with la_share_max={s:g} needs more non-LA programs than the "
                f"{n_non} available{' within the budget' if 'budget' in g else ''}: {_advice(problem, groups, g)}")
    if "specialty_limits" in g:
        entries = ", ".join(_entry(sp, k, v) for sp, k, v, _ in _entries(problem, groups))
        others = ", ".join(_limit(problem, x, groups) for x in DROPPABLE if x in g - {"specialty_limits"})
        with_ = f"conflict with {others}" if others else "admit no list of the programs left"
        return f"the specialty limits ({entries}) {with_}: {_advice(problem, groups, g)}"
    if not g:
        return "no list satisfies the catalog and the limits together: relax one of them"
    names = ", ".join(_limit(problem, x, groups) for x in DROPPABLE if x in g)
    return f"no list of at least one program meets {names} together: {_advice(problem, groups, g)}"
