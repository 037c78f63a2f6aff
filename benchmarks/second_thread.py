"""The second solving thread (allocator/optim/beside.py) against one solve after the other:
wall seconds of a fresh ``allocator solve`` process on the shipped profiles (imports, loading,
verification and the report counted), the LA-leaning comparison solve beside the answer's
step 2; medians of ``--rounds`` interleaved rounds (the machine is shared: single runs vary
by 20%).

Configurations (ratios = median / the sequential median, same run):
  * ``sequential``: ``allocator.optim.safety.SIDE_BY_SIDE = False`` and ``CLIMB_BESIDE =
    False`` (one step after the other, as with --time-limit);
  * ``sequential, 1 BLAS thread``: the same with numpy's BLAS at one thread throughout
    (whether the gain is the threads' or BLAS's);
  * ``LA beside, BLAS free``: the LA-leaning solve beside step 2 (SIDE_BY_SIDE),
    ``CLIMB_BESIDE = False``, numpy's BLAS at its default thread count;
  * ``LA beside``: the same with BLAS at one thread meanwhile (shipped until the next one);
  * ``LA and climb beside``: also step 2's local search beside its relaxation root
    (``allocator.optim.safety._climb_beside``), the floored models built after step 1
    (``BUILD_AHEAD = False``);
  * ``... and models built ahead`` (shipped): step 2's and the LA-leaning list's models also
    built on the second thread while step 1's linear programs run
    (``allocator.optim.safety._floored_models``).
The answers are the same in all six (checked here on the chosen list's P(match), E[U] and
the LA-leaning list's P(LA)).  Results also go to benchmarks/results/second_thread.txt.

    python benchmarks/second_thread.py [--rounds 5] [--profiles typical_us_img,strong_la_ties]
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
RESULTS = Path(__file__).parent / "results" / "second_thread.txt"
SEQ = "import allocator.optim.safety as s; s.SIDE_BY_SIDE = False; s.CLIMB_BESIDE = False; "
NO_CLIMB = "import allocator.optim.safety as s; s.CLIMB_BESIDE = False; s.BUILD_AHEAD = False; "
CONFIGS = {
    "sequential": SEQ,
    "sequential, 1 BLAS thread": SEQ + "from threadpoolctl import threadpool_limits; threadpool_limits(1, 'blas'); ",
    "LA beside, BLAS free": NO_CLIMB + ("import types, allocator.optim.beside as b; b.threadpool_limits = lambda **k: "
                                        "types.SimpleNamespace(restore_original_limits=lambda: None); "),
    "LA beside": NO_CLIMB,
    "LA and climb beside": "import allocator.optim.safety as s; s.BUILD_AHEAD = False; ",
    "... and models built ahead": "",
}


def run(profile: str, prelude: str) -> tuple[float, tuple]:
    """Wall seconds of ``allocator solve PROFILE --json`` and the answer's key figures."""
    code = prelude + "import sys; from allocator._entry import main; main(sys.argv[1:])"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, "solve", f"data/profiles/{profile}.toml", "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    d = json.loads(out.stdout)
    la = d["alternatives"]["la_leaning"]
    return wall, (round(d["p_match"], 9), round(d["expected_utility"], 9), round(la["p_match_la"], 9))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profiles", default="typical_us_img,strong_la_ties")
    args = ap.parse_args()
    compiled(ROOT)
    lines = [f"second_thread ({os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}; "
             f"medians of {args.rounds} rounds; ratio = median / sequential median)"]
    for profile in args.profiles.split(","):
        walls: dict[str, list[float]] = {c: [] for c in CONFIGS}
        answers = set()
        for _ in range(args.rounds):
            for name, prelude in CONFIGS.items():
                w, key = run(profile, prelude)
                walls[name].append(w)
                answers.add(key)
        base = statistics.median(walls["sequential"])
        for name, ws in walls.items():
            med = statistics.median(ws)
            lines.append(f"{profile:22s} {name:26s} {med:6.2f} s  (min {min(ws):5.2f})  {med / base:5.2f}x")
        lines.append(f"{profile:22s} answers identical across configurations: {len(answers) == 1}")
    lines.append(f"load average after: {os.getloadavg()[0]:.2f}")
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n")


if __name__ == "__main__":
    main()
