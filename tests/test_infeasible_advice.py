"""Infeasibility advice that works: brute force over small random infeasible instances.

For every infeasible answer, each change the message advises is applied *as the message
says it* (to the value it names, every other limit as set) and brute force over every subset
confirms that a list of at least one program then exists (the empty list is no answer:
`solve` refuses it); a value the message names is also the least change that works (one
step short of it, no list).  A change the message says is not enough alone is checked to
leave no list.  The reviewer's two cases (budget $10 with min_applications 2 and an LA cap;
must_apply with a Family Medicine maximum of 0) are pinned.
"""
from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from allocator import api
from allocator.errors import InfeasibleError, InputError
from allocator.inputs.catalog import catalog_from_frame
from allocator.inputs.profile import profile_from_dict
from allocator.model.copula import log_fail
from allocator.optim.assemble import build_problem

PLACES = [("Los Angeles", "CA", True), ("Torrance", "CA", True), ("Columbus", "OH", False),
          ("Detroit", "MI", False), ("Phoenix", "AZ", False)]


def _problem(rows, strategy):
    df = pd.DataFrame({
        "program_id": [f"P{i}" for i in range(len(rows))], "name": [f"Program {i}" for i in range(len(rows))],
        "specialty": [r["spec"] for r in rows], "city": [PLACES[r["c"]][0] for r in rows],
        "state": [PLACES[r["c"]][1] for r in rows], "la_area": [PLACES[r["c"]][2] for r in rows],
        "p_match": [r["p"] for r in rows], "fee_extra": [r["fee"] for r in rows]})
    return build_problem(catalog_from_frame(df, "<advice>"), profile_from_dict({"strategy": strategy}, "<advice>"))


def _exists(pr, target=None) -> bool:
    """Some list of at least one program meets every limit of ``pr`` (and P(match) >= target):
    every subset, with this file's own arithmetic for the limits."""
    n = pr.n
    la, extra, spec = np.asarray(pr.la, bool), np.asarray(pr.extra, float), np.asarray(pr.spec)
    nodes = pr.nodes()
    L = log_fail(pr.p, nodes.rho, nodes.z)  # (K, n)
    for k in range(max(1, pr.min_apps), min(n, pr.max_apps) + 1):
        for S in itertools.combinations(range(n), k):
            S = list(S)
            counts = {name: int((spec[S] == s).sum()) for s, name in enumerate(pr.specialties)}
            cost = sum(pr.schedule.fee(c) for c in counts.values() if c) + float(extra[S].sum())
            if cost > pr.budget + 1e-6 or la[S].sum() > pr.la_share_max * k + 1e-9:
                continue
            if not set(pr.must) <= set(S):
                continue
            if any(counts.get(name, 0) < lo for name, lo in pr.spec_min.items()):
                continue
            if any(counts.get(name, 0) > hi for name, hi in pr.spec_max.items()):
                continue
            if target is not None and 1.0 - float(np.exp(L[:, S].sum(axis=1)) @ nodes.w) < target - 1e-9:
                continue
            return True
    return False


def _lift(pr, g):
    """The problem with group ``g`` lifted altogether."""
    return pr.with_limits(**{"budget": {"budget": np.inf}, "max_applications": {"max_apps": pr.n},
                             "min_applications": {"min_apps": 0}, "la_share": {"la_share_max": 1.0},
                             "must_apply": {"must": ()}, "specialty_limits": {"spec_min": {}, "spec_max": {}}}[g])


