"""Before and after the safety-first default (issue 14), for every shipped profile.

For each profile in data/profiles/ (the tiny demo on its own catalog) one safety-first
solve, which also yields the plain P(match) list ("before": its first step is exactly the
`objective = "p_match"` solve) and the LA-leaning list at the same floor.  Prints, per
list: counts by tier (LA / rest of West / elsewhere), signals by tier, P(any match),
P(match in Greater LA), fees, and the wall time of the solves.  Asserts nothing.

    nice -n 5 python benchmarks/safety_first.py [--margin 0.01] [--profiles strong_la_ties,...]
"""
from __future__ import annotations

import argparse
import os
import time

import allocator
from allocator.paths import DATA_DIR


def _row(name: str, which: str, alt: dict) -> str:
    t = alt["tiers"]
    sig = " ".join(f"{k}:{sum(v.values())}" for k, v in alt["signals_by_tier"].items())
    return (f"| {name} | {which} | {alt['n_applications']} | {t['la']} / {t['west']} / {t['elsewhere']} | {sig} | "
            f"{100 * alt['p_match']:.1f}% | {100 * alt['p_match_la']:.1f}% | ${alt['fees']:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--margin", type=float, default=None)
    ap.add_argument("--profiles", default="")
    args = ap.parse_args()
    names = [x for x in args.profiles.split(",") if x] or sorted(
        p.removesuffix(".toml") for p in os.listdir(DATA_DIR / "profiles") if p.endswith(".toml"))
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| profile | list | n | LA / rest of West / elsewhere | signals by tier | P(match) | P(LA) | fees |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        cat = DATA_DIR / "catalogs" / "tiny_p_match.csv" if name == "tiny_demo" else None
        t0 = time.perf_counter()
        res = allocator.solve(DATA_DIR / "profiles" / f"{name}.toml", cat, objective="safety_first", draws=0,
                              safety_margin=args.margin)
        wall = time.perf_counter() - t0
        d = res.to_dict()
        alts = d["alternatives"]
        print(_row(name, "before (p_match)", alts["safest"]))
        chosen = {k: d[k] for k in ("tiers", "signals_by_tier", "p_match", "p_match_la", "n_applications")}
        print(_row(name, f"after (safety_first, {wall:.0f} s, {d['solver']['solves']} solves)",
                   chosen | {"fees": d["cost"]["total"]}))
        print(_row(name, f"LA-leaning at the floor ({alts['la_leaning']['status']})", alts["la_leaning"]))


if __name__ == "__main__":
    main()
