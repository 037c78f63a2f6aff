"""Speed of the Monte Carlo simulator against a naive implementation, measured in one run.

For draws in {1e5, 1e6} x list sizes {25, 100, 300} it times
  * ``allocator.verification.simulate.simulate(method="mc")`` (chunked, float32 compare, threads),
  * the same with ``method="sobol"``,
  * a naive baseline: one unchunked float64 array U = sqrt(rho) Z + sqrt(1-rho) E of
    shape (draws, n), ``scipy.stats.norm.cdf(U) < p``, counts by ``sum(axis=1)``,
and prints seconds and the naive/simulate ratio (wall clock, best of ``--repeat`` runs;
the naive 1e6 cells run once).  The naive cell is skipped when its arrays would need more
memory than ``--naive-max-gb``.  Results also go to ``benchmarks/results/simulate_speed.csv``.
Nothing is asserted.

    python benchmarks/simulate_speed.py [--rho 0.35] [--repeat 3]
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

from allocator.verification.simulate import simulate


def naive_p_match(p: np.ndarray, rho: float, draws: int, seed: int) -> tuple[float, np.ndarray]:
    """Textbook version: whole (draws, n) array, Phi on every element."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((draws, 1))
    u = math.sqrt(rho) * z + math.sqrt(1.0 - rho) * rng.standard_normal((draws, len(p)))
    success = norm.cdf(u) < p
    del u
    k = success.sum(axis=1)
    return float(np.mean(k > 0)), np.bincount(k, minlength=len(p) + 1)


def best_of(fn, repeat: int) -> tuple[float, object, float]:
    """(best wall seconds, last result, CPU seconds of that best run, all threads)."""
    best, out, cpu = math.inf, None, math.nan
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return best, out, cpu


def synthetic_list(n: int, seed: int) -> np.ndarray:
    """A plausible list: a few reach programs near 0.15, a long tail of 0.01-0.05."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.beta(1.2, 30.0, n))[::-1] + 0.005


def run(rho: float, repeat: int, naive_max_gb: float, out: Path | None) -> list[dict]:
    rows = []
    for draws in (100_000, 1_000_000):
        for n in (25, 100, 300):
            p = synthetic_list(n, seed=n)
            reps = repeat if draws <= 100_000 else 1
            simulate(p, rho, draws=1_000, seed=0)  # warm-up (imports, thread pool)
            t_mc, r_mc, cpu_mc = best_of(lambda: simulate(p, rho, draws=draws, seed=1), max(reps, 2))
            t_sob, r_sob, _ = best_of(
                lambda: simulate(p, rho, draws=draws, seed=1, method="sobol"), reps
            )
            need_gb = 2 * draws * n * 8 / 1e9  # U and norm.cdf(U), float64
            if need_gb <= naive_max_gb:
                t_nv, (p_nv, _), _ = best_of(lambda: naive_p_match(p, rho, draws, 1), reps)
            else:
                t_nv, p_nv = math.nan, math.nan
            rows.append(
                dict(
                    draws=draws, n=n, mc_s=t_mc, mc_cpu_s=cpu_mc, sobol_s=t_sob, sobol_draws=r_sob.draws,
                    naive_s=t_nv, naive_over_mc=t_nv / t_mc,
                    p_mc=r_mc.p_match, se_mc=r_mc.std_error, p_sobol=r_sob.p_match,
                    se_sobol=r_sob.std_error, p_naive=p_nv,
                )
            )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return rows


def render(rows: list[dict], rho: float) -> str:
    head = (f"{'draws':>9} {'n':>4} {'mc s':>7} {'mc cpu':>7} {'sobol s':>8} {'naive s':>8} "
            f"{'naive/mc':>9} {'p mc (se)':>18} {'p sobol (se)':>18} {'p naive':>8}")
    lines = [f"rho = {rho}; {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cpus, numpy {np.__version__}, "
             f"load average at the end {os.getloadavg()[0]:.2f}", head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['draws']:>9,} {r['n']:>4} {r['mc_s']:>7.3f} {r['mc_cpu_s']:>7.3f} {r['sobol_s']:>8.3f} "
            f"{r['naive_s']:>8.3f} {r['naive_over_mc']:>8.1f}x "
            f"{r['p_mc']:>8.5f} ({r['se_mc']:.5f}) {r['p_sobol']:>8.5f} ({r['se_sobol']:.5f}) "
            f"{r['p_naive']:>8.5f}"
        )
    lines.append("seconds are wall clock; 'mc cpu' is CPU seconds over all threads of that run.")
    lines.append("sobol rounds draws up to 8 * 2^k (1e5 -> 131,072; 1e6 -> 1,048,576).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rho", type=float, default=0.35)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-max-gb", type=float, default=5.0)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "simulate_speed.csv")
    args = ap.parse_args()
    rows = run(args.rho, args.repeat, args.naive_max_gb, args.out)
    print(render(rows, args.rho))


if __name__ == "__main__":
    main()
