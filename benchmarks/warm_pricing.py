"""Dual pricing of HiGHS runs that start from a basis (``WARM_DUAL_PRICING`` in
allocator/optim/engines/highs.py): wall seconds and HiGHS seconds of fresh ``allocator``
processes on the shipped profiles, medians of ``--rounds`` interleaved rounds.

A relaxation re-solved after tangent rows were added starts from the previous basis.
HiGHS's default dual pricing (steepest edge) first computes exact edge weights for that
basis, which on the safety-first models (5,000 rows, 490,000 nonzeros) costs about as much
as the few hundred iterations that follow.  Configurations (ratio = median / the
steepest-edge median, same run):
  * ``steepest edge``: ``WARM_DUAL_PRICING = -1`` (HiGHS's choice; the behaviour before);
  * ``Dantzig``: ``WARM_DUAL_PRICING = 0``;
  * ``Devex`` (shipped): ``WARM_DUAL_PRICING = 1``.
Cold runs (a new model, or a MIP after ``clearSolver``) keep HiGHS's choice in all three.
The answers must agree: P(match), E[U] and the LA-leaning list's P(LA) for a solve; every
point's status, P(match), P(LA) and cost for a sweep (lists tied on all of them may differ).
Results also go to benchmarks/results/warm_pricing.txt.

    python benchmarks/warm_pricing.py [--rounds 3]
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
RESULTS = Path(__file__).parent / "results" / "warm_pricing.txt"
SET = "h.WARM_DUAL_PRICING = {}; "
CONFIGS = {"steepest edge": SET.format(-1), "Dantzig": SET.format(0), "Devex (shipped)": ""}
# HiGHS seconds: the adapter's own timer, summed and printed to stderr at exit
# (both solving threads' runs counted)
COUNT = """import atexit, sys, threading, allocator.optim.engines.highs as h
_t, _lock, _run = [0.0], threading.Lock(), h._timed_run
def _counted(x):
    s = _run(x)
    with _lock:
        _t[0] += s
    return s
h._timed_run = _counted
atexit.register(lambda: print('HIGHS', _t[0], file=sys.stderr))
"""
P = "data/profiles/{}.toml"
TASKS = {
    "solve typical_us_img": ["solve", P.format("typical_us_img")],
    "solve strong_la_ties": ["solve", P.format("strong_la_ties")],
    "solve moderate_no_ties": ["solve", P.format("moderate_no_ties")],
    "solve reapplicant_la_only": ["solve", P.format("reapplicant_la_only")],
    "sweep --budgets 200:3000:100": ["sweep", P.format("typical_us_img"), "--budgets", "200:3000:100"],
    "sweep --frontier 0.5:0.95:0.05": ["sweep", P.format("typical_us_img"), "--frontier", "0.5:0.95:0.05"],
    "solve --min-cost --target 0.85": ["solve", P.format("typical_us_img"), "--min-cost", "--target", "0.85"],
}


def answer(d: dict) -> tuple:
    """The figures every configuration must agree on."""
    r9 = lambda v: None if v is None else round(v, 9)  # noqa: E731
    if "rows" in d:
        return tuple((r["status"], r9(r["p_match"]), r9(r.get("p_match_la")), r9(r["cost"])) for r in d["rows"])
    la = (d.get("alternatives") or {}).get("la_leaning") or {}
    return (d["status"] if "status" in d else "ok", r9(d["p_match"]), r9(d.get("expected_utility")),
            r9(la.get("p_match_la")), r9(d["cost"]["total"]))


def run(args: list[str], prelude: str) -> tuple[float, float, tuple]:
    """Wall seconds, HiGHS seconds and the answer of one ``allocator ARGS --json`` process."""
    code = COUNT + prelude + "import sys; from allocator._entry import main; main(sys.argv[1:])"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args, "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()[-300:]}")
    highs = float(out.stderr.rsplit("HIGHS", 1)[1].split()[0])
    return wall, highs, answer(json.loads(out.stdout))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    compiled(ROOT)
    lines = [f"warm_pricing ({os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; medians of "
             f"{args.rounds} rounds; ratio = median / steepest-edge median; HiGHS = the adapter's seconds)"]
    for task, argv in TASKS.items():
        walls = {c: [] for c in CONFIGS}
        highs = {c: [] for c in CONFIGS}
        answers = set()
        for _ in range(args.rounds):
            for name, prelude in CONFIGS.items():
                w, hs, key = run(argv, prelude)
                walls[name].append(w)
                highs[name].append(hs)
                answers.add(key)
        base, hbase = statistics.median(walls["steepest edge"]), statistics.median(highs["steepest edge"])
        for name in CONFIGS:
            med, hmed = statistics.median(walls[name]), statistics.median(highs[name])
            lines.append(f"{task:32s} {name:16s} wall {med:5.2f} s {med / base:5.2f}x   "
                         f"HiGHS {hmed:5.2f} s {hmed / hbase:5.2f}x")
        lines.append(f"{task:32s} answers identical across configurations: {len(answers) == 1}")
    lines.append(f"load average after: {os.getloadavg()[0]:.2f}")
    text = "\n".join(lines)
    print(text)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
