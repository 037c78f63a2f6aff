"""Reproduce a model card's calibration numbers from scratch.

    python benchmarks/calibrate.py                    # the default card
    python benchmarks/calibrate.py --card models/my_card.toml --rho-profile

Builds the card's seeded synthetic cohort of US-IMG applicants with realistic lists on the
demo catalog (allocator.model.calibration.make_cohort), evaluates it exactly under the card
(allocator.model.calibration.evaluate: copula quadrature, no simulation), and prints each
calibration target, the model's value and PASS/FAIL; then descriptive numbers, and with
``--rho-profile`` the same metrics at other values of rho (every other parameter fixed),
which shows how the targets pin rho down.  Asserts nothing (tests/test_calibration.py
does).  The demo catalog is synthetic.
"""
from __future__ import annotations

import argparse
import time

from allocator.model import calibration
from allocator.model.card import load_card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--card", default="default", help="card name in models/ or a path")
    ap.add_argument("--size", type=int, default=None, help="cohort size (default: the card's)")
    ap.add_argument("--rho-profile", action="store_true", help="also evaluate at other rho values")
    args = ap.parse_args(argv)

    card = load_card(args.card)
    t0 = time.perf_counter()
    catalog = calibration.cohort_catalog(card)
    cohort = calibration.make_cohort(card, catalog, size=args.size)
    res = calibration.evaluate(card, catalog, cohort)
    secs = time.perf_counter() - t0
    spec = card.calibration.cohort
    print(f"card {card.path} (version {card.version}), rho = {card.correlation}")
    print(f"cohort: {len(cohort)} synthetic US-IMG applicants, seed {spec.seed}, on the synthetic demo "
          f"catalog {spec.catalog}; mean {res.mean_applications:.1f} applications; {secs:.1f} s")
    print()
    table = calibration.check(card, res)
    print(f"{'target':32s} {'target':>8s} {'tol':>7s} {'model':>9s}  result")
    for r in table.itertuples():
        print(f"{r.target_name:32s} {r.target:8.3f} {r.tolerance:7.3f} {r.achieved:9.4f}  "
              f"{'PASS' if r.passed else 'FAIL'}")
    print()
    print("descriptive (not targets):")
    print(f"  P(match) over all applicants, incl. those without interviews  {res.match_rate_all:.4f}")
    print(f"  same lists if outcomes were independent (rho = 0)             {res.match_rate_all_independent:.4f}")
    print(f"  share of applicants with no interview (would not rank)        {res.share_no_interview:.4f}")
    print(f"  mean interviews: matched {res.mean_interviews_matched:.2f}, unmatched with >= 1 interview "
          f"{res.mean_interviews_unmatched_ranked:.2f}")
    if args.rho_profile:
        print()
        print("rho profile (every other parameter as in the card):")
        print(f"{'rho':>5s} {'match_rate':>10s} {'all':>7s} {'no_int':>7s} {'med_m':>6s} {'med_u':>6s} "
              f"{'mean_m':>7s} {'mean_u':>7s}")
        for rho in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6):
            r = calibration.evaluate(card, catalog, cohort, rho=rho)
            print(f"{rho:5.2f} {r.match_rate:10.4f} {r.match_rate_all:7.4f} {r.share_no_interview:7.4f} "
                  f"{r.median_interviews_matched:6d} {r.median_interviews_unmatched:6d} "
                  f"{r.mean_interviews_matched:7.2f} {r.mean_interviews_unmatched_ranked:7.2f}")
    return 0 if bool(table["passed"].all()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
