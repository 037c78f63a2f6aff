"""Fuzz the loaders and the solver: generated catalogs and profiles, many malformed.

Every case is generated from ``numpy.random.default_rng([seed, i])`` (so case ``i`` can be
replayed alone with ``--only i``) and run through the public API (``allocator.api.solve``
with a validated or file-loaded catalog and profile); a few go through the CLI entry point
(``allocator.cli.main``) to check its exit code and one-line stderr.  Kinds of case:

  * ``valid``       a well-formed catalog (p_match per program, 1-80 programs, p = 0 and
                    p = 1 included, sometimes fee_extra or two specialties) and profile;
  * ``bad_catalog`` a valid catalog with 1-3 mutations (bad cell, missing column,
                    duplicate id, p outside [0, 1], partial p_match, no rows, ...);
  * ``bad_profile`` a valid catalog with a profile carrying a bad value or key;
  * ``raw_file``    arbitrary bytes, text, or a valid file cut short, as CSV and TOML;
  * ``applicant``   a slice of a shipped demo catalog (no p_match: the probability model
                    runs) and a random applicant;
  * ``list_file``   a list for `simulate --list` (plain, CSV with signal/status/date and a
                    divisions line, or solve's JSON; BOM, duplicates, unknown or unmodelled
                    signals and divisions, junk bytes) scored against a problem with or
                    without signals (``read_list_file`` then ``api.score``);
  * ``out_path``    an output path (new, existing with a mode, folder, FIFO, /dev/null,
                    missing folder, too-long name) written by the atomic writer, sometimes
                    with a writer that fails: a device is never replaced, no temp file is
                    left, an existing file keeps its bytes on failure and its mode on success.

Solver path: ``auto`` (the count-scan fast path when it applies) for most cases, the integer
program (``--method milp``) for a share ``--milp-share``; its engine is HiGHS (the default)
for 70% of cases and CBC for 30%; Monte Carlo draws 0 or a few hundred.
Outcome classes: ``ok:optimal``, ``ok:feasible``, ``input_error`` (exit 2),
``infeasible`` (3), ``solver_error`` (4); anything else is a **crash**: an exception that is
not an ``AllocatorError``, a SolverError that calls itself a bug or asks to be reported
(in the API or on the CLI's stderr), a returned list that breaks a constraint, a non-finite
value, an infeasibility with no group named, or a CLI run with another exit code or more
than one stderr line.  A disagreement above
1e-7 between the count-scan fast path and CBC on the same instance is counted apart
(``MISMATCH``): a numerical finding about the MILP's precision, not a crash.

Prints counts by kind and outcome, the crashes (with the case number to replay), and
writes the table to ``--out`` (default ``benchmarks/results/fuzz.md``).  Asserts nothing;
exit status 1 when there was a crash.

    python benchmarks/fuzz.py [--cases 10000] [--seed 0] [--milp-share 0.05] [--only I]
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import io
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from allocator import api
from allocator.inputs.catalog import catalog_from_frame
from allocator.cli import main as cli_main
from allocator.cli.common import _json
from allocator.errors import AllocatorError, InfeasibleError, InputError, SolverError
from allocator.optim.fastpath import applicable
from allocator.optim.feasibility import violations
from allocator.paths import DATA_DIR
from allocator.inputs.profile import profile_from_dict
from allocator.status import Status
from fuzz_io import list_case, out_case  # noqa: E402  (list files and output paths)

KINDS = ("valid", "bad_catalog", "bad_profile", "raw_file", "applicant", "list_file", "out_path")
KIND_P = (0.33, 0.15, 0.1, 0.07, 0.07, 0.18, 0.1)
CITIES = [("Los Angeles", "CA", True), ("Torrance", "CA", True), ("Pasadena", "CA", True),
          ("San Diego", "CA", False), ("Phoenix", "AZ", False), ("Columbus", "OH", False),
          ("Newark", "NJ", False), ("Chicago", "IL", False)]
BAD_TOKENS = ["", " ", "abc", "-1", "1.5", "nan", "inf", "-inf", "1e309", "ZZ", "maybe", "\"", "a,b", "é", "\x00",
              "99999999999999999999", "0x10", "1,5", "true", "-0.0001", "1.0000001"]
COLUMNS = ["program_id", "name", "specialty", "city", "state", "la_area", "p_match", "p_interview", "fee_extra",
           "positions", "img_share", "setting", "utility", "synthetic"]


class Crash(Exception):
    """An outcome the contract does not allow."""


class Mismatch(Exception):
    """The two exact paths disagree by more than 1e-7 (a numerical finding, not a crash)."""


# ---------------------------------------------------------------------- generators
def p_values(rng, n):
    kind = rng.integers(0, 6)
    if kind == 0:
        p = rng.uniform(0, 1, n)
    elif kind == 1:
        p = 10 ** rng.uniform(-7, -1, n)
    elif kind == 2:
        p = rng.choice([0.0, 1.0, 1e-6, 0.5, 0.999999], n)
    else:
        p = rng.uniform(0.001, 0.4, n)
    return np.round(p, 7)


def valid_frame(rng, n=None) -> pd.DataFrame:
    if n is None:
        n = int(rng.integers(1, 16)) if rng.random() < 0.85 else int(rng.integers(16, 81))
    rows = []
    two = rng.random() < 0.2
    extras = rng.random() < 0.1
    for i, p in enumerate(p_values(rng, n)):
        city, state, la = CITIES[int(rng.integers(0, len(CITIES)))]
        rows.append({
            "program_id": f"F{i:03d}", "name": f"Fuzz program {i}",
            "specialty": "Family Medicine" if two and rng.random() < 0.4 else "Internal Medicine",
            "city": city, "state": state, "la_area": str(la).lower(), "p_match": repr(float(p)),
            "fee_extra": str(int(rng.choice([0, 0, 5, 25, 80]))) if extras else "0",
            "synthetic": "true",
        })
    return pd.DataFrame(rows)


def valid_strategy(rng, ids) -> dict:
    s = {
        "budget": float(rng.choice([0, 11, 50, 99, 150, 400, 1000, 2500, 1e7])),
        "season": str(rng.choice(["2024", "2025", "2026"])),
        "max_applications": int(rng.choice([0, 1, 3, 5, 10, 30, 100])),
        "la_share_max": float(rng.choice([0.0, 0.1, 0.3, 0.5, 1.0])),
        "correlation": float(rng.choice([0.0, 1e-6, 0.2, 0.35, 0.6, 0.95, 0.99])),
    }
    s["min_applications"] = int(rng.integers(0, min(s["max_applications"], 4) + 1))
    if rng.random() < 0.15:
        s["objective"] = "utility"
        s["utility"] = {"la": float(rng.uniform(0, 2)), "west": float(rng.uniform(0, 2))}
    if rng.random() < 0.25 and len(ids):
        perm = list(rng.permutation(ids))
        s["must_apply"] = perm[: int(rng.integers(0, 3))]
        s["never_apply"] = perm[3: 3 + int(rng.integers(0, 3))]
    if rng.random() < 0.1:
        s["target_p_match"] = float(rng.choice([0.3, 0.6, 0.9, 0.99]))
    return s


def mutate_frame(rng, df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for _ in range(int(rng.integers(1, 4))):
        m = int(rng.integers(0, 9))
        if m == 0 and len(df.columns) > 1:  # drop a column (often a required one)
            df = df.drop(columns=[df.columns[int(rng.integers(0, min(6, len(df.columns))))]])
        elif m == 1 and len(df) > 1:  # duplicate id
            df.loc[df.index[-1], "program_id"] = df["program_id"].iloc[0] if "program_id" in df else "X"
        elif m == 2 and len(df):  # bad token in a random cell
            col = df.columns[int(rng.integers(0, len(df.columns)))]
            df.loc[df.index[int(rng.integers(0, len(df)))], col] = BAD_TOKENS[int(rng.integers(0, len(BAD_TOKENS)))]
        elif m == 3 and len(df) and "p_match" in df:  # p outside [0, 1]
            df.loc[df.index[int(rng.integers(0, len(df)))], "p_match"] = str(rng.choice([-0.2, 1.2, 7, -1e-9]))
        elif m == 4 and len(df) > 1 and "p_match" in df:  # p_match on some rows only
            df.loc[df.index[0], "p_match"] = ""
        elif m == 5:  # header only
            df = df.iloc[0:0]
        elif m == 6 and len(df):  # an optional column with junk
            col = str(rng.choice(["positions", "img_share", "setting", "utility", "p_interview", "min_step2"]))
            df[col] = [BAD_TOKENS[int(rng.integers(0, len(BAD_TOKENS)))] for _ in range(len(df))]
        elif m == 7 and len(df):  # bad state / bool
            col = str(rng.choice(["state", "la_area", "synthetic"]))
            if col in df:
                df.loc[df.index[0], col] = str(rng.choice(["XX", "California", "maybe", "2"]))
        else:  # negative fee_extra
            if "fee_extra" in df and len(df):
                df.loc[df.index[0], "fee_extra"] = "-5"
    return df


BAD_STRATEGY = [
    ("budget", -5), ("budget", float("nan")), ("budget", float("inf")), ("budget", "lots"),
    ("la_share_max", 1.5), ("la_share_max", -0.1), ("correlation", 1.0), ("correlation", -0.2),
    ("max_applications", -1), ("max_applications", 2.5), ("min_applications", 10 ** 6), ("season", "1999"),
    ("season", ["2026"]), ("objective", "fun"), ("utility", {"beach": 1.0}), ("utility", {"la": float("nan")}),
    ("must_apply", ["NOPE"]), ("never_apply", ["NOPE"]), ("must_apply", "F000"), ("target_p_match", 1.0),
    ("budgett", 100), ("path", "x"),
]


def bad_profile_doc(rng, ids) -> dict:
    doc = {"strategy": valid_strategy(rng, ids)}
    r = rng.random()
    if r < 0.75:
        k, v = BAD_STRATEGY[int(rng.integers(0, len(BAD_STRATEGY)))]
        doc["strategy"][k] = v
    elif r < 0.85:
        doc["strateg"] = {"budget": 1}
    elif r < 0.95:
        doc["applicant"] = {"step2_score": int(rng.choice([100, 400])), "specialties": []}
    else:
        doc["strategy"]["must_apply"] = ["F000"]
        doc["strategy"]["never_apply"] = ["F000"]
    return doc


def toml_text(doc: dict) -> str:
    def val(v):
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == math.inf else ("-inf" if v == -math.inf else repr(v)))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v))

    lines = []
    for sec, body in doc.items():
        lines.append(f"[{sec}]")
        lines += [f"{k} = {val(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


_DEMO: dict[str, pd.DataFrame] = {}


def demo_slice(rng) -> pd.DataFrame:
    name = str(rng.choice(["internal_medicine", "family_medicine", "pediatrics", "psychiatry"]))
    if name not in _DEMO:
        _DEMO[name] = pd.read_csv(DATA_DIR / "catalogs" / f"demo_{name}.csv", dtype=str, keep_default_na=False)
    df = _DEMO[name]
    k = int(rng.integers(5, 41))
    return df.iloc[np.sort(rng.choice(len(df), size=min(k, len(df)), replace=False))].reset_index(drop=True)


def applicant_doc(rng, spec: str) -> dict:
    a = {"specialties": [spec], "exam_attempts": int(rng.choice([0, 0, 1, 2])),
         "usce_months": float(rng.choice([0, 1, 3, 12])), "la_ties": bool(rng.random() < 0.5),
         "years_since_graduation": float(rng.choice([0, 1, 3, 8, 15]))}
    a["usce_california_months"] = float(min(a["usce_months"], rng.choice([0, 1, 2])))
    if rng.random() < 0.8:
        a["step2_score"] = int(rng.integers(200, 271))
    else:
        a["step2"] = "pass"
    return a


# ---------------------------------------------------------------------- one case
def run_case(i: int, seed: int, milp_share: float, workdir: Path, info: dict) -> tuple[str, str]:
    """(kind, outcome); raises Crash for an outcome the contract does not allow."""
    rng = np.random.default_rng([seed, i])
    kind = info["kind"] = str(rng.choice(KINDS, p=KIND_P))
    method = "milp" if rng.random() < milp_share else "auto"
    draws = 0 if rng.random() < 0.8 else int(rng.choice([200, 500]))
    time_limit = float(rng.choice([1, 5])) if rng.random() < 0.05 else None
    min_cost = rng.random() < 0.08
    target = float(rng.choice([0.2, 0.5, 0.9])) if min_cost else None
    via_files = rng.random() < 0.3
    via_cli = rng.random() < 0.03
    engine = "cbc" if rng.random() < 0.3 else "highs"  # the integer-program engine when the MILP path runs

    cat_text: str | bytes | None = None
    prof_text: str | bytes | None = None
    if kind == "list_file":
        return kind, list_case(rng, i, workdir)
    if kind == "out_path":
        return kind, out_case(rng, i, workdir)
    if kind == "applicant":
        df = demo_slice(rng)
        doc = {"applicant": applicant_doc(rng, df["specialty"].iloc[0]),
               "strategy": valid_strategy(rng, list(df["program_id"]))}
        draws = min(draws, 200)
    elif kind == "raw_file":
        via_files = True
        df, doc = valid_frame(rng), None
        doc = {"strategy": valid_strategy(rng, list(df["program_id"]))}
        r = int(rng.integers(0, 4))
        if r == 0:
            cat_text = rng.bytes(int(rng.integers(0, 400)))
        elif r == 1:
            full = df.to_csv(index=False).encode()
            cat_text = full[: int(rng.integers(0, len(full) + 1))]
        elif r == 2:
            full = toml_text(doc).encode()
            prof_text = full[: int(rng.integers(0, len(full) + 1))]
        else:
            prof_text = rng.bytes(int(rng.integers(0, 200)))
    else:
        df = valid_frame(rng)
        ids = list(df["program_id"])
        if kind == "bad_catalog":
            df = mutate_frame(rng, df)
            doc = {"strategy": valid_strategy(rng, ids)}
        elif kind == "bad_profile":
            doc = bad_profile_doc(rng, ids)
        else:
            doc = {"strategy": valid_strategy(rng, ids)}

    if via_files or via_cli:
        cat_path, prof_path = workdir / f"c{i}.csv", workdir / f"p{i}.toml"
        if cat_text is None:
            cat_path.write_text(df.to_csv(index=False), encoding="utf-8", errors="surrogateescape")
        else:
            cat_path.write_bytes(cat_text)
        if prof_text is None:
            prof_path.write_text(toml_text(doc), encoding="utf-8")
        else:
            prof_path.write_bytes(prof_text)
        if via_cli:
            return kind, run_cli(cat_path, prof_path, method, draws, time_limit, min_cost, target, engine)
        catalog, profile = cat_path, prof_path
    else:
        catalog, profile = None, None

    try:
        if catalog is None:
            catalog = catalog_from_frame(df, f"<case {i}>")
            profile = profile_from_dict(doc, f"<case {i}>")
        res = api.solve(profile, catalog, draws=draws, seed=i, method=method, min_cost=min_cost, target=target,
                        time_limit=time_limit, engine=engine)
    except InputError as e:
        _one_line(e)
        return kind, "input_error"
    except InfeasibleError as e:
        _one_line(e)
        if not e.groups:
            raise Crash(f"infeasible with no group named: {e}")
        return kind, "infeasible"
    except SolverError as e:
        _one_line(e)
        if "a bug" in str(e) or "please report" in str(e):  # the code itself says it went wrong
            raise Crash(f"SolverError reporting a bug: {e}")
        return kind, "solver_error"
    check_result(res, method, engine)
    return kind, f"ok:{res.status.value}"


def _one_line(e: AllocatorError) -> None:
    if not str(e).strip():
        raise Crash(f"{type(e).__name__} with an empty message")


def check_result(res, method: str, engine: str) -> None:
    pr, m = res.problem, res.metrics
    if res.status not in (Status.OPTIMAL, Status.FEASIBLE):
        raise Crash(f"returned status {res.status}")
    bad = violations(pr, res.plan) if res.mode != "min_cost" else \
        [v for v in violations(pr, res.plan) if v[0] != "budget"]
    if bad:
        raise Crash(f"returned list breaks {bad[0][0]}: {bad[0][1]}")
    for name in ("p_match", "p_match_independent", "p_match_la", "expected_utility", "cost"):
        v = getattr(m, name)
        if not math.isfinite(v) or v < -1e-12 or (name.startswith("p_") and v > 1 + 1e-12):
            raise Crash(f"{name} = {v}")
    if res.status is Status.OPTIMAL and res.outcome.gap is not None and res.outcome.gap > 1e-6:
        raise Crash(f"optimal with gap {res.outcome.gap}")
    _json(res.to_dict())  # the JSON renders
    # the two exact paths agree (fast path against CBC) where both apply
    if method == "milp" and res.mode in ("p_match", "utility") and applicable(pr, res.mode) \
            and res.status is Status.OPTIMAL:
        fast = api.optimize(pr, res.mode, method="fast")
        if fast.status is not Status.OPTIMAL:
            raise Crash(f"fast path {fast.status} where CBC found {res.status}")
        if abs(fast.objective - res.outcome.objective) > 1e-7:
            raise Mismatch(f"fast path {fast.objective!r} vs MILP ({engine}) {res.outcome.objective!r} "
                           f"(rho {pr.rho:g}, n {pr.n})")


def run_cli(cat_path, prof_path, method, draws, time_limit, min_cost, target, engine) -> str:
    args = ["solve", str(prof_path), "--catalog", str(cat_path), "--json", "--draws", str(draws),
            "--method", method, "--solver", engine]
    if time_limit:
        args += ["--time-limit", str(time_limit)]
    if min_cost:
        args += ["--min-cost", "--target", str(target)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli_main(args)
            code = 0
        except SystemExit as e:
            code = e.code
    lines = err.getvalue().strip().splitlines()
    names = {0: "cli:ok", 2: "cli:input_error", 3: "cli:infeasible", 4: "cli:solver_error"}
    if code not in names:
        raise Crash(f"CLI exit {code}: {err.getvalue().strip()[:300]}")
    if code and (len(lines) != 1 or "Traceback" in err.getvalue() or not lines[0].startswith("allocator: error:")):
        raise Crash(f"CLI exit {code} with stderr {err.getvalue()[:300]!r}")
    if code and ("please report" in lines[0] or "a bug" in lines[0]):
        raise Crash(f"CLI exit {code} reporting a bug: {lines[0][:300]}")
    return names[code]


# ---------------------------------------------------------------------- driver
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--milp-share", type=float, default=0.05)
    ap.add_argument("--kinds", default=None, help="comma list: draw only these kinds (same weights among them)")
    ap.add_argument("--only", type=int, default=None, help="replay one case and show its traceback")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "fuzz.md")
    args = ap.parse_args(argv)
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)

    if args.kinds:
        global KINDS, KIND_P
        keep = [k.strip() for k in args.kinds.split(",")]
        w = [p for k, p in zip(KINDS, KIND_P) if k in keep]
        KINDS, KIND_P = tuple(k for k in KINDS if k in keep), tuple(x / sum(w) for x in w)
    cases = [args.only] if args.only is not None else range(args.cases)
    counts: collections.Counter = collections.Counter()
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    crashes, mismatches = [], []
    seconds: collections.Counter = collections.Counter()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="allocator-fuzz-") as tmp:
        work = Path(tmp)
        for n_done, i in enumerate(cases, 1):
            info = {"kind": "?"}
            t_case = time.perf_counter()
            try:
                kind, outcome = run_case(i, args.seed, args.milp_share, work, info)
            except Mismatch as e:
                kind, outcome = info["kind"], "MISMATCH"
                mismatches.append((i, str(e)))
                print(f"  MISMATCH case {i}: {e}", file=sys.stderr, flush=True)
            except Crash as e:
                kind, outcome = info["kind"], "CRASH"
                crashes.append((i, f"Crash: {e}", ""))
                print(f"  CRASH case {i}: {crashes[-1][1][:300]}", file=sys.stderr, flush=True)
            except Exception as e:  # noqa: BLE001 - anything else is what we hunt
                kind, outcome = info["kind"], "CRASH"
                crashes.append((i, f"{type(e).__name__}: {e}", traceback.format_exc()))
                print(f"  CRASH case {i}: {crashes[-1][1][:300]}", file=sys.stderr, flush=True)
            counts[outcome] += 1
            by_kind[kind][outcome] += 1
            seconds[kind] += time.perf_counter() - t_case
            for f in work.glob(f"*{i}.*"):
                f.rmdir() if f.is_dir() else f.unlink()
            if n_done % 1000 == 0:
                print(f"  {n_done:,} cases, {len(crashes)} crashes, {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                      flush=True)
    secs = time.perf_counter() - t0
    outcomes = sorted(counts)
    lines = [f"# Fuzz run: {sum(counts.values()):,} generated cases, seed {args.seed}, MILP share "
             f"{args.milp_share:g}, kinds {', '.join(KINDS)}, {secs:.0f} s", "",
             "| kind | " + " | ".join(outcomes) + " | total | seconds |", "|---" * (len(outcomes) + 3) + "|"]
    for kind in sorted(by_kind):
        c = by_kind[kind]
        lines.append(f"| {kind} | " + " | ".join(str(c.get(o, 0)) for o in outcomes)
                     + f" | {sum(c.values())} | {seconds[kind]:.0f} |")
    lines.append("| **all** | " + " | ".join(f"**{counts[o]}**" for o in outcomes)
                 + f" | **{sum(counts.values())}** | {secs:.0f} |")
    lines += ["", f"crashes (exceptions other than AllocatorError, or contract breaks): **{len(crashes)}**"]
    for i, what, _ in crashes[:20]:
        lines.append(f"- case {i}: {what[:300]}  (replay: `python benchmarks/fuzz.py --seed {args.seed} --only {i}`)")
    lines += ["", f"fast path vs MILP disagreements above 1e-7 (numerical findings, not crashes): **{len(mismatches)}**"]
    for i, what in mismatches[:20]:
        lines.append(f"- case {i}: {what}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.only is not None and crashes and crashes[0][2]:
        print(crashes[0][2])
    if args.only is None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
