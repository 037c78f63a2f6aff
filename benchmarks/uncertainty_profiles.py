"""P(match) of the four shipped profiles' optimal lists, with the ensemble's uncertainty,
at their own budgets and at $300; against the previous model (one-factor copula, card 2026.2).

    python benchmarks/uncertainty_profiles.py

For each profile the list is optimized for the ensemble-average P(match) (the default
objective); the table gives that average, the central card's value, the 10th-90th
percentile over the accepted cards, the most pessimistic card, the number of applications,
the expected interviews, the solve's wall time, and the previous model's P(match) at the same
budget (benchmarks/results/profiles_before.json, measured at main dc32d79 with
`allocator.api.solve(..., draws=0)`).  Synthetic demo catalog.  Asserts nothing.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from allocator.api import solve  # noqa: E402

PROFILES = ("typical_us_img", "moderate_no_ties", "strong_la_ties", "reapplicant_la_only")


def main() -> int:
    before = json.loads((ROOT / "benchmarks" / "results" / "profiles_before.json").read_text())
    print(f"{'profile':22s} {'budget':>6s} {'before':>7s} {'average':>7s} {'central':>7s} {'p10-p90':>13s} "
          f"{'pessim':>7s} {'apps':>4s} {'E[int]':>6s} {'solve s':>7s}  warnings")
    for name in PROFILES:
        for b in (None, 300):
            t0 = time.perf_counter()
            r = solve(ROOT / "data" / "profiles" / f"{name}.toml", budget=b, draws=0, compare=False)
            secs = time.perf_counter() - t0
            m = r.metrics
            bf = before[f"{name}@{'own' if b is None else b}"]
            lo, hi = m.p_match_interval
            print(f"{name:22s} {r.problem.budget:6.0f} {bf['p_match']:7.3f} {m.p_match:7.3f} {m.p_match_central:7.3f} "
                  f"{lo:6.3f}-{hi:6.3f} {m.p_match_pessimistic:7.3f} {m.n_applications:4d} "
                  f"{m.expected_interviews:6.1f} {secs:7.2f}  {len(r.warnings)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
