"""Small catalogs: the settled safety-first answer against the integer program, by catalog size.

A user who brings a short catalog of their own (a few dozen programs) gets problems the
size rule of ``allocator.optim.safety.settle_gap`` decides: above SETTLE_MIN_CANDIDATES
candidates the floored steps stop at the relaxation's root when it leaves a gap above
SETTLE_GAP (a fixed amount of work); at or below it they get the integer program, for up to
PROOF_SECONDS (the answer) and LA_MIN_SECONDS (the LA-leaning list) of the clock.

This script builds slices of the SYNTHETIC demo catalog (the first n/3 Greater LA programs
and the first 2n/3 others, from two offsets, and every k-th program) and solves the typical
applicant on each in this process twice: as shipped (``default``), and with every size given
the integer program (``program``: SETTLE_MIN_CANDIDATES raised past the slice, the rule
before this round).  Per slice it prints the wall time of each and their ratio, the answer's
expected tier utility E[U] and the LA-leaning list's P(match in Greater LA), each with its
status and proven gap.  Asserts nothing; also written to benchmarks/results/small_catalogs.txt.

    nice -n 5 python benchmarks/small_catalogs.py [--sizes 8,12,16,20,30,40,60,90]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from allocator.api import load
from allocator.optim import safety
from allocator.paths import DATA_DIR

PROFILE = DATA_DIR / "profiles" / "typical_us_img.toml"
DEMO = DATA_DIR / "catalogs" / "demo_internal_medicine.csv"
RESULTS = Path(__file__).parent / "results" / "small_catalogs.txt"


def slices(sizes, tmp: Path) -> dict[str, Path]:
    """Catalog files: LA-first slices of each size from two offsets, and every k-th program."""
    df = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    is_la = df["la_area"].str.lower() == "true"
    la, rest = df[is_la], df[~is_la]
    out = {}
    for n in sizes:
        for off in (0, 3):
            part = pd.concat([la.iloc[off:off + n // 3], rest.iloc[7 * off:7 * off + n - n // 3]])
            out[f"slice{n}+{off}"] = part
    for k in (25, 15, 10):
        out[f"every{k}th"] = df.iloc[k - 1::k]
    paths = {}
    for name, part in out.items():
        paths[name] = tmp / f"{name}.csv"
        part.to_csv(paths[name], index=False)
    return paths


def run(problem, settle_min: int):
    safety.SETTLE_MIN_CANDIDATES = settle_min
    t0 = time.perf_counter()
    sf = safety.safety_first(problem)
    return sf, time.perf_counter() - t0


def _cell(out) -> str:
    return f"{out.objective:.6f} {out.status.value[:4]} gap {out.gap or 0.0:.1e}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="8,12,16,20,30,40,60,90")
    sizes = [int(s) for s in ap.parse_args().sizes.split(",")]
    shipped = safety.SETTLE_MIN_CANDIDATES
    lines = [f"typical applicant on slices of the synthetic demo catalog; default: settle above "
             f"{shipped} candidates; program: the integer program at every size "
             f"(up to {safety.PROOF_SECONDS:g} s + {safety.LA_MIN_SECONDS:g} s)",
             f"{'catalog':13s} {'n':>3s} {'default s':>9s} {'program s':>9s} {'ratio':>6s}  "
             f"{'E[U] default':29s} {'E[U] program':29s} {'P(LA) default':29s} P(LA) program"]
    print(*lines, sep="\n", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in slices(sizes, Path(tmp)).items():
            problem = load(PROFILE, path)
            (a, wa), (b, wb) = run(problem, shipped), run(problem, 10 ** 6)
            line = (f"{name:13s} {problem.n:3d} {wa:9.2f} {wb:9.2f} {wa / wb:6.2f}  {_cell(a.chosen):29s} "
                    f"{_cell(b.chosen):29s} {_cell(a.la_leaning):29s} {_cell(b.la_leaning)}")
            print(line, flush=True)
            lines.append(line)
    safety.SETTLE_MIN_CANDIDATES = shipped
    RESULTS.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
