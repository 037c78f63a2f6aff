"""What a Dask worker does for one applicant: solve, sweep the budget, render the reports.

:func:`run_applicant` takes a plain dict (the job: the profile document, the catalog's text
and label, the sweep's budgets, the Monte Carlo draws and seed) and returns a plain dict
(the ``solve --json`` text, the HTML and PDF bytes, or the one-line reason of a failure).
It reads no file but the shipped data, so a worker on another machine needs only the
installed tool.  Files are written by the client (:mod:`allocator.batch.run`), once per
applicant, whatever the workers did: a task that is retried after its worker died cannot
write twice.

Bad input, an infeasible profile and a solver failure are results (a status and a
reason), not exceptions: they are the same on every retry.  Anything else (a bug, a
worker killed) raises, and Dask retries the task.
"""
from __future__ import annotations

import hashlib
import os
import time

from allocator.errors import AllocatorError, InfeasibleError, InputError, SolverError

_CATALOGS: dict[str, object] = {}  # catalog text hash -> Catalog, per worker process
_THREADS_SET = False


def single_threaded_solvers() -> None:
    """Pin HiGHS to one thread in this process (one Dask thread = one core).

    HiGHS keeps one global thread pool, sized by the first ``run()`` in the process; later
    models with the default ``threads = 0`` use that pool.  So a throwaway model is run once
    with ``threads = 1`` before any real one (setting ``threads`` after another HiGHS ran
    fails silently).  CBC is already called with ``threads=1``; numpy's BLAS pools follow
    OMP_NUM_THREADS etc., which Dask's nanny sets to 1 for its workers.  The safety-first
    LA-leaning solve still runs beside step 2 on a second thread (and step 2's local search
    beside its relaxation on a third), as on the command line, so an applicant's JSON is what
    ``allocator solve`` prints (:mod:`allocator.optim.safety`)."""
    global _THREADS_SET
    if _THREADS_SET:
        return
    _THREADS_SET = True
    try:
        import highspy
    except ImportError:
        return
    from allocator.optim.engines.highs import _quiet_stdout

    with _quiet_stdout():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.run()


def catalog_from_text(text: str, label: str):
    """The catalog CSV given as text, validated as :func:`allocator.inputs.catalog.load_catalog`
    validates a file (same reader settings, same label in messages and in the JSON)."""
    from allocator.inputs.catalog import catalog_from_text as load_text

    key = hashlib.sha256((label + "\0" + text).encode()).hexdigest()
    if key not in _CATALOGS:
        _CATALOGS[key] = load_text(text, label)
    return _CATALOGS[key]


def _catalog(job: dict, profile):
    from allocator.api import resolve_catalog

    cat = job.get("catalog")
    if cat is not None:
        return catalog_from_text(cat["text"], cat["label"])
    key = "demo:" + "|".join(profile.specialties or ["Internal Medicine"])
    if key not in _CATALOGS:
        _CATALOGS[key] = resolve_catalog(profile, None)
    return _CATALOGS[key]


def default_budgets(budget: float, points: int = 10):
    """The budget curve's default range: from a quarter of the profile's budget to twice it."""
    import numpy as np

    if not budget > 0:
        return []
    lo, hi = max(50.0, budget / 4), 2.0 * budget
    return sorted({float(round(v / 10.0) * 10) for v in np.linspace(lo, hi, points)})


def _curve(problem, budgets):
    """The budget sweep's rows as records (empty when the sweep cannot run)."""
    from allocator.studies.sweep import sweep

    if not budgets:
        return [], "no budget curve (the budget is 0)"
    try:
        df = sweep(problem, "budget", budgets, mode="utility" if problem.objective == "utility" else "p_match")
    except AllocatorError as e:
        return [], f"no budget curve: {' '.join(str(e).split())}"
    # the ranges and the domain mark travel with each point: the report's "10th-90th pct"
    # column and its "^" read them (a point outside the calibrated domain is an extrapolation)
    keep = ["budget", "status", "p_match", "p_match_interval", "p_match_independent", "p_match_la",
            "p_match_la_interval", "p_match_pessimistic", "n_applications", "cost", "knee", "outside_domain",
            "p_match_plan", "p_match_plan_from", "p_match_published_curve", "knee_on"]
    df = df[[c for c in keep if c in df.columns]]
    return [{k: _plain(v) for k, v in r.items()} for r in df.to_dict("records")], ""


