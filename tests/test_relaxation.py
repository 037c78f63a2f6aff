"""The exact engine's fast paths (issue 18): the relaxation tree, the count rows, the cached
dominance and the frontier's reuse hold the same optima as the integer program alone and as
brute force on small instances."""
import itertools

import numpy as np
import pytest

from allocator import optimize
from allocator.optim import dominance, outer
from allocator.optim.builder import build, cheapest_by_count
from allocator.optim.evaluate import evaluate, objective_value
from allocator.optim.feasibility import violations
from allocator.status import Status
from allocator.studies.frontier import frontier

from .helpers import brute_force, random_problem
from .test_signals import brute, with_bonuses


@pytest.mark.parametrize("seed", range(6))
def test_cheapest_by_count_is_the_least_cost_of_each_count(seed):
    """c[n] is the least cost over every list of n candidates (brute force), two specialties."""
    rng = np.random.default_rng(300 + seed)
    pr = random_problem(rng, 9, extras=True, two_specs=True)
    cand = np.arange(pr.n)
    c = cheapest_by_count(pr, cand)
    fee = pr.schedule.fee
    for n in range(len(c)):
        costs = [sum(fee(int((pr.spec[list(s)] == k).sum())) for k in range(len(pr.specialties)))
                 + float(pr.extra[list(s)].sum())
                 for s in itertools.combinations(range(pr.n), n)
                 if all((pr.spec[list(s)] == k).sum() <= pr.spec_max.get(name, n)
                        for k, name in enumerate(pr.specialties))]
        assert c[n] == pytest.approx(min(costs) if costs else np.inf)


@pytest.mark.parametrize("seed", range(8))
def test_relaxation_tree_matches_integer_program_and_brute_force(seed, monkeypatch):
    """Signals and divisions (the tree branches on divisions): the default engine, the
    integer program alone (NODE_LPS = 0) and brute force agree; both are proven optimal."""
    rng = np.random.default_rng(500 + seed)
    pr = with_bonuses(random_problem(rng, 6, rho=[0.0, 0.35][seed % 2]), rng, gold=1, silver=seed % 2,
                      divisions=1 + seed % 2)
    fast = optimize(pr, method="milp")
    monkeypatch.setattr(outer, "NODE_LPS", 0)
    slow = optimize(pr, method="milp")
    want = brute(pr)
    if want < 0:  # no list at all: both say so
        assert fast.status is Status.INFEASIBLE and slow.status is Status.INFEASIBLE
        return
    for out in (fast, slow):
        assert out.status is Status.OPTIMAL and violations(pr, out.plan) == []
        assert objective_value(pr, out.plan) == pytest.approx(want, abs=1e-9)
        assert out.gap <= outer.TOL


@pytest.mark.parametrize("seed", range(6))
def test_budget_count_rows_keep_every_list(seed):
    """The count rows (budget_count, la_count) follow set_budget and never cut a feasible
    list: a reused model solved at each budget equals brute force there."""
    rng = np.random.default_rng(700 + seed)
    pr = random_problem(rng, 10, rho=0.35, extras=bool(seed % 2))
    top = pr.with_limits(budget=400.0)
    f = build(top, np.arange(pr.n), "p_match")
    for budget in (400.0, 132.0, 55.0):
        at = pr.with_limits(budget=budget)
        cand = np.arange(pr.n)
        out = outer.solve_milp(at, cand, "p_match", formulation=f)
        want, _ = brute_force(at)
        if want is None:
            assert out.status is Status.INFEASIBLE
            continue
        assert out.status is Status.OPTIMAL and violations(at, out.plan) == []
        assert evaluate(at, out.plan, correlations=()).p_match == pytest.approx(want, abs=1e-9)


def test_cached_dominance_equals_a_fresh_count():
    """reduce() on limit copies (the cached count of dominators) keeps what a fresh count keeps."""
    rng = np.random.default_rng(9)
    pr = with_bonuses(random_problem(rng, 14, rho=0.35), rng, gold=1, silver=1, divisions=2)
    for budget in (40.0, 88.0, 200.0, 400.0):
        at = pr.with_limits(budget=budget)
        counts = dominance._dominator_counts(at, False, 512)
        caps = dominance.count_caps(at)
        K = caps[0]
        fresh = np.nonzero(~((counts >= K) & (len(counts) > K)))[0]
        assert dominance.reduce(at).tolist() == fresh.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_frontier_reuse_matches_fresh_solves(seed):
    """The frontier's reused lists (a lower target's optimum still reaching a higher one) and
    its skipped unreachable targets equal a fresh solve at every target."""
    rng = np.random.default_rng(900 + seed)
    pr = random_problem(rng, 9, rho=0.35, extras=True)
    targets = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    df = frontier(pr, targets, method="milp")
    for t, row in zip(targets, df.itertuples()):
        want, _ = brute_force(pr, "la_given_target", target=t)
        if want is None:
            assert row.status == "infeasible"
            continue
        assert row.status == "optimal" and row.p_match >= t - 1e-12
        assert row.p_match_la == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_bulk_exposure_rows_equal_the_row_by_row_ones(seed):
    """Formulation.exposure_csr (the HiGHS session's one addRows) holds exactly the rows of
    exposure_rows (the PuLP model's, row by row): same order, variables and coefficients,
    under the two-stage mixture with signals and divisions and with several terms."""
    from allocator.optim.assemble import load_problem

    rng = np.random.default_rng(800 + seed)
    if seed == 0:
        pr = load_problem("data/profiles/typical_us_img.toml")
        cand, mode = dominance.reduce(pr), "utility"
    else:
        pr = with_bonuses(random_problem(rng, 9, rho=0.3, objective="utility"), rng, divisions=seed % 2)
        cand, mode = np.arange(pr.n), ("p_match", "utility", "la_given_target")[seed - 1]
    f = build(pr, cand, mode, target=0.2 if mode == "la_given_target" else None)
    for k, v in enumerate(f.model.variables()):
        v.index = k
    starts, idx, val = f.exposure_csr()
    rows = list(f.exposure_rows())
    assert len(rows) == len(starts) > 0
    ends = [*starts[1:], len(idx)]
    for (name, items), s, e in zip(rows, starts, ends):
        assert [v.index for v, _ in items] == idx[s:e].tolist(), name
        assert [c for _, c in items] == val[s:e].tolist(), name


