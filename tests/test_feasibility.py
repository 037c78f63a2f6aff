"""allocator.optim.feasibility.violations, the re-check every answer passes, names each
constraint a list breaks, at its boundary: one over (or under) is named, the limit itself is not."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from allocator.optim.feasibility import violations
from allocator.optim.problem import Plan

from .test_twostage import factor_problem


@pytest.fixture(scope="module")
def pr():
    """8 programs, one specialty, 1 gold and 1 silver signal, at most 1 division, a roomy budget."""
    p = factor_problem(np.random.default_rng(0), n=8, gold=1, silver=1, divisions=1)
    return p.with_limits(budget=1e6, max_apps=8, min_apps=0, la_share_max=1.0)


def groups(pr, plan) -> list[str]:
    return [g for g, _ in violations(pr, plan)]


def test_a_list_within_every_limit_breaks_none(pr):
    div = str(pr.division_array[0])
    assert groups(pr, Plan.of([0, 1, 2], {0: "gold", 1: "silver"}, (div,))) == []


def test_signals_over_the_allowance_or_off_the_list_are_named(pr):
    assert groups(pr, Plan.of([0, 1], {0: "gold", 1: "gold"})) == ["signals"]  # 2 gold > 1
    assert groups(pr, Plan.of([0, 1], {0: "silver", 1: "silver"})) == ["signals"]
    assert groups(pr, Plan.of([0], {3: "gold"})) == ["signals"]  # program 3 is not on the list


def test_divisions_over_the_most_allowed_are_named(pr):
    two = tuple(sorted(set(pr.division_array))[:2])
    assert len(two) == 2
    assert groups(pr, Plan.of([0], None, two)) == ["geographic_preference"]
    assert groups(pr, Plan.of([0], None, two[:1])) == []


def test_specialty_limits_are_named_one_past_each_bound(pr):
    spec = pr.specialties[0]
    lim = dataclasses.replace(pr, spec_min={spec: 3}, spec_max={spec: 5})
    assert groups(lim, Plan.of([0, 1])) == ["specialty_limits"]  # 2 < min 3
    assert groups(lim, Plan.of([0, 1, 2])) == []
    assert groups(lim, Plan.of(range(5))) == []
    assert groups(lim, Plan.of(range(6))) == ["specialty_limits"]  # 6 > max 5


def test_counts_budget_and_la_share_are_named(pr):
    assert "max_applications" in groups(pr.with_limits(max_apps=2), Plan.of([0, 1, 2]))
    assert "min_applications" in groups(pr.with_limits(min_apps=4), Plan.of([0, 1, 2]))
    cost = pr.schedule.fee(3) + float(pr.extra[[0, 1, 2]].sum())
    assert groups(pr.with_limits(budget=cost), Plan.of([0, 1, 2])) == []
    assert groups(pr.with_limits(budget=cost - 0.01), Plan.of([0, 1, 2])) == ["budget"]
    la = np.nonzero(pr.la)[0]
    assert len(la) and "la_share" in groups(pr.with_limits(la_share_max=0.0), Plan.of([int(la[0])]))
