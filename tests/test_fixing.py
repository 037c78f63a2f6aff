"""Reduced-cost fixing (allocator.optim.fixing): the integer program on the candidates the root
relaxation cannot rule out gives the optimum of the whole problem, proven, as brute force does."""
import numpy as np
import pytest

from allocator import optimize
from allocator.optim import fixing, outer
from allocator.optim.evaluate import objective_value
from allocator.optim.feasibility import violations
from allocator.status import Status

from .helpers import random_problem
from .test_signals import brute, with_bonuses


@pytest.fixture
def forced(monkeypatch):
    """Every problem reaches the reduction: the tree hands over after its first relaxation, and
    any instance size and any share of candidates ruled out qualifies.  Returns the record of
    each reduction: (candidates, candidates kept, whether it answered)."""
    monkeypatch.setattr(outer, "NODE_LPS", 1)
    monkeypatch.setattr(fixing, "MIN_CANDIDATES", 0)
    monkeypatch.setattr(fixing, "MIN_SHARE", 0.0)
    seen = []
    kept, reduced = fixing.kept, outer._reduced

    def spy_kept(f, columns, duals, room, keep):
        out = kept(f, columns, duals, room, keep)
        seen.append([len(f.x), len(out), False])
        return out

    def spy_reduced(*a, **k):
        out = reduced(*a, **k)
        if seen:
            seen[-1][2] = out is not None
        return out

    monkeypatch.setattr(fixing, "kept", spy_kept)
    monkeypatch.setattr(outer, "_reduced", spy_reduced)
    return seen


@pytest.mark.parametrize("objective", ["p_match", "utility"])
@pytest.mark.parametrize("weak", [False, True])
def test_reduced_integer_program_equals_brute_force(forced, monkeypatch, objective, weak):
    """Signals, divisions, correlated outcomes, two objectives: every answer proven optimal and
    equal to brute force, and most instances ruled candidates out (the path ran, and cut).
    ``weak``: the incumbent is the floored root unclimbed, so it is often not the optimum and the
    rule that drops programs decides the answer (review 23: with the climbed incumbent, an unsound
    rule, the max over a program's states instead of the min, passed every brute-force case)."""
    if weak:
        monkeypatch.setattr(fixing, "climbed",
                            lambda problem, plan, cand, mode, target: plan if not violations(problem, plan) else None)
    answered = cut = 0
    for seed in range(24):
        rng = np.random.default_rng(1300 + seed)
        pr = with_bonuses(random_problem(rng, 8, rho=[0.0, 0.35][seed % 2], objective=objective, affordable=True),
                          rng, gold=1, silver=seed % 2, divisions=1 + seed % 2)
        before = len(forced)
        out = optimize(pr, method="milp")
        want = brute(pr)
        if want < 0:
            assert out.status is Status.INFEASIBLE
            continue
        assert out.status is Status.OPTIMAL and violations(pr, out.plan) == []
        assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)
        assert out.gap <= outer.TOL * max(1.0, float(pr.utility.max()))
        for total, kept, used in forced[before:]:
            answered += used
            cut += used and kept < total
    assert answered >= 6 and cut >= 4, (answered, cut)


def test_the_incumbent_is_never_ruled_out():
    """kept() keeps every program of the incumbent, whatever its reduced costs say (a program of
    the incumbent ruled out would be a numerical slip; the incumbent stays a list of the model)."""
    rng = np.random.default_rng(4)
    pr = random_problem(rng, 8, rho=0.35)
    from allocator.optim.builder import build
    from allocator.optim.engines import open_session
    from allocator.optim.problem import Plan

    f = build(pr, np.arange(pr.n), "p_match")
    open_session(f)  # the engine's column indices
    cols = np.zeros(max(v.index for v in f.x) + 1)
    duals = np.full(len(cols), 1e9)  # every column "ruled out" by its reduced cost
    inc = Plan.of([1, 5])
    assert fixing.kept(f, cols, duals, 1.0, inc).tolist() == [1, 5]
    assert fixing.kept(f, cols, np.zeros(len(cols)), 1.0, inc).tolist() == list(range(pr.n))


