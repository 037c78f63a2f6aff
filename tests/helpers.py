"""Shared test helpers: random small problems and a brute-force oracle."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from allocator.inputs.catalog import catalog_from_frame
from allocator.optim.problem import Plan
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict


def random_catalog(rng: np.random.Generator, n: int, *, extras: bool = False, two_specs: bool = False,
                   p_lo: float = 0.01, p_hi: float = 0.45, low_p: bool = False):
    """``low_p``: p log-uniform from 0.001 to ``p_hi`` (real catalogs hold such programs; a
    program that adds so little is where a solver's tie slack would show)."""
    rows = []
    for i in range(n):
        la = rng.random() < 0.4
        spec = "Family Medicine" if (two_specs and rng.random() < 0.4) else "Internal Medicine"
        rows.append({
            "program_id": f"P{i:02d}", "name": f"Test program {i}", "specialty": spec,
            "city": "Los Angeles" if la else ("Phoenix" if rng.random() < 0.3 else "Columbus"),
            "state": "CA" if la else "OH", "la_area": "true" if la else "false",
            "p_match": f"{np.exp(rng.uniform(np.log(0.001), np.log(p_hi))) if low_p else rng.uniform(p_lo, p_hi):.5f}",
            "fee_extra": f"{rng.choice([0, 0, 15, 40]) if extras else 0}",
        })
    return catalog_from_frame(pd.DataFrame(rows), "<random>")


def random_problem(rng: np.random.Generator, n: int = 12, *, rho: float = 0.0, extras: bool = False,
                   season: str | None = None, must_never: bool = False, objective: str = "p_match",
                   two_specs: bool = False, affordable: bool = False, low_p: bool = False):
    """A random small problem.  ``affordable``: when the drawn budget cannot pay the season's
    ERAS fee for max(1, min_applications) programs (2024's first block is a flat $99), that
    fee is added to it, so some non-empty list fits; every random draw is the same either way.
    ``low_p``: see :func:`random_catalog`."""
    cat = random_catalog(rng, n, extras=extras, two_specs=two_specs, low_p=low_p)
    ids = list(cat.df["program_id"])
    strategy = {
        "budget": float(rng.choice([40, 55, 88, 132, 200, 400])),
        "season": season or str(rng.choice(["2024", "2026"])),
        "max_applications": int(rng.choice([3, 4, 6, 8, 14])),
        "min_applications": int(rng.choice([0, 0, 0, 2])),
        "la_share_max": float(rng.choice([0.0, 0.25, 0.34, 0.5, 1.0])),
        "correlation": float(rho),
        "objective": objective,
    }
    if must_never:
        perm = rng.permutation(ids)
        strategy["must_apply"] = list(perm[: int(rng.integers(0, 2))])
        strategy["never_apply"] = list(perm[2: 2 + int(rng.integers(0, 3))])
    if affordable:
        from allocator.inputs.fees import load_schedule

        need = load_schedule(strategy["season"]).fee(max(1, strategy["min_applications"]))
        if strategy["budget"] < need:
            strategy["budget"] += need
    prof = profile_from_dict({"strategy": strategy}, "<random>")
    return build_problem(cat, prof)


def brute_force(problem, mode: str = "p_match", target: float | None = None, nonempty: bool = False):
    """Best value over every subset (n <= 14): (value, plan) or (None, None) if infeasible.
    ``nonempty``: over the lists of at least one program only (the public ``optimize`` and
    ``solve`` answer no list when the limits admit only the empty one).

    Vectorized over all 2^n subsets; feasibility is recomputed here from the program table
    and the fee schedule (not the solver's model), values with the quadrature evaluator's
    nodes but no shared code path with the optimizer."""
    from allocator.model.copula import log_fail

    n = problem.n
    subsets = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)  # (2^n, n)
    size = subsets.sum(axis=1)
    ok = (size <= problem.max_apps) & (size >= max(problem.min_apps, 1 if nonempty else 0))
    fees = np.array(problem.schedule.fees(n))
    specs = problem.programs["specialty"].to_numpy()
    cost = subsets @ problem.programs["fee_extra"].to_numpy(float)
    for sname in set(specs):
        cost += fees[(subsets[:, specs == sname].sum(axis=1)).astype(int)]
    ok &= cost <= problem.budget + 1e-6  # the budget tolerance of every path (inputs.fees.BUDGET_TOL)
    la = problem.programs["la_area"].to_numpy(bool).astype(float)
    ok &= subsets @ la <= problem.la_share_max * size + 1e-9
    for i in problem.must:
        ok &= subsets[:, i] == 1
    nodes = problem.nodes()

    def p_any(mask):
        L = log_fail(problem.p, nodes.rho, nodes.z) * mask[None, :]  # (K, n)
        return 1.0 - np.exp(subsets @ L.T) @ nodes.w

    pm = p_any(np.ones(n))
    if mode == "p_match":
        val = pm
    elif mode == "utility":
        u = problem.utility
        val = np.zeros(len(subsets))
        prev = 0.0
        for lev in np.unique(u[u > 0]):
            val += (lev - prev) * p_any((u >= lev).astype(float))
            prev = lev
    elif mode == "min_cost":
        ok &= pm >= target - 1e-12
        val = -cost
    elif mode == "la_given_target":
        ok &= pm >= target - 1e-12
        val = p_any(la)
    if not ok.any():
        return None, None
    k = int(np.argmax(np.where(ok, val, -np.inf)))
    return float(val[k]), Plan.of(np.nonzero(subsets[k])[0])