def _relax(pr, g, msg):
    """The problem with group ``g`` changed as the message says: [(problem, exact)] where exact
    is (problem one step short of the named value) or None."""
    money = r"\$([\d,]+(?:\.\d\d)?)"
    if g == "budget":
        m = re.search(rf"raise the budget to {money}", msg)
        if m:
            b = float(m.group(1).replace(",", ""))
            return [(pr.with_limits(budget=b), pr.with_limits(budget=b - 0.01))]
        return [(pr.with_limits(budget=np.inf), None)]
    if g == "max_applications":
        m = re.search(r"raise max_applications to (\d+)", msg)
        if m:
            k = int(m.group(1))
            return [(pr.with_limits(max_apps=k), pr.with_limits(max_apps=k - 1) if k > 1 else None)]
        return [(pr.with_limits(max_apps=pr.n), None)]
    if g == "min_applications":
        m = re.search(r"lower min_applications to (\d+)", msg)
        if m:
            k = int(m.group(1))
            return [(pr.with_limits(min_apps=k), pr.with_limits(min_apps=k + 1))]
        return [(pr.with_limits(min_apps=0), None)]
    if g == "la_share":
        return [(pr.with_limits(la_share_max=1.0), None)]
    if g == "must_apply":
        if re.search(r"remove (them|LA programs) from must_apply", msg):
            return [(pr.with_limits(must=tuple(i for i in pr.must if not pr.la[i])), None)]
        return [(pr.with_limits(must=()), None)]
    if g == "specialty_limits":
        out = []
        for spec, v in re.findall(r"raise the ([A-Za-z][A-Za-z &/-]*?) maximum from (\d+)", msg):
            assert pr.spec_max.get(spec) == int(v), msg  # the limit named is one that is set
            out.append((pr.with_limits(spec_max={k: x for k, x in pr.spec_max.items() if k != spec}), None))
        for spec, v in re.findall(r"lower the ([A-Za-z][A-Za-z &/-]*?) minimum from (\d+)", msg):
            assert pr.spec_min.get(spec) == int(v), msg
            out.append((pr.with_limits(spec_min={k: x for k, x in pr.spec_min.items() if k != spec}), None))
        if "relax the specialty limits" in msg:
            out.append((pr.with_limits(spec_min={}, spec_max={}), None))
        assert out, msg
        return out
    raise AssertionError(g)


def _instance(seed):
    R = np.random.default_rng(seed)
    n = int(R.integers(2, 7))
    rows = [{"c": int(R.integers(len(PLACES))), "p": round(float(R.uniform(0.02, 0.4)), 3),
             "fee": int(R.integers(0, 40)), "spec": str(R.choice(["Internal Medicine", "Family Medicine"]))}
            for _ in range(n)]
    mx = int(R.integers(1, n + 1))
    strategy = {"budget": float(R.integers(5, 150)), "season": str(R.choice(["none", "2026", "2024"])),
                "max_applications": mx, "min_applications": int(R.integers(0, mx + 1)),
                "la_share_max": float(R.choice([0.0, 0.3, 0.5, 1.0])), "correlation": float(R.choice([0.0, 0.3])),
                "objective": "p_match"}
    ids = [f"P{i}" for i in range(n)]
    strategy["must_apply"] = list(R.choice(ids, size=int(R.choice([0, 0, 1, 2])), replace=False))
    specs = sorted({r["spec"] for r in rows})
    if R.random() < 0.5:
        lim = {}
        for s in specs:
            kind = R.choice(["min", "max", "none"])
            if kind != "none":
                lim[s] = {str(kind): int(R.integers(0, 3))}
        if lim:
            strategy["specialty_limits"] = lim
    return rows, strategy


def check_advice(pr, err: InfeasibleError, target: float | None = None, min_cost: bool = False) -> None:
    """Every change the message advises admits a list (reaching ``target`` when there is one);
    every change it calls not enough does not.  ``min_cost``: the list answers to no budget."""
    msg = str(err)
    assert err.groups, msg
    if "no program is left to apply to" in msg:  # no candidate: no limit helps, and the message says so
        assert pr.n == 0 and "relaxing a limit does not help" in msg
        return
    if min_cost:
        pr = pr.with_limits(budget=np.inf)
    short = set()
    for m in re.finditer(r"relaxing ([a-z_]+(?: or [a-z_]+)*) alone is not enough", msg):
        short |= set(m.group(1).split(" or "))
    m = re.search(r"relaxing ([a-z_, ]+) alone reaches only", msg)  # api._still_short, after a target's message
    if m:
        short |= set(m.group(1).split(", "))
    if "no single change is enough" in msg:
        short |= set(err.groups)
    for g in err.groups:
        if g == "target":  # "lower the target": some list meets the limits
            assert _exists(pr) != (g in short), (g, msg)
            continue
        if g in short:  # lifted altogether, still no list
            assert not _exists(_lift(pr, g), target), (g, msg)
            continue
        for relaxed, exact in _relax(pr, g, msg):
            assert _exists(relaxed, target), (g, msg)
            if exact is not None:  # the named value is the least change that works
                assert not _exists(exact, target), (g, msg)


SEEDS = range(160)


@pytest.mark.parametrize("chunk", range(4))
def test_every_advised_change_admits_a_list(chunk):
    infeasible = 0
    for seed in SEEDS[chunk::4]:
        rows, strategy = _instance(seed)
        try:
            pr = _problem(rows, strategy)
            api.solve(None, problem=pr, draws=0, compare=False)
            assert _exists(pr), seed  # solved: brute force has a list too
            continue
        except InputError:
            continue  # a budget that pays for no program, a minimum above the maximum, ...
        except InfeasibleError as e:
            err = e
        assert not _exists(pr), seed
        check_advice(pr, err)
        infeasible += 1
    assert infeasible >= 10  # the random instances do reach the explanations