def test_the_floored_root_drops_fractional_programs_and_their_signals():
    """floored_root keeps the programs at 1 with their signal, and drops a fractional one with any
    signal its state columns still read (it was read as 'a signal on a program not on the list')."""
    rng = np.random.default_rng(7)
    pr = with_bonuses(random_problem(rng, 6, rho=0.35), rng, gold=2, silver=0)
    from allocator.optim.builder import build
    from allocator.optim.engines import open_session

    f = build(pr, np.arange(pr.n), "p_match")
    open_session(f)  # the engine's column indices
    cols = np.zeros(max(v.index for b in f.blocks.values() for v in b) + 1)
    gold = next(st for st in f.states if st.signal == "gold" and not st.preferred)
    for j, share in ((0, 1.0), (2, 0.6)):  # program 0 listed with gold, program 2 at 0.6 with gold
        cols[f.x[j].index] = share
        cols[f.blocks[gold.name][j].index] = share
    cols[f.x[3].index] = 1.0  # program 3 listed plain
    plain = next(st for st in f.states if not st.signal and not st.preferred)
    cols[f.blocks[plain.name][3].index] = 1.0
    for v in (*f.x, *(v for b in f.blocks.values() for v in b)):
        v.varValue = 1.0 - cols[v.index]  # the model's own values (a later node's): not what is read
    plan = fixing.floored_root(f, cols)
    assert plan.idx == (0, 3) and dict(plan.signals) == {0: "gold"}
    assert all(v.varValue == 1.0 - cols[v.index] for v in f.x)  # and they are left as they were


def test_a_shared_sweep_model_reduces_to_each_points_candidates(forced):
    """A budget sweep's one model (built at the largest budget, the programs a point cannot
    afford fixed at 0): the reduced integer program of every point equals brute force there."""
    from allocator.optim.builder import build

    from .helpers import brute_force

    answered = 0
    for seed in range(6):
        rng = np.random.default_rng(700 + seed)
        pr = random_problem(rng, 10, rho=0.35, extras=bool(seed % 2))
        f = build(pr.with_limits(budget=400.0), np.arange(pr.n), "p_match")
        for budget in (400.0, 132.0, 55.0):
            at = pr.with_limits(budget=budget)
            before = len(forced)
            out = outer.solve_milp(at, np.arange(pr.n), "p_match", formulation=f)
            want, _ = brute_force(at)
            if want is None:
                assert out.status is Status.INFEASIBLE
                continue
            assert out.status is Status.OPTIMAL and violations(at, out.plan) == []
            assert objective_value(at, out.plan) == pytest.approx(want, abs=1e-9)
            answered += sum(used for _, _, used in forced[before:])
    assert answered >= 6, answered


def test_fixing_gives_the_integer_programs_optimum_on_mid_size_problems(monkeypatch):
    """40-90 programs (beyond brute force), one or two specialties, signals, divisions, both
    objectives, the tree handing over after its first relaxation: with fixing and without, the
    same status and optimum to 1e-7, and fixing ran on several of them (at its own thresholds)."""
    monkeypatch.setattr(outer, "NODE_LPS", 1)
    ran = []
    reduced = outer._reduced

    def spy(*a, **k):
        out = reduced(*a, **k)
        ran.append(out is not None)
        return out

    monkeypatch.setattr(outer, "_reduced", spy)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        pr = random_problem(rng, int(rng.integers(40, 90)), rho=[0.0, 0.35][seed % 2],
                            objective=["p_match", "utility"][seed % 2], two_specs=bool(seed % 3),
                            extras=seed % 4 == 0, affordable=True)
        pr = pr.with_limits(budget=float(rng.choice([150, 300, 600, 1200])), max_apps=int(rng.choice([10, 25, 60])))
        pr = with_bonuses(pr, rng, gold=int(rng.integers(0, 4)), silver=int(rng.integers(0, 6)),
                          divisions=int(rng.integers(0, 3)))
        monkeypatch.setattr(fixing, "ENABLED", True)
        on = optimize(pr, method="milp")
        monkeypatch.setattr(fixing, "ENABLED", False)
        off = optimize(pr, method="milp")
        assert on.status is off.status
        if on.status.has_list:
            assert on.status is Status.OPTIMAL and violations(pr, on.plan) == []
            assert objective_value(pr, on.plan) == pytest.approx(objective_value(pr, off.plan), abs=1e-7)
    assert sum(ran) >= 5, sum(ran)