def cheapest_list(problem) -> float | None:
    """The least a list of at least one program that meets every limit but the budget costs
    (every subset, n <= 14, with this file's own arithmetic), None when there is no such list."""
    n = problem.n
    subsets = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(float)
    size = subsets.sum(axis=1)
    ok = (size >= max(1, problem.min_apps)) & (size <= problem.max_apps)
    fees = np.array(problem.schedule.fees(n))
    specs = problem.programs["specialty"].to_numpy()
    cost = subsets @ problem.programs["fee_extra"].to_numpy(float)
    for sname in set(specs):
        k = subsets[:, specs == sname].sum(axis=1).astype(int)
        cost += fees[k]
        ok &= k >= problem.spec_min.get(sname, 0)
        ok &= k <= problem.spec_max.get(sname, n)
    la = problem.programs["la_area"].to_numpy(bool).astype(float)
    ok &= subsets @ la <= problem.la_share_max * size + 1e-9
    for i in problem.must:
        ok &= subsets[:, i] == 1
    return float(cost[ok].min()) if ok.any() else None


def run(capsys, *args):
    """``allocator ARGS`` in this process: (exit code, stdout, stderr)."""
    import pytest

    from allocator.cli import main

    with pytest.raises(SystemExit) as e:
        main(list(args))
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def mc_close(est: float, ref: float, draws: int, k: float = 4.0) -> bool:
    """A plain Monte Carlo estimate within k standard errors of the reference value, the error
    taken from the reference (sqrt(ref (1 - ref) / draws)), never from the code under test."""
    se = float(np.sqrt(max(ref * (1.0 - ref), 1e-12) / draws))
    return abs(est - ref) <= k * se



def cap085_models(directory: Path) -> Path:
    """A copy of models/ in ``directory`` whose ensemble is tests/data/ensemble_cap085.json: card
    2026.3's 30 plausible models, from before card 2026.4 drew the IMG-share cap, each clipping
    the share at 0.85.  Their 10th percentile sits higher (typical profile: 75.7% against 72.0%),
    so the Step 2 CK score check and the IMG-share cap check fall below it: the tests of how a
    check joins the figure to plan on have a check to join."""
    from allocator.paths import MODELS_DIR

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("default.toml", "default_score_check.json", "default_cap_check.json"):
        shutil.copy(MODELS_DIR / name, directory / name)
    shutil.copy(Path(__file__).parent / "data" / "ensemble_cap085.json", directory / "default_ensemble.json")
    return directory


@contextmanager
def using_cap085_models(directory: Path):
    """Within the block the default card is cap085_models(directory)'s."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("allocator.model.card.MODELS_DIR", cap085_models(directory))
        yield
