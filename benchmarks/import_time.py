"""Import time of `allocator solve` and of the CLI itself, this checkout against another one.

For each checkout (``--before``, default the main checkout /work/main, and this one) it
records which modules `allocator solve PROFILE --draws 0 --json` imports (``python -X
importtime``, the top-level imports in order), then times importing exactly those modules in
a fresh interpreter without -X importtime (wall clock inside the process, ``--runs`` runs,
the two checkouts interleaved so that they share the machine's load).  The same for
``import allocator.cli`` (what `allocator --help` loads before typer prints).  Prints min and
median seconds and the ratio after / before; also written to
``benchmarks/results/import_time.txt``.  Nothing is asserted.

    nice -n 5 python benchmarks/import_time.py [--before /work/main] [--runs 9]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

from bytecode import compiled  # benchmarks/bytecode.py: time the bytecode an install runs

HERE = Path(__file__).resolve().parents[1]
PROFILE = HERE / "data" / "profiles" / "typical_us_img.toml"
TIMER = "import time as _t\n_t0 = _t.perf_counter()\n{imports}\nprint(_t.perf_counter() - _t0)\n"


def env_for(root: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(root))


def solve_imports(root: Path, profile: Path) -> tuple[list[str], set[str]]:
    """(top-level modules `allocator solve` imports, in order; every module it imports), as
    -X importtime lists them."""
    cp = subprocess.run([sys.executable, "-X", "importtime", "-m", "allocator", "solve", str(profile), "--draws", "0",
                         "--json"], capture_output=True, text=True, env=env_for(root), cwd=root)
    mods, every = [], set()
    for line in cp.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|( +)(\S+)$", line)
        if not m:
            continue
        every.add(m.group(2))
        if len(m.group(1)) == 1 and m.group(2) not in mods:  # one space: imported at top level
            mods.append(m.group(2))
    return mods, every


def time_imports(root: Path, mods: list[str]) -> float:
    code = TIMER.format(imports="\n".join(f"import {m}" for m in mods))
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_for(root), cwd=root)
    if cp.returncode != 0:
        raise SystemExit(f"import failed under {root}: {cp.stderr.strip().splitlines()[-1]}")
    return float(cp.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, default=Path("/work/main"))
    ap.add_argument("--profile", type=Path, default=PROFILE)
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--out", type=Path, default=HERE / "benchmarks" / "results" / "import_time.txt")
    args = ap.parse_args()
    lines = report(args)
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def report(args) -> list[str]:
    roots = {"before": args.before.resolve(), "after": HERE}
    compiled(*roots.values())
    found = {k: solve_imports(r, args.profile) for k, r in roots.items()}
    sets = {k: {"solve": found[k][0], "cli": ["allocator", "allocator.cli"]} for k in roots}
    times = {(k, what): [] for k in roots for what in ("solve", "cli")}
    for _ in range(args.runs):
        for what in ("solve", "cli"):
            for k, r in roots.items():
                times[(k, what)].append(time_imports(r, sets[k][what]))
    out = [f"before = {roots['before']}, after = {roots['after']}; load average {os.getloadavg()[0]:.2f} "
           f"(2 cores, shared); {args.runs} runs each, interleaved",
           f"{'imports of':<34} {'checkout':<8} {'min s':>7} {'median s':>9}"]
    for what, label in (("solve", f"`allocator solve {args.profile.name}`"), ("cli", "`import allocator.cli` (--help)")):
        for k in roots:
            v = times[(k, what)]
            out.append(f"{label:<34} {k:<8} {min(v):>7.3f} {statistics.median(v):>9.3f}")
        b, a = times[("before", what)], times[("after", what)]
        out.append(f"{'':<34} {'after/before':<8} {min(a) / min(b):>7.2f} "
                   f"{statistics.median(a) / statistics.median(b):>9.2f}")
    gone = found["before"][1] - found["after"][1]
    pkgs = sorted({".".join(m.split(".")[:2]) for m in gone})
    out.append(f"modules the solve no longer imports: {len(gone)}, in " + (", ".join(pkgs) or "none"))
    heavy = [m for m in ("pandas", "numpy", "scipy", "pydantic", "pulp") if any(
        x == m or x.startswith(m + ".") for x in sets["after"]["cli"])]
    out.append(f"heavy libraries imported by `import allocator.cli`: {heavy or 'none (checked in tests/test_imports.py)'}")
    return out


if __name__ == "__main__":
    main()
