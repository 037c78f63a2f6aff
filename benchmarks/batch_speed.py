"""`allocator batch` speed: a plain loop against a local Dask cluster, same run, same jobs.

A SYNTHETIC cohort of N applicants (default 200) is drawn with a seeded generator: Step 2
between 215 and 260, 0-2 failed attempts, 0-12 months of USCE, LA ties for one in three,
budgets $400-$3,000, LA caps 0.1-0.6, one of the four demo specialties (the shipped
synthetic demo catalogs), signals and geographic preference off (so the count scan
solves each list; a signal-optimizing profile takes an integer program and seconds
more).  Each applicant gets what `allocator batch` gives it: the solve with its 200,000-
draw Monte Carlo check, the default 10-budget curve, the JSON, HTML and PDF.

1. plain loop: the worker's function (allocator.batch.task.run_applicant) called once per
   applicant in this process, files written as the batch writes them;
2. `run_batch` on a LocalCluster of W worker processes (default 2, one thread each),
   cluster start and stop included.

Printed: both wall times, their ratio, and the cluster's overhead per applicant:
(W x wall - the seconds the tasks themselves took) / N, i.e. the worker time not spent
solving or rendering (scheduling, transfer of the results, the client's file writing,
idle workers at the end, and the cluster's start).  Nothing is asserted.

    python benchmarks/batch_speed.py [--n 200] [--workers 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from allocator.batch.cohort import load_cohort
from allocator.batch.run import Options, code_hash, input_hash, run_batch, write_result, write_summary
from allocator.batch.outputs import summary_row
from allocator.batch.task import run_applicant

SPECIALTIES = ["Internal Medicine", "Family Medicine", "Pediatrics", "Psychiatry"]


def make_cohort(path: Path, n: int, seed: int = 17) -> Path:
    """A SYNTHETIC cohort CSV with varied applicants (see the module docstring)."""
    rng = np.random.default_rng(seed)
    cols = ["id", "specialties", "step2_score", "exam_attempts", "usce_months", "usce_california_months", "la_ties",
            "years_since_graduation", "budget", "max_applications", "la_share_max", "signals", "geographic_preference"]
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for k in range(n):
            usce = int(rng.integers(0, 13))
            w.writerow([f"s{k:03d}", SPECIALTIES[int(rng.integers(0, 4))], int(rng.integers(215, 261)),
                        int(rng.choice([0, 0, 0, 1, 2])), usce, int(rng.integers(0, usce + 1)),
                        "true" if rng.random() < 1 / 3 else "false", int(rng.integers(0, 6)),
                        int(rng.integers(8, 61)) * 50, int(rng.integers(30, 121)), round(float(rng.uniform(0.1, 0.6)), 2),
                        "none", "none"])
    return path


def plain_loop(cohort: Path, out: Path) -> tuple[float, float, float]:
    """Wall seconds, and the sums of per-applicant wall and CPU seconds, one process."""
    t0 = time.perf_counter()
    opts = Options(out=out)
    code = code_hash()
    (out / "applicants").mkdir(parents=True, exist_ok=True)
    (out / ".batch").mkdir(exist_ok=True)
    rows, busy, cpu = [], 0.0, 0.0
    for m in load_cohort(cohort):
        job = {"id": m.id, "source": m.source, "doc": m.doc, "catalog": None, "hash": input_hash(m, None, opts, code),
               "budgets": None, "draws": opts.draws, "seed": opts.seed}
        res = run_applicant(job)
        busy += res["seconds"]
        cpu += res["cpu_seconds"]
        write_result(out, res)
        rows.append(summary_row(res, json.loads(res["json"]) if res["status"] == "ok" else None))
    write_summary(out, rows)
    return time.perf_counter() - t0, busy, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None, help="keep the results here (default: a temp folder)")
    a = ap.parse_args()
    base = a.out or Path(tempfile.mkdtemp(prefix="batch_speed."))
    base.mkdir(parents=True, exist_ok=True)
    cohort = make_cohort(base / "cohort.csv", a.n)
    load0 = os.getloadavg()
    loop_wall, loop_busy, loop_cpu = plain_loop(cohort, base / "loop")
    t0 = time.perf_counter()
    rep = run_batch(cohort, Options(out=base / "cluster", workers=a.workers, force=True))
    cl_wall = time.perf_counter() - t0
    cl_busy = sum(float(r["seconds"]) for r in rep.results.values() if r.get("seconds") is not None)
    cl_cpu = sum(float(r["cpu_seconds"]) for r in rep.results.values() if r.get("cpu_seconds") is not None)
    load1 = os.getloadavg()
    timing = re.compile(r'"(seconds|wall_seconds)": [-0-9.eE+]+')
    same = sum(timing.sub("", (base / "loop" / "applicants" / f"{r['id']}.json").read_text())
               == timing.sub("", (base / "cluster" / "applicants" / f"{r['id']}.json").read_text())
               for r in rep.rows if r["status"] == "ok")
    print(f"SYNTHETIC cohort: {a.n} applicants ({rep.count('ok')} solved, {rep.count('infeasible')} infeasible, "
          f"{rep.count('bad_input')} bad input); {os.cpu_count()} cores; load average before {load0[0]:.2f}, "
          f"after {load1[0]:.2f}")
    print(f"plain loop:             {loop_wall:8.1f} s  (per applicant in the task: {loop_busy / a.n:.3f} s wall, "
          f"{loop_cpu / a.n:.3f} s CPU)")
    print(f"local cluster, {a.workers} workers: {cl_wall:8.1f} s  (per applicant in the task: {cl_busy / a.n:.3f} s wall, "
          f"{cl_cpu / a.n:.3f} s CPU; cluster start and stop included in the total)")
    print(f"ratio loop / cluster:   {loop_wall / cl_wall:8.2f}x")
    print(f"cluster overhead:       {(a.workers * cl_wall - cl_busy) / a.n:8.3f} s of worker time per applicant "
          f"((workers x wall - task seconds) / N)")
    print(f"results identical up to the solver timings: {same} of {rep.count('ok')}; files in {base}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