def _plain(v):
    """A curve cell as a plain Python value: NaN and pandas' NA as None, numpy scalars and
    arrays (an interval) as floats and lists."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    try:
        import pandas as pd

        if v is pd.NA:
            return None
    except ImportError:
        pass
    return v


def _safest(profile, catalog, payload: dict, draws: int, seed: int) -> dict | None:
    """The list with the best P(any match) under the same limits (None: it is this list, or
    the payload carries it already as ``alternatives.safest``, which the report reads).

    The safety-first solve proves that list as its first step and reports it, with its
    ranges, in ``alternatives``; solving it again cost a two-specialty applicant of the example
    cohort 20 s of its 195 s task and gave the same P(match)."""
    from allocator import api

    if payload.get("objective") == "p_match" or isinstance((payload.get("alternatives") or {}).get("safest"), dict):
        return None
    try:
        res = api.solve(profile, catalog, objective="p_match", draws=0, seed=seed)
    except AllocatorError:
        return None
    d = res.to_dict()
    keep = ("p_match", "p_match_interval", "p_match_la", "p_match_la_interval", "p_match_west",
            "p_match_west_interval", "n_applications", "n_la", "cost", "selected")  # the ranges come with this solve's evaluation, as the main list's do
    return {k: d.get(k) for k in keep}


def run_applicant(job: dict) -> dict:
    """Solve one applicant; returns {"id", "status", "reason", "json", "html", "pdf", ...}."""
    single_threaded_solvers()
    t0, c0 = time.perf_counter(), time.process_time()
    out = {"id": job["id"], "source": job["source"], "hash": job["hash"], "pid": os.getpid()}
    try:
        out |= _solve_and_render(job)
        out["status"], out["reason"] = "ok", ""
    except InputError as e:
        out["status"], out["reason"] = "bad_input", " ".join(str(e).split())
    except InfeasibleError as e:
        out["status"], out["reason"] = "infeasible", _named(job["source"], e)
    except SolverError as e:
        out["status"], out["reason"] = "solver_error", _named(job["source"], e)
    out["seconds"] = time.perf_counter() - t0
    out["cpu_seconds"] = time.process_time() - c0  # this process's CPU time: the task's work without waiting
    return out


def _named(source: str, e: Exception) -> str:
    """The one-line reason of a failure that does not name the applicant's profile (an infeasible
    list, a solver failure), led by its source as a bad row's is ("cohort.csv:4: budget ..."; the
    status column says "infeasible")."""
    text = " ".join(str(e).split())
    text = text.removeprefix("infeasible: ")
    return text if text.startswith(f"{source}:") else f"{source}: {text}"


def _solve_and_render(job: dict) -> dict:
    from allocator import api
    from allocator.batch.outputs import applicant_html, applicant_pdf
    from allocator.cli.common import _json
    from allocator.inputs.profile import profile_from_dict

    profile = profile_from_dict(job["doc"], job["source"])
    catalog = _catalog(job, profile)
    problem = api.load(profile, catalog)
    res = api.solve(profile, catalog, problem=problem, draws=job.get("draws", 200_000), seed=job.get("seed", 0))
    payload = res.to_dict()
    text = _json(payload)
    budgets = job.get("budgets")
    if budgets is None:
        budgets = default_budgets(problem.budget)
    curve, note = _curve(problem, budgets)
    safest = _safest(profile, catalog, payload, job.get("draws", 200_000), job.get("seed", 0))
    view = {"id": job["id"], "source": job["source"], "payload": payload, "curve": curve, "curve_note": note,
            "safest": safest}
    return {"json": text, "html": applicant_html(view).encode(), "pdf": applicant_pdf(view),
            "solve_status": payload.get("status"), "gap": (payload.get("solver") or {}).get("gap")}
