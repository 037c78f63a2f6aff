"""Where the wall time of ``allocator solve`` goes, phase by phase, in fresh processes.

Each round runs ``allocator solve PROFILE --json`` in a new interpreter with light timers
wrapped around the pipeline's stages (the wrappers add microseconds):

  * ``import``: importing what the command loads before it solves (allocator.cli,
    allocator.cli.solve, allocator.api and their libraries);
  * ``load``: the profile, catalog and model (``allocator.api.load``);
  * ``step 1``: the best P(match) (the first ``pipeline.optimize`` of the safety-first
    answer, with its candidates);
  * ``steps 2 + LA``: the rest of ``safety_first``: the answer's step 2 and the LA-leaning
    comparison (on two threads);
  * ``verify``: the Monte Carlo check of the list (``allocator.api.verify``);
  * ``other``: the rest of the process's wall time: interpreter start and exit, the
    report, the guide's figures, JSON.  The process ends as the console script does
    (``allocator._entry.console``, for a checkout that has it).

Medians over ``--rounds`` rounds (the machine is shared: single runs vary by 10-20%), each
phase also as a share of the total.  ``--compare DIR`` runs another checkout of allocator (for
example ``git worktree add /tmp/base <commit>``) in the same rounds, interleaved, and prints
each phase's ratio to it; the answers of both are checked equal (P(match), E[U] and the
LA-leaning list's P(LA), to 1e-9).  Results also go to benchmarks/results/solve_phases.txt.

    python benchmarks/solve_phases.py [--rounds 5] [--profile typical_us_img] [--compare DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bytecode import compiled  # benchmarks/bytecode.py: time the bytecode an install runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "solve_phases.txt"
PHASES = ("import", "load", "step 1", "steps 2 + LA", "verify", "other")

# Runs inside the timed process: wraps the stages by module attribute (looked up at call time).
PROBE = r'''
import sys, time, threading, json, os
T = {"step 1": 0.0}
t0 = time.perf_counter()
import allocator._entry, allocator.cli, allocator.cli.solve, allocator.api as api
from allocator.optim import pipeline, safety
T["import"] = time.perf_counter() - t0
def timed(mod, name, key, step1_only=False):
    """Add the calls' seconds to T[key]; ``step1_only``: main-thread calls until the first
    pipeline.optimize (step 1) has returned."""
    f = getattr(mod, name)
    def g(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            if not step1_only or (threading.current_thread() is threading.main_thread() and "first" not in T):
                T[key] = T.get(key, 0.0) + time.perf_counter() - t
    setattr(mod, name, g)
timed(api, "load", "load")
timed(api, "verify", "verify")
timed(safety, "safety_first", "safety_first")
timed(pipeline, "candidates", "cand", step1_only=True)
timed(pipeline, "optimize", "first", step1_only=True)
report = lambda: os.write(2, ("PHASES " + json.dumps(T) + "\n").encode())
entry = allocator._entry
if hasattr(entry, "console"):  # the console script's own end (fast_exit: no atexit handler runs)
    end = entry.fast_exit
    entry.fast_exit = lambda code: (report(), end(code))
    sys.argv = ["allocator"] + sys.argv[1:]
    entry.console()
else:  # a checkout from before fast_exit
    import atexit
    atexit.register(report)
    entry.main(sys.argv[1:])
'''


def run(root: Path, profile: str) -> tuple[dict[str, float], tuple]:
    """Phase seconds of one fresh ``allocator solve`` under ``root``, and the answer's key figures."""
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, "solve", f"data/profiles/{profile}.toml", "--json"],
                         cwd=root, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    line = [ln for ln in out.stderr.splitlines() if ln.startswith("PHASES ")][-1]
    t = json.loads(line[len("PHASES "):])
    step1 = t.get("first", 0.0) + t.get("cand", 0.0)
    phases = {"import": t["import"], "load": t.get("load", 0.0), "step 1": step1,
              "steps 2 + LA": t.get("safety_first", 0.0) - step1, "verify": t.get("verify", 0.0)}
    phases["other"] = wall - sum(phases.values())
    phases["total"] = wall
    d = json.loads(out.stdout)
    la = d["alternatives"]["la_leaning"]
    return phases, (round(d["p_match"], 9), round(d["expected_utility"], 9), round(la["p_match_la"], 9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", default="typical_us_img")
    ap.add_argument("--compare", type=Path, default=None, help="another allocator checkout to time alongside")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    roots = {"this": ROOT} | ({"compare": args.compare.resolve()} if args.compare else {})
    compiled(*roots.values())
    runs: dict[str, list[dict]] = {k: [] for k in roots}
    answers: dict[str, set] = {k: set() for k in roots}
    load0 = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, root in roots.items():
            phases, key = run(root, args.profile)
            runs[name].append(phases)
            answers[name].add(key)
    med = {name: {p: statistics.median(r[p] for r in rs) for p in (*PHASES, "total")} for name, rs in runs.items()}
    head = (f"solve_phases ({args.profile}; {os.cpu_count()} CPUs; load average {load0:.2f} -> "
            f"{os.getloadavg()[0]:.2f}; medians of {args.rounds} fresh processes"
            + (f"; compare = {args.compare}" if args.compare else "") + ")")
    lines = [head, f"{'phase':14s} {'seconds':>8s} {'share':>6s}" + ("  compare  ratio" if args.compare else "")]
    for p in (*PHASES, "total"):
        s = med["this"][p]
        row = f"{p:14s} {s:8.3f} {s / med['this']['total']:6.0%}"
        if args.compare:
            c = med["compare"][p]
            row += f"  {c:7.3f}  {s / c:5.2f}x" if c > 1e-9 else f"  {c:7.3f}"
        lines.append(row)
    lines.append(f"total min {min(r['total'] for r in runs['this']):.2f} s, max {max(r['total'] for r in runs['this']):.2f} s")
    if args.compare:
        same = len(answers["this"] | answers["compare"]) == 1
        lines.append(f"answers identical (P(match), E[U], LA-leaning P(LA) to 1e-9): {same}")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
