"""Speed of the P(any match) / P(match in LA) frontier on the integer-program path: one model
reused across the points (only the floor row changes; each point's tangent rows re-seeded
where the previous point's lists were; each point started from the previous point's list)
against a fresh solve per point, measured in one run.

Instance: the shipped tiny demo (data/profiles/tiny_demo.toml with data/catalogs/
tiny_p_match.csv, SYNTHETIC, 40 programs, the user's own p_match) at correlation 0.35, the
integer program forced (``method="milp"``) so that both ways solve the same model family.
Floors: the best P(any match) minus the default safety margins (studies.frontier.MARGINS).

Prints wall and CPU seconds of both ways, their ratio, the load average, and the largest
|dP(match in LA)| between the two (both exact: it should be below 1e-7).  Nothing is asserted.

    python benchmarks/frontier_speed.py [--repeat 3] [--profile P --catalog C]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from allocator.api import load
from allocator.optim import pipeline
from allocator.optim.evaluate import evaluate
from allocator.studies.frontier import MARGINS, frontier

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default=str(ROOT / "data/profiles/tiny_demo.toml"))
    ap.add_argument("--catalog", default=str(ROOT / "data/catalogs/tiny_p_match.csv"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pr = load(a.profile, a.catalog, correlation=0.35)
    best = pipeline.optimize(pr, "p_match", method="milp").objective
    floors = [max(0.0, best - max(m, 1e-6)) for m in MARGINS]
    rows = []
    for _ in range(a.repeat):
        df, w1, c1 = timed(lambda: frontier(pr, floors, method="milp"))

        def fresh():
            return [pipeline.optimize(pr, "la_given_target", target=t, method="milp") for t in floors]

        outs, w2, c2 = timed(fresh)
        la = [evaluate(pr, o.plan, correlations=()).p_match_la for o in outs]
        rows.append((w1, c1, w2, c2, float(np.max(np.abs(df.p_match_la.to_numpy() - la)))))
    w1, c1, w2, c2, dp = (min(r[k] for r in rows) for k in range(5))
    print(f"frontier of {len(floors)} floors, {pr.n} programs, best P(any match) {best:.4f}; "
          f"load average {os.getloadavg()[0]:.2f}; best of {a.repeat}")
    print(f"  one reused model : {w1:7.2f} s wall, {c1:7.2f} s CPU")
    print(f"  fresh solves     : {w2:7.2f} s wall, {c2:7.2f} s CPU")
    print(f"  ratio fresh/reused: {w2 / w1:.2f}x wall, {c2 / c1:.2f}x CPU; max |dP(LA)| {dp:.1e}")


if __name__ == "__main__":
    main()
