"""Speed of --min-cost on the demo profiles: the budget search against one integer program.

For each example profile (``data/profiles/*.toml`` with an ``[applicant]`` section; SYNTHETIC
demo catalogs; signals and geographic preference optimized, as the profiles ask) and each
target it times, in the same run:

  * the search (``optimize(problem, "min_cost", target=T)``, allocator/mincost.py): exact
    max-P(match) solves at trial budgets on one HiGHS model;
  * the baseline: one integer program that minimizes cost with P(match) >= T as an
    outer-approximated row (``outer.solve_milp(.., "min_cost")``, the method the search
    replaced), with a time limit (``--baseline-limit``, default 30 s).

Prints status, cost, solves and seconds for both, and the ratio baseline / search (a lower
bound on the speed-up when the baseline stops at its limit).  Results also go to
``benchmarks/results/min_cost_speed.md``.  Nothing is asserted.

    python benchmarks/min_cost_speed.py [--targets 0.8,0.9] [--baseline-limit 30]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from allocator import api

from allocator.optim import dominance
from allocator.api import optimize
from allocator.studies.bench import default_profiles
from allocator.optim.outer import solve_milp

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default="0.8,0.9")
    ap.add_argument("--baseline-limit", type=float, default=30.0)
    ap.add_argument("--out", type=Path, default=RESULTS / "min_cost_speed.md")
    args = ap.parse_args()
    targets = [float(t) for t in args.targets.split(",")]
    load0 = os.getloadavg()[0]
    rows = []
    for path in default_profiles():
        pr = api.load(path)
        name = Path(path).stem
        cap = float(pr.schedule.fee(pr.max_apps))
        cand = dominance.reduce(dataclasses.replace(pr, budget=cap))  # as optimize() reduces for min_cost
        for t in targets:
            t0 = time.perf_counter()
            out = optimize(pr, "min_cost", target=t)
            s_search = time.perf_counter() - t0
            t0 = time.perf_counter()
            base = solve_milp(pr, cand, "min_cost", target=t, time_limit=args.baseline_limit)
            s_base = time.perf_counter() - t0
            rows.append(dict(profile=name, target=t, status=out.status.value,
                             cost=out.objective, solves=out.solves, seconds=s_search,
                             base_status=base.status.value, base_cost=base.objective, base_solves=base.solves,
                             base_seconds=s_base, ratio=s_base / s_search))
            r = rows[-1]
            print(f"{name:22s} {t:.2f}  search {r['status']:10s} cost {_usd(r['cost']):>7s} "
                  f"{r['solves']:3d} solves {s_search:6.1f} s | one MILP {r['base_status']:11s} "
                  f"cost {_usd(r['base_cost']):>7s} {s_base:6.1f} s | ratio {r['ratio']:.1f}x", flush=True)
    load1 = os.getloadavg()[0]
    lines = ["# --min-cost speed: budget search vs one integer program", "",
             "**SYNTHETIC demo catalogs: invented programs at real places; not real program data.**", "",
             f"Command: `python benchmarks/min_cost_speed.py --targets {args.targets} "
             f"--baseline-limit {args.baseline_limit:g}`; 2-core machine, load average {load0:.1f} -> {load1:.1f}.",
             "", "Search: exact max-P(match) solves at trial budgets (allocator/mincost.py). One MILP: minimize "
             "cost with P(match) >= target as an outer-approximated row (outer.solve_milp 'min_cost'), "
             f"stopped at {args.baseline_limit:g} s. Ratio: one-MILP seconds / search seconds (a lower bound "
             "when the one MILP hit its limit).", "",
             "| profile | target | search status | min cost | solves | search s | one-MILP status | its cost | "
             "one-MILP s | ratio |", "|---|---:|---|---:|---:|---:|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['profile']} | {r['target']:.2f} | {r['status']} | {_usd(r['cost'])} | {r['solves']} | "
                     f"{r['seconds']:.1f} | {r['base_status']} | {_usd(r['base_cost'])} | {r['base_seconds']:.1f} | "
                     f"{r['ratio']:.1f}x |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print(f"written {args.out}")


def _usd(x) -> str:
    return "-" if x is None else f"${x:,.0f}"


if __name__ == "__main__":
    main()