def _iterations(monkeypatch) -> list[int]:
    """The simplex iterations of every HiGHS run from now on, in order."""
    from allocator.optim.engines import highs

    counts, real = [], highs._timed_run
    monkeypatch.setattr(highs, "_timed_run", lambda h: (real(h), counts.append(h.getInfo().simplex_iteration_count))[0])
    return counts


@pytest.mark.parametrize("seed", (0, 1, 3, 4))  # seed 2's limits admit no list
def test_a_relaxations_basis_restarts_the_same_model_where_it_ended(seed, monkeypatch):
    """HighsSession.named_basis / start_from: the basis of a model's last relaxation, given to
    the same model built again (the same rows and columns under their names and keys), starts
    its first relaxation at the optimum: 0 simplex iterations and the same bound; a cold start
    takes hundreds (the key of every row and column is right, or HiGHS would have to pivot)."""
    from allocator.optim.engines import run_master
    from allocator.optim.engines.highs import named_basis

    rng = np.random.default_rng(900 + seed)
    pr = with_bonuses(random_problem(rng, 9, rho=0.3, objective="utility"), rng, divisions=seed % 2)
    cand, mode = np.arange(pr.n), ("p_match", "utility")[seed % 2]
    target = None
    counts = _iterations(monkeypatch)
    runs = []
    for warm in (None, "from the first"):
        f = build(pr, cand, mode, target=target)
        outer.seed_tangents(f, None)
        if warm is not None:
            f.warm_basis = basis
        runs.append(run_master(f, relax=True))
        basis = named_basis(f)
        assert basis is not None
    assert runs[0].status is Status.OPTIMAL and counts[0] > 0 and counts[1] == 0
    assert runs[1].bound == pytest.approx(runs[0].bound, abs=1e-9)


def test_floored_steps_started_from_step_1s_basis_give_the_cold_answer(monkeypatch):
    """The safety-first floored steps start their first relaxation from step 1's basis
    (safety._at_floor, warm_basis): on the typical profile the same lists, statuses, values
    and gaps as started cold, in fewer simplex iterations."""
    from allocator.optim import pipeline
    from allocator.optim.assemble import load_problem
    from allocator.optim.safety import safety_first

    pr = load_problem("data/profiles/typical_us_img.toml")
    counts = _iterations(monkeypatch)
    warm = safety_first(pr)
    n_warm = sum(counts)
    real = pipeline.optimize
    monkeypatch.setattr(pipeline, "optimize", lambda *a, **k: real(*a, **{**k, "warm_basis": None}))
    counts.clear()
    cold = safety_first(pr)
    for a, b in ((warm.chosen, cold.chosen), (warm.la_leaning, cold.la_leaning)):
        assert a.plan == b.plan and a.status is b.status
        assert a.objective == pytest.approx(b.objective, abs=1e-12)
        assert a.gap == pytest.approx(b.gap, abs=1e-9)
    assert n_warm < 0.8 * sum(counts)


@pytest.mark.parametrize("seed", [0, 9, 12])
def test_an_integer_program_stopped_by_its_clock_never_loosens_the_proven_bound(monkeypatch, seed):
    """A program stopped early (a busy machine) reports a loose bound of its own; every proven
    bound holds, so the tightest is kept: the stated gap is the one the relaxation proved (the
    strong applicant's answer once read gap 0.17 instead of 7.7e-5 under load)."""
    import dataclasses

    from allocator.optim import pipeline

    rng = np.random.default_rng(seed)
    pr = random_problem(rng, 18, rho=0.3, affordable=True)
    pr = dataclasses.replace(pr, utility=rng.choice((0.6, 0.8, 1.0), pr.n))
    best = outer.solve_milp(pr, pipeline.candidates(pr, "p_match", None), "p_match")
    cand, target = pipeline.candidates(pr, "utility_given_target", None), best.objective - 0.02
    real, calls = outer.run_master, []

    def stopped(bound_shift):
        def run(f, time_limit=None, warm=False, engine="highs", proven=False, relax=False, fixed=None):
            r = real(f, time_limit, warm, engine, proven=proven, relax=relax, fixed=fixed)
            if relax or r.bound is None:
                return r
            calls.append(1)  # the integer program, stopped at once with a bound that says little
            return dataclasses.replace(r, status=Status.FEASIBLE, proven=True,
                                       bound=None if bound_shift is None else r.bound - bound_shift)
        return run

    monkeypatch.setattr(outer, "run_master", stopped(0.5))
    loose = outer.solve_milp(pr, cand, "utility_given_target", target=target)
    monkeypatch.setattr(outer, "run_master", stopped(None))
    silent = outer.solve_milp(pr, cand, "utility_given_target", target=target)
    assert calls and loose.message == "time limit reached" and loose.status is Status.FEASIBLE
    assert loose.bound == pytest.approx(silent.bound, abs=1e-12) and loose.gap == pytest.approx(silent.gap, abs=1e-12)
    assert loose.gap < 0.4  # not the stopped program's gap of about 0.5