@pytest.mark.parametrize("mode", ["min_cost", "p_match_la"])
def test_every_advised_change_admits_a_list_that_reaches_the_target(mode):
    """The same with a P(match) target (--min-cost, the p_match_la objective): a limit conflict
    that no target can fix is named before the target, and lowering the target is advised only
    when the limits admit a list."""
    infeasible = 0
    for seed in range(60):
        rows, strategy = _instance(seed)
        target = round(float(np.random.default_rng(seed + 10**6).uniform(0.1, 0.8)), 3)
        if mode == "p_match_la":
            strategy["objective"] = "p_match_la"
        try:
            pr = _problem(rows, strategy)
            api.solve(None, problem=pr, draws=0, compare=False, min_cost=mode == "min_cost", target=target)
            continue
        except InputError:
            continue
        except InfeasibleError as e:
            err = e
        check_advice(pr, err, target, min_cost=mode == "min_cost")
        infeasible += 1
    assert infeasible >= 10


def test_reviewer_case_budget_min_and_la_cap():
    """$10, min_applications 2, an LA cap of 0.5, programs at $20 and $25 outside LA and $5 in it:
    lowering min_applications cannot help (one program outside LA already costs $20), so the
    message names the budget and the LA cap, and says the cap alone is not enough."""
    rows = [{"c": 2, "p": 0.2, "fee": 20, "spec": "Internal Medicine"},
            {"c": 3, "p": 0.3, "fee": 25, "spec": "Internal Medicine"},
            {"c": 0, "p": 0.3, "fee": 5, "spec": "Internal Medicine"}]
    pr = _problem(rows, {"budget": 10, "season": "none", "min_applications": 2, "la_share_max": 0.5,
                         "correlation": 0})
    with pytest.raises(InfeasibleError) as e:
        api.solve(None, problem=pr, draws=0)
    msg = str(e.value)
    assert set(e.value.groups) == {"budget", "la_share"}, msg
    assert "min_applications" not in msg and "raise the budget to $25" in msg, msg
    assert "relaxing la_share alone is not enough" in msg, msg
    check_advice(pr, e.value)
    res = api.solve(None, problem=pr.with_limits(budget=25.0), draws=0)
    assert len(res.plan.idx) == 2


def test_reviewer_case_must_apply_and_a_specialty_maximum_of_zero():
    """must_apply holds a Family Medicine program, the catalog has only Family Medicine, and its
    maximum is 0: removing must_apply leaves no list either, so only the maximum is named, as
    a maximum (no specialty minimum is set, none is mentioned)."""
    rows = [{"c": 2, "p": 0.2, "fee": 20, "spec": "Family Medicine"},
            {"c": 3, "p": 0.3, "fee": 25, "spec": "Family Medicine"}]
    strategy = {"budget": 100, "season": "none", "correlation": 0, "must_apply": ["P0"],
                "specialty_limits": {"Family Medicine": {"max": 0}}}
    pr = _problem(rows, strategy)
    with pytest.raises(InfeasibleError) as e:
        api.solve(None, problem=pr, draws=0)
    msg = str(e.value)
    assert e.value.groups == ("specialty_limits",), msg
    assert "raise the Family Medicine maximum from 0" in msg and "minimum" not in msg, msg
    check_advice(pr, e.value)
    res = api.solve(None, problem=pr.with_limits(spec_max={}), draws=0)
    assert 0 in res.plan.idx


def test_a_specialty_minimum_is_lowered_not_raised():
    """A minimum above the programs of its specialty: the advice lowers that minimum."""
    rows = [{"c": 2, "p": 0.2, "fee": 0, "spec": "Internal Medicine"},
            {"c": 3, "p": 0.3, "fee": 0, "spec": "Family Medicine"}]
    pr = _problem(rows, {"budget": 100, "season": "none", "correlation": 0, "min_applications": 1,
                         "specialty_limits": {"Internal Medicine": {"min": 2}}})
    with pytest.raises(InfeasibleError) as e:
        api.solve(None, problem=pr, draws=0)
    msg = str(e.value)
    assert "lower the Internal Medicine minimum from 2" in msg and "maximum" not in msg, msg
    check_advice(pr, e.value)
