"""Issue 18's interactive figures on the shipped typical profile, in one run, with targets.

Every figure is the wall clock of a fresh ``allocator`` process (so imports, loading the
catalog and the ensemble, verification and writing the report are all counted), except the
50-point per-program-fee sweep, which is benchmarks/sweep_speed.py's "demo" instance with
fee_extra drawn from {0, 0, 15, 40} USD, timed in this process, and the import, timed inside
seven fresh processes (median shown, min beside it).

Baselines, measured in the same run (ratios = figure / baseline):
  * ``card``: the same task with ``--card default`` (the central card alone, a mixture of
    ~6 nodes instead of ~190): how far the ensemble objective is from the cheap objective;
  * ``before`` (``--before``, slow): the same task with the relaxation tree switched off
    (``allocator.optim.outer.NODE_LPS = 0``: every master is an integer program, as before
    issue 18's work; the builder's budget_count/la_count rows and the dominance cache stay).

Timings are noisy on a shared machine: the load average is printed before and after.
Nothing is asserted.  Results also go to benchmarks/results/interactive_speed.txt.

    python benchmarks/interactive_speed.py [--before] [--skip frontier10,fees] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bytecode import compiled  # benchmarks/bytecode.py: time the bytecode an install runs

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "data/profiles/typical_us_img.toml"
RESULTS = Path(__file__).parent / "results" / "interactive_speed.txt"
BEFORE = "import allocator.optim.outer as o; o.NODE_LPS = 0; "

TASKS = {  # name -> (CLI arguments, target seconds)
    "solve": (["solve", PROFILE], 1.0),
    "sweep29": (["sweep", PROFILE, "--budgets", "200:3000:100"], 8.0),
    "frontier10": (["sweep", PROFILE, "--frontier", "0.5:0.95:0.05"], 5.0),
    "mincost": (["solve", PROFILE, "--min-cost", "--target", "0.9"], 3.0),
}
LABELS = {"solve": "allocator solve (end to end)", "sweep29": "sweep --budgets 200:3000:100 (29 points)",
          "frontier10": "sweep --frontier 0.5:0.95:0.05 (10 points)", "mincost": "solve --min-cost --target 0.9"}


def run_cli(args: list[str], prelude: str = "") -> tuple[float, int]:
    """Wall seconds and exit code of ``allocator ARGS`` in a fresh process (output discarded)."""
    code = prelude + ("import sys, allocator._entry as e; sys.argv = ['allocator'] + sys.argv[1:]; "
                      "e.console() if hasattr(e, 'console') else e.main(sys.argv[1:])")  # as the console script ends
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    return time.perf_counter() - t0, done.returncode


def import_seconds(runs: int = 7) -> tuple[float, float, float]:
    """(median and min over ``runs`` fresh processes of importing what `allocator solve` loads
    before solving, bare interpreter start): one process varies by 20-30% on a shared machine."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import time; t = time.perf_counter(); import allocator.cli, allocator.cli.solve, allocator.api; "
            "print(time.perf_counter() - t)")
    secs = [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                                 text=True).stdout.strip().splitlines()[-1]) for _ in range(runs)]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], cwd=ROOT, env=env)
    return statistics.median(secs), min(secs), time.perf_counter() - t0


def fee_sweep(before: bool) -> tuple[float, str]:
    """The 50-point per-program-fee budget sweep (sweep_speed.py's demo instance with extras)."""
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    import sweep_speed as sp
    from allocator.optim import outer
    from allocator.studies.sweep import sweep

    problem = sp.with_extras(sp.demo_problem())
    budgets = np.linspace(100.0, 2500.0, 50)
    saved = outer.NODE_LPS
    outer.NODE_LPS = 0 if before else saved
    try:
        t0 = time.perf_counter()
        df = sweep(problem, "budget", budgets)
        wall = time.perf_counter() - t0
    finally:
        outer.NODE_LPS = saved
    return wall, f"{int((df['status'] == 'optimal').sum())}/50 optimal"


def line(label: str, secs: float, target: float | None, base: dict[str, float], note: str = "") -> str:
    tgt = f"target {target:4.2f} s ({'met' if secs <= target else 'MISSED'})" if target else ""
    ratios = "  ".join(f"{secs / b:5.2f}x {k}" for k, b in base.items() if b > 0)
    return f"{label:46s} {secs:7.2f} s  {tgt:26s} {ratios}  {note}".rstrip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", action="store_true", help="also time the integer-program-only configuration")
    ap.add_argument("--skip", default="", help="comma-separated: solve,sweep29,frontier10,mincost,fees")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    compiled(ROOT)
    skip = set(filter(None, args.skip.split(",")))
    load0 = os.getloadavg()
    rows = []
    imp, imp_min, bare = import_seconds()
    rows.append(line("import (allocator.cli, cli.solve, api)", imp, 0.25, {"python start": bare},
                     f"(median of 7; min {imp_min:.2f} s)"))
    for name, (cli, target) in TASKS.items():
        if name in skip:
            continue
        secs, rc = run_cli(cli)
        base = {"card": run_cli(cli + ["--card", "default"])[0]}
        if args.before:
            base["before"] = run_cli(cli, prelude=BEFORE)[0]
        rows.append(line(LABELS[name], secs, target, base, "" if rc == 0 else f"(exit {rc})"))
        print(rows[-1], flush=True)
    if "fees" not in skip:
        secs, note = fee_sweep(before=False)
        base = {}
        if args.before:
            base["before"] = fee_sweep(before=True)[0]
        rows.append(line("50-point budget sweep, per-program fees", secs, 10.0, base, note))
    load1 = os.getloadavg()
    head = (f"interactive_speed ({PROFILE}; {os.cpu_count()} CPUs; load average {load0[0]:.2f} -> {load1[0]:.2f}); "
            "ratios: this figure / the baseline named (card = same task with --card default, before = relaxation "
            "tree off, integer program only)")
    text = "\n".join([head, *rows]) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
