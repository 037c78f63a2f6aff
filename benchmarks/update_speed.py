"""Wall time of `allocator update --add-budget` on the 80-application example season with the
synthetic demo catalog (target: at most 3 s).  Prints a table; asserts nothing.

    python benchmarks/update_speed.py [--runs 3]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bytecode import compiled  # benchmarks/bytecode.py: time the bytecode an install runs

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["update", str(ROOT / "data/profiles/typical_us_img.toml"), "--season", str(ROOT / "data/seasons/example_80.csv"),
        "--today", "2026-11-04", "--add-budget", "600", "--max-add", "20", "--json"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    compiled(ROOT)
    from allocator.season.run import run

    rows = []
    for k in range(a.runs):
        t0 = time.perf_counter()
        run(ARGS[1], ARGS[3], today=__import__("datetime").date(2026, 11, 4), add_budget=600, max_add=20)
        t_api = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", "from allocator.cli import main; main()", *ARGS],
                           capture_output=True, text=True)
        t_cli = time.perf_counter() - t0
        rows.append((k + 1, t_api, t_cli, r.returncode))
    print("| run | in-process (s) | command, fresh process (s) | exit |")
    print("|---|---|---|---|")
    for k, t1, t2, rc in rows:
        print(f"| {k} | {t1:.2f} | {t2:.2f} | {rc} |")
    import os
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
