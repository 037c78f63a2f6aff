"""Two specialties: the example cohort's `img-two-specialties` applicant (Internal Medicine and
Family Medicine, gold and silver signals, a geographic preference; SYNTHETIC demo catalogs), with
reduced-cost fixing (allocator.optim.fixing) against the integer program on every candidate, in
the same run, alternating.

Timed in this process (imports and loading excluded): the default `allocator solve` answer
(``api.solve``, 20,000 Monte Carlo draws) and the batch's 10-budget curve (``sweep`` in P(match)
at ``batch.task.default_budgets``, as `allocator batch` runs it per applicant).  Both
configurations must give the same P(match) (and E[U] for the answer) to 1e-9, else the script
stops: the lists may differ where several lists tie.  Nothing else is asserted.  Results also
go to benchmarks/results/two_specialties.txt.

    python benchmarks/two_specialties.py [--rounds 1]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from allocator import api
from allocator.batch.cohort import load_cohort
from allocator.batch.task import default_budgets
from allocator.inputs.profile import profile_from_dict
from allocator.optim import fixing
from allocator.paths import DATA_DIR
from allocator.studies.sweep import sweep

RESULTS = Path(__file__).parent / "results" / "two_specialties.txt"


def applicant():
    member = next(m for m in load_cohort(DATA_DIR / "cohorts" / "example_cohort.csv") if m.id == "img-two-specialties")
    return profile_from_dict(member.doc, member.source)


def timed(enabled: bool, profile) -> tuple[float, tuple, float, list]:
    fixing.ENABLED = enabled
    try:
        t0 = time.perf_counter()
        res = api.solve(profile, draws=20_000)
        t_solve = time.perf_counter() - t0
        problem = api.load(profile)
        t0 = time.perf_counter()
        df = sweep(problem, "budget", default_budgets(problem.budget), mode="p_match")
        t_curve = time.perf_counter() - t0
    finally:
        fixing.ENABLED = True
    m = res.metrics
    return t_solve, (m.p_match, m.expected_utility), t_curve, list(df["p_match"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    profile = applicant()
    load0 = os.getloadavg()[0]
    rows = {True: [], False: []}
    for _ in range(args.rounds):
        for enabled in (False, True):
            rows[enabled].append(timed(enabled, profile))
    for on, off in zip(rows[True], rows[False]):
        if max(abs(a - b) for a, b in zip(on[1] + tuple(on[3]), off[1] + tuple(off[3]))) > 1e-9:
            raise SystemExit(f"the two configurations disagree: {on[1]} {on[3]} against {off[1]} {off[3]}")
    lines = [f"two_specialties (example cohort's img-two-specialties; {os.cpu_count()} CPUs; load average "
             f"{load0:.2f} -> {os.getloadavg()[0]:.2f}; {args.rounds} round(s); same P(match) and E[U] in both)"]
    for k, label in ((0, "default solve (api.solve, 20,000 draws)"), (2, "the batch's 10-budget curve")):
        on = min(r[k] for r in rows[True])
        off = min(r[k] for r in rows[False])
        lines.append(f"{label:42s} {on:7.2f} s with fixing, {off:7.2f} s without: {on / off:5.2f}x")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
