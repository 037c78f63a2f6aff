"""The settled safety-first answer against a long integer-program search, per shipped profile.

Without ``--time-limit`` the floored steps of the safety-first objective stop at the root
of the relaxation tree when it leaves a proven gap above ``allocator.optim.safety.SETTLE_GAP``
(a fixed amount of work).  This script measures what that gives up: for each shipped
profile (the four of data/profiles/ with an [applicant]) it runs the default (settled)
answer and the same answer with ``time_limit`` seconds for every step's integer program
(default 60 s), in this process, and prints per run: status, expected tier utility E[U],
P(match), P(match in Greater LA), the proven gap, and the wall time, with the ratio
long / settled of E[U] and of the time.  Asserts nothing; also written to
benchmarks/results/safety_first_settle.txt.

    nice -n 5 python benchmarks/safety_first_settle.py [--time-limit 60] [--profiles typical_us_img,...]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from allocator.api import load
from allocator.optim.evaluate import evaluate
from allocator.optim.safety import safety_first
from allocator.paths import DATA_DIR

PROFILES = ("typical_us_img", "strong_la_ties", "moderate_no_ties", "reapplicant_la_only")
RESULTS = Path(__file__).parent / "results" / "safety_first_settle.txt"


def run(problem, time_limit):
    t0 = time.perf_counter()
    sf = safety_first(problem, time_limit=time_limit)
    wall = time.perf_counter() - t0
    m = evaluate(problem, sf.chosen.plan, correlations=())
    return sf.chosen, m, wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--profiles", default=",".join(PROFILES))
    args = ap.parse_args()
    lines = [f"safety_first_settle (2 CPUs; load average {os.getloadavg()[0]:.2f}; long = time_limit "
             f"{args.time_limit:g} s)",
             "| profile | run | status | E[U] | P(match) | P(LA) | proven gap | wall s |", "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for name in args.profiles.split(","):
        problem = load(str(DATA_DIR / "profiles" / f"{name}.toml"), None)
        rows = {}
        for label, tl in (("settled", None), ("long", args.time_limit)):
            out, m, wall = run(problem, tl)
            rows[label] = (m.expected_utility, wall)
            gap = "-" if out.gap is None else f"{out.gap:.2e}"
            line = (f"| {name} | {label} | {out.status.value} | {m.expected_utility:.6f} | {100 * m.p_match:.2f}% | "
                    f"{100 * m.p_match_la:.2f}% | {gap} | {wall:.1f} |")
            lines.append(line)
            print(line, flush=True)
        (eu_s, t_s), (eu_l, t_l) = rows["settled"], rows["long"]
        line = f"| {name} | long - settled | | {eu_l - eu_s:+.6f} | | | | x{t_l / t_s:.1f} |"
        lines.append(line)
        print(line, flush=True)
    lines.append(f"load average at the end {os.getloadavg()[0]:.2f}")
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
