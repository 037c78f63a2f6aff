"""Solve time and P(>=1) against a greedy baseline, n = 50, 200, 760, 3000.

Synthetic instances (stated in the output): p log-uniform in [0.001, 0.06], 6% Greater-LA
programs, budget $2,500, at most 100 applications, LA share <= 30%, 2026 ERAS fees.  For
each n and correlation (0 = independent, 0.35 = the default correlated model) and cost
structure (count-based fees only, or with per-program fee_extra that forces the integer
program), it times:
  - greedy: best marginal P gain per dollar (the baseline, measured in the same run);
  - milp: the exact solve (dominance reduction + outer approximation; HiGHS), solver seconds and
    wall seconds;
  - fast: the count scan (count-based costs only);
  - cli: `allocator solve --method milp --draws 0` end to end (n = 760 only).
and 10^6 simulated draws of a 100-program list.  Prints a markdown table; asserts nothing.

    python benchmarks/solve_scaling.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from allocator import optimize
from allocator.inputs.catalog import catalog_from_frame
from allocator.optim.evaluate import evaluate
from allocator.optim.start import greedy
from allocator.optim.assemble import build_problem
from allocator.inputs.profile import profile_from_dict
from allocator.verification.simulate import simulate


def instance_frame(n: int, extras: bool, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    la = rng.random(n) < 0.06
    p = np.exp(rng.uniform(np.log(0.001), np.log(0.06), n))
    return pd.DataFrame({
        "program_id": [f"P{i:04d}" for i in range(n)], "name": [f"Synthetic {i}" for i in range(n)],
        "specialty": "Internal Medicine", "city": np.where(la, "Los Angeles", "Columbus"),
        "state": np.where(la, "CA", "OH"), "la_area": la, "p_match": np.round(p, 6),
        "fee_extra": rng.choice([0, 0, 0, 25, 60], n) if extras else 0, "synthetic": True})


STRATEGY = {"budget": 2500, "max_applications": 100, "la_share_max": 0.3, "season": "2026"}


def problem_for(df: pd.DataFrame, rho: float):
    prof = profile_from_dict({"strategy": STRATEGY | {"correlation": rho}})
    return build_problem(catalog_from_frame(df), prof)


def timed(f, repeat: int = 3):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    print("SYNTHETIC instances (see the docstring); machine: %d cores" % os.cpu_count())
    rows = []
    for n in (50, 200, 760, 3000):
        for extras in (False, True):
            df = instance_frame(n, extras)
            for rho in (0.0, 0.35):
                pr = problem_for(df, rho)
                tg, g = timed(lambda: greedy(pr), 1)
                pg = evaluate(pr, g).p_match
                tm, o = timed(lambda: optimize(pr, method="milp"), 1 if n >= 760 else 3)
                row = {"n": n, "fee_extra": extras, "rho": rho, "P greedy": pg, "P optimum": o.objective,
                       "gain (pp)": 100 * (o.objective - pg), "gap": o.gap, "solver s": o.seconds, "MILP wall s": tm,
                       "solves": o.solves, "candidates": o.n_candidates, "greedy s": tg,
                       "MILP/greedy time": tm / tg}
                if not extras:
                    tf, of = timed(lambda: optimize(pr, method="fast"))
                    row["fast s"] = tf
                    row["fast = MILP"] = abs(of.objective - o.objective) < 1e-9
                rows.append(row)
    tab = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(tab.to_string(index=False))

    # end to end from the CLI at n = 760 (with fee_extra so the integer program runs)
    with tempfile.TemporaryDirectory() as d:
        cat = os.path.join(d, "cat.csv")
        instance_frame(760, True).to_csv(cat, index=False)
        prof = os.path.join(d, "p.toml")
        with open(prof, "w") as f:
            f.write("[strategy]\nbudget = 2500\nmax_applications = 100\nla_share_max = 0.3\ncorrelation = 0.0\n")
        for rho in ("0.0", "0.35"):
            t = time.perf_counter()
            r = subprocess.run(["allocator", "solve", prof, "--catalog", cat, "--method", "milp", "--correlation", rho,
                                "--json"], capture_output=True, text=True)
            print(f"CLI end to end, n=760 with fee_extra, rho={rho}: {time.perf_counter() - t:.2f} s "
                  f"(exit {r.returncode}, includes 200,000-draw Monte Carlo check)")
    # simulation speed
    rng = np.random.default_rng(1)
    p = rng.uniform(0.005, 0.05, 100)
    t, _ = timed(lambda: simulate(p, 0.35, draws=1_000_000, seed=0), 2)
    print(f"10^6 simulated draws, 100-program list, rho 0.35: {t:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
